-- One tag of a tenant's library, deleted or not.
-- args: tenant=demo tag_id=t1
SELECT
    tag_id,
    argMaxMerge(name) AS name,
    argMaxMerge(tag_group) AS tag_group,
    argMaxMerge(tag_order) AS tag_order,
    argMaxMerge(deleted) AS deleted,
    minMerge(first_ns) AS first_ns,
    maxMerge(last_ns) AS last_ns
FROM tag_library_state
WHERE tenant = @tenant AND tag_id = @tag_id
GROUP BY tag_id
