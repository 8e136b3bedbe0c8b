-- The saved segments of one tenant, deleted ones included.
-- args: tenant=demo
SELECT
    segment_id,
    argMaxMerge(name) AS name,
    argMaxMerge(definition) AS definition,
    argMaxMerge(deleted) AS deleted,
    argMinMerge(created_by) AS created_by,
    minMerge(first_ns) AS first_ns,
    maxMerge(last_ns) AS last_ns
FROM segment_state
WHERE tenant = @tenant
GROUP BY segment_id
ORDER BY segment_id
