-- The tenant's latest stage list (stages.defined, last writer wins on
-- (time_ns, id, source)); no row when the tenant never set one.
-- args: tenant=demo
SELECT argMax(stages, (time_ns, id, source)) AS stages, max(time_ns) AS set_ns
FROM followup_facts
WHERE tenant = @tenant AND type = 'stages.defined'
GROUP BY tenant
