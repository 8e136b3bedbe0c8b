-- The tags currently on one customer, with their names from the tag library.
-- A tag the library marks deleted is left out (WeCom removes it from its
-- customers); a tag the library does not know yet is listed with its id only.
-- args: tenant=demo contact_id=wm_c1
SELECT tag_id, since_ns, tag_name, tag_group
FROM (
    SELECT tag_id, argMaxMerge(present) AS is_on, maxMerge(since_ns) AS since_ns
    FROM contact_tag_state
    WHERE tenant = @tenant AND contact_id = @contact_id
    GROUP BY tag_id
) AS on_contact
ANY LEFT JOIN (
    SELECT
        tag_id,
        argMaxMerge(name) AS tag_name,
        argMaxMerge(tag_group) AS tag_group,
        argMaxMerge(deleted) AS tag_deleted
    FROM tag_library_state
    WHERE tenant = @tenant AND tag_id IN (
        SELECT tag_id FROM contact_tag_state WHERE tenant = @tenant AND contact_id = @contact_id)
    GROUP BY tag_id
) AS library USING tag_id
WHERE is_on = 1 AND tag_deleted = 0
ORDER BY tag_id
