-- A tag library entry, merged from tag_library_state: the includer adds its
-- WHERE and GROUP BY tag_id. Included by tag_get and tag_list (cdp/tags.go
-- scans both into one row type).
SELECT
    tag_id,
    argMaxMerge(name) AS name,
    argMaxMerge(tag_group) AS tag_group,
    argMaxMerge(tag_order) AS tag_order,
    argMaxMerge(deleted) AS deleted,
    minMerge(first_ns) AS first_ns,
    maxMerge(last_ns) AS last_ns
FROM tag_library_state
