-- The stage history, before to_ns, of the customers with a stage change in
-- [from_ns, to_ns): what the funnel's conversions replay in Go
-- (followup.ComputeConversions). Duplicates (unmerged ReplacingMergeTree
-- rows) are dropped by DISTINCT.
-- args: tenant=demo from_ns=0 to_ns=9223372036854775807
SELECT DISTINCT subject AS contact_id, time_ns, id, source, staff_id, stage
FROM followup_facts
WHERE tenant = @tenant AND type = 'followup.stage_changed' AND time_ns < @to_ns AND subject IN (
    SELECT subject FROM followup_facts
    WHERE tenant = @tenant AND type = 'followup.stage_changed' AND time_ns >= @from_ns AND time_ns < @to_ns)
ORDER BY contact_id, time_ns, id, source
