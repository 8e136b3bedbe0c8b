-- Every relation event of a tenant's customers (relation_events: each side
-- of an add, removal or transfer), for the memory board
-- (followup/boards.go), which keeps per (customer, staff) the latest by
-- (time_ns, id, source), as profile_relations.sql.
-- args: tenant=demo
SELECT contact_id, staff_id, time_ns, id, source, live
FROM relation_events
WHERE tenant = @tenant
