-- Every relation event before end_ns (Unix ns); tenant '' = all. Unmerged
-- duplicates are identical rows: metering.Compute drops them.
-- args: tenant=demo end_ns=1790000000000000000
SELECT tenant, contact_id, staff_id, time_ns, id, source, type, live, removed_by, add_way
FROM relation_events
WHERE (@tenant = '' OR tenant = @tenant) AND time_ns < toInt64(@end_ns)
