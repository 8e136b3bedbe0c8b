-- The tenant's pool rules: the data of its latest pool.rules_set (last
-- writer wins on (time_ns, id, source)); empty when never set.
-- args: tenant=demo
SELECT argMax(data, (time_ns, id, source)) AS data, count() AS n
FROM events
WHERE tenant = @tenant AND subject = @tenant AND type = 'pool.rules_set'
