-- The rep statistics' exact integer tally of each (rep, day) of [from, to]
-- (days in Asia/Shanghai), summed over the day's customers with the
-- definitions of followup.ComputeStats (its dayTally.add): the memory of
-- rep statistics (followup.RepStats) reads it at a tenant's load
-- (every = 1) and for the reps whose events arrived (staff).
-- args: tenant=demo from=2025-10-01 to=2025-11-30 every=0 staff=[s1,s2]
SELECT
    staff_id,
    toString(day) AS day_text,
    count() AS customers,
    countIf(out_messages > 0) AS chats,
    sum(out_messages) AS messages,
    countIf(first_direction = 'in') AS customer_chats,
    countIf(first_direction = 'in' AND first_out_ns != 0) AS answered,
    sumIf(first_out_ns - first_in_ns, first_direction = 'in' AND first_out_ns != 0) AS reply_ns,
    countIf(removed_by_customer = 1) AS negative,
    countIf(added = 1) AS added_count
FROM
(
    -- siyu:include rep_chat_facts
    WHERE tenant = @tenant AND day >= toDate(@from) AND day <= toDate(@to)
      AND (@every = 1 OR staff_id IN (SELECT arrayJoin(@staff)))
    GROUP BY staff_id, day, contact_id
)
GROUP BY staff_id, day
ORDER BY staff_id, day
