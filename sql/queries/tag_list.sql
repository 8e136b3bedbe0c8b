-- The tag library of one tenant, deleted tags included.
-- args: tenant=demo
SELECT
    tag_id,
    argMaxMerge(name) AS name,
    argMaxMerge(tag_group) AS tag_group,
    argMaxMerge(tag_order) AS tag_order,
    argMaxMerge(deleted) AS deleted,
    minMerge(first_ns) AS first_ns,
    maxMerge(last_ns) AS last_ns
FROM tag_library_state
WHERE tenant = @tenant
GROUP BY tag_id
ORDER BY tag_id
