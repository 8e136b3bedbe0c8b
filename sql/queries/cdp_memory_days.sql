-- The day facts of each customer of a tenant, for cdp.Memory: the latest
-- phone and gender and the number of follow-ups over every day, and the
-- messages in and out of each day from @since on (the profile's 7- and
-- 30-day windows end today, so older days never count again). As
-- profile_read's part 5 reads them; customers without a row have the
-- defaults. The marker as in segment_filter_base.
-- args: tenant=demo since=2025-10-20
SELECT
    contact_id,
    argMaxIfMerge(phone) AS phone,
    argMaxIfMerge(gender) AS gender,
    toUInt64(sum(followups)) AS followups,
    groupArrayIf(toUInt16(day), day >= toDate(@since)) AS days,
    groupArrayIf(msgs_in, day >= toDate(@since)) AS ins,
    groupArrayIf(msgs_out, day >= toDate(@since)) AS outs
FROM (
    SELECT
        contact_id,
        day,
        uniqExactIfMerge(msgs_in) AS msgs_in,
        uniqExactIfMerge(msgs_out) AS msgs_out,
        uniqExactIfMerge(followups) AS followups,
        argMaxIfMergeState(gender) AS gender,
        argMaxIfMergeState(phone) AS phone
    FROM contact_day_state
    WHERE tenant = @tenant AND /*contacts*/ 1
    GROUP BY contact_id, day
)
GROUP BY contact_id
