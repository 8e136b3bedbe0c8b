-- The tenants with a relation event before end_ns (tenant '' = all): each
-- has meters, zero or not.
-- args: tenant=demo end_ns=1790000000000000000
SELECT DISTINCT tenant
FROM relation_events
WHERE (@tenant = '' OR tenant = @tenant) AND time_ns < toInt64(@end_ns)
