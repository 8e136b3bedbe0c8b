-- Every tag of a tenant's library with its name, group and whether it is
-- deleted, for cdp.Memory (as segments and profile_read read them).
-- args: tenant=demo
SELECT
    tag_id,
    argMaxMerge(name) AS tag_name,
    argMaxMerge(tag_group) AS tag_group,
    argMaxMerge(deleted) AS tag_deleted
FROM tag_library_state
WHERE tenant = @tenant
GROUP BY tag_id
