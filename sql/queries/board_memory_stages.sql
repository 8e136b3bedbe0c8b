-- Every stage change of a tenant's customers, for the memory board
-- (followup/boards.go), which keeps the latest by (time_ns, id, source) as
-- the board's stage filter does.
-- args: tenant=demo
SELECT subject, time_ns, id, source, stage
FROM followup_facts
WHERE tenant = @tenant AND type = 'followup.stage_changed'
