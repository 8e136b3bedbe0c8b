-- The live friend relations of one customer, by staff id.
-- args: tenant=demo contact_id=wm_c1
SELECT staff_id, since_ns, first_added_ns
FROM (
    SELECT
        staff_id,
        argMaxMerge(live) AS is_live,
        maxMerge(since_ns) AS since_ns,
        minIfMerge(first_added_ns) AS first_added_ns
    FROM relation_state
    WHERE tenant = @tenant AND contact_id = @contact_id
    GROUP BY staff_id
)
WHERE is_live = 1
ORDER BY staff_id
