-- A saved segment, merged from segment_state: the includer adds its WHERE
-- and GROUP BY segment_id. Included by segment_get and segment_list
-- (cdp/saved.go scans both into one row type).
SELECT
    segment_id,
    argMaxMerge(name) AS name,
    argMaxMerge(definition) AS definition,
    argMaxMerge(deleted) AS deleted,
    argMinMerge(created_by) AS created_by,
    minMerge(first_ns) AS first_ns,
    maxMerge(last_ns) AS last_ns
FROM segment_state
