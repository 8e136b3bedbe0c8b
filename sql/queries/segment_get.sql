-- One saved segment of a tenant, deleted or not.
-- args: tenant=demo segment_id=seg_1
SELECT
    segment_id,
    argMaxMerge(name) AS name,
    argMaxMerge(definition) AS definition,
    argMaxMerge(deleted) AS deleted,
    argMinMerge(created_by) AS created_by,
    minMerge(first_ns) AS first_ns,
    maxMerge(last_ns) AS last_ns
FROM segment_state
WHERE tenant = @tenant AND segment_id = @segment_id
GROUP BY segment_id
