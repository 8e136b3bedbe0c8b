-- The live friend relations of one customer, by staff id, folded from the
-- relation events (last writer wins on (time_ns, id, source)).
-- args: tenant=demo contact_id=wm_c1
SELECT staff_id, since_ns, first_added_ns
FROM (
    SELECT
        staff_id,
        argMax(live, (time_ns, id, source)) AS is_live,
        max(time_ns) AS since_ns,
        minIf(time_ns, type = 'contact.added') AS first_added_ns
    FROM relation_events
    WHERE tenant = @tenant AND contact_id = @contact_id
    GROUP BY staff_id
)
WHERE is_live = 1
ORDER BY staff_id
