-- Every stage change of the tenant before to_ns, in replay order; duplicates
-- (unmerged ReplacingMergeTree rows) are dropped by DISTINCT. The funnel
-- replays them in Go (followup.ComputeFunnel).
-- args: tenant=demo to_ns=9223372036854775807
SELECT DISTINCT contact_id, time_ns, id, source, staff_id, stage
FROM stage_changes
WHERE tenant = @tenant AND time_ns < @to_ns
ORDER BY contact_id, time_ns, id, source
