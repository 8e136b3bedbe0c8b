-- WeCom's rep statistics as exact integers per (rep, day) of [from, to]
-- (days in Asia/Shanghai; every = 1: every rep, else the reps of staff),
-- summed over the day's customers (followup's dayTally): chats are
-- customers the rep sent a message to; customer-initiated chats those whose
-- first message, by (time, id, source), was inbound, answered when the rep
-- also sent one that day, the reply time from the first inbound to the
-- first outbound. Read by Reader.Stats and by the memory of rep statistics
-- (followup.RepStats) at a tenant's load and for the reps whose events
-- arrived.
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
    SELECT
        staff_id,
        day,
        contact_id,
        minIfMerge(first_in_ns) AS first_in_ns,
        minIfMerge(first_out_ns) AS first_out_ns,
        argMinIfMerge(first_direction) AS first_direction,
        uniqExactIfMerge(out_messages) AS out_messages,
        maxMerge(added) AS added,
        maxMerge(removed_by_customer) AS removed_by_customer
    FROM rep_chat_days
    WHERE tenant = @tenant AND day >= toDate(@from) AND day <= toDate(@to)
      AND (@every = 1 OR staff_id IN (SELECT arrayJoin(@staff)))
    GROUP BY staff_id, day, contact_id
)
GROUP BY staff_id, day
ORDER BY staff_id, day
