-- Per tenant, its latest finished computation of stored series results
-- (migration 0013): start (server clock), covered days and order key.
-- tenant '' = all.
-- args: tenant=demo
SELECT tenant, argMax(started, computed_ns), argMax(from_day, computed_ns), argMax(horizon, computed_ns), max(computed_ns)
FROM metrics_results_done
WHERE @tenant = '' OR tenant = @tenant
GROUP BY tenant
