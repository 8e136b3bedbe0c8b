-- The customers of a tenant with a live relation with @staff_id: the
-- segment condition {"relation_staff": {"any": [@staff_id]}}.
-- args: tenant=demo staff_id=s1
SELECT contact_id
FROM (
    SELECT contact_id, argMax(live, (time_ns, id, source)) AS is_live
    FROM relation_events
    WHERE tenant = @tenant AND staff_id = @staff_id
    GROUP BY contact_id
)
WHERE is_live = 1
