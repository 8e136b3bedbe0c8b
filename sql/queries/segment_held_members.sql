-- The customers of a tenant with a live relation with anyone: the segment
-- condition {"lost": false} (and NOT IN it, {"lost": true}).
-- args: tenant=demo
SELECT DISTINCT contact_id
FROM (
    SELECT contact_id, staff_id, argMax(live, (time_ns, id, source)) AS is_live
    FROM relation_events
    WHERE tenant = @tenant
    GROUP BY contact_id, staff_id
)
WHERE is_live = 1
