-- The chat facts of each (rep, day, customer) in [from, to] (days in
-- Asia/Shanghai); staff_id '' = every rep of the tenant. Rep statistics are
-- computed from them in Go (followup.ComputeStats).
-- args: tenant=demo staff_id= from=2025-10-01 to=2025-11-30
SELECT
    staff_id,
    toString(day) AS day_text,
    contact_id,
    minIfMerge(first_in_ns) AS first_in_ns,
    minIfMerge(first_out_ns) AS first_out_ns,
    argMinIfMerge(first_direction) AS first_direction,
    uniqExactIfMerge(out_messages) AS out_messages,
    maxMerge(added) AS added,
    maxMerge(removed_by_customer) AS removed_by_customer
FROM rep_chat_days
WHERE tenant = @tenant AND (@staff_id = '' OR staff_id = @staff_id)
  AND day >= toDate(@from) AND day <= toDate(@to)
GROUP BY staff_id, day, contact_id
ORDER BY staff_id, day, contact_id
