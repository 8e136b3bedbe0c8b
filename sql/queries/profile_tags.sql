-- The tags currently on one customer.
-- args: tenant=demo contact_id=wm_c1
SELECT tag_id, since_ns
FROM (
    SELECT tag_id, argMaxMerge(present) AS is_on, maxMerge(since_ns) AS since_ns
    FROM contact_tag_state
    WHERE tenant = @tenant AND contact_id = @contact_id
    GROUP BY tag_id
)
WHERE is_on = 1
ORDER BY tag_id
