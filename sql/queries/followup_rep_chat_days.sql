-- The chat facts of each (rep, day, customer) in [from, to] (days in
-- Asia/Shanghai); staff_id '' = every rep of the tenant. Rep statistics are
-- computed from them in Go (followup.ComputeStats).
-- args: tenant=demo staff_id= from=2025-10-01 to=2025-11-30
SELECT staff_id, toString(day) AS day_text, contact_id, first_in_ns, first_out_ns, first_direction,
    out_messages, added, removed_by_customer
FROM
(
    -- siyu:include rep_chat_facts
    WHERE tenant = @tenant AND (@staff_id = '' OR staff_id = @staff_id)
      AND day >= toDate(@from) AND day <= toDate(@to)
    GROUP BY staff_id, day, contact_id
)
ORDER BY staff_id, day, contact_id
