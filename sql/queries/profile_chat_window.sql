-- One customer's messages in and out over the reporting days [d7, today] and
-- [d30, today], summed from per-day exact counts (an event lies in one day).
-- args: tenant=demo ids=[wm_c1,o_u1] d7=2025-11-15 d30=2025-10-23 today=2025-11-21
SELECT
    sumIf(msgs_in, day >= toDate(@d7)) AS in_7d,
    sumIf(msgs_out, day >= toDate(@d7)) AS out_7d,
    sum(msgs_in) AS in_30d,
    sum(msgs_out) AS out_30d
FROM (
    SELECT day, uniqExactIfMerge(msgs_in) AS msgs_in, uniqExactIfMerge(msgs_out) AS msgs_out
    FROM contact_day_state
    WHERE tenant = @tenant AND contact_id IN (SELECT arrayJoin(@ids))
      AND day >= toDate(@d30) AND day <= toDate(@today)
    GROUP BY day
)
