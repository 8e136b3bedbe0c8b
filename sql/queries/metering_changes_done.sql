-- Per tenant, its latest finished computation of stored meter changes
-- (migration 0014): start (server clock), first relation event, order key.
-- tenant '' = all.
-- args: tenant=demo
SELECT tenant, argMax(started, computed_ns), argMax(first_ns, computed_ns), max(computed_ns)
FROM metering_changes_done
WHERE @tenant = '' OR tenant = @tenant
GROUP BY tenant
