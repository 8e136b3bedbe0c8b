-- Per tenant, the times of its first and last relation events (tenant ''
-- = all): the span a stored computation of its meter changes covers.
-- args: tenant=demo
SELECT tenant, min(time_ns), max(time_ns)
FROM relation_events
WHERE @tenant = '' OR tenant = @tenant
GROUP BY tenant
