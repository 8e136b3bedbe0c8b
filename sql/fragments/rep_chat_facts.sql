-- The chat facts of each (rep, day, customer) of rep_chat_days, merged: the
-- includer adds its WHERE and GROUP BY staff_id, day, contact_id. Included
-- by followup_rep_chat_days (the rows ComputeStats tallies in Go) and
-- followup_rep_stats (the same tally summed in ClickHouse).
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
