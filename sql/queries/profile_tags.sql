-- The tags currently on one customer (on any of their ids), with their names
-- from the tag library; since = the latest change among the ids holding it.
-- A tag the library marks deleted is left out (WeCom removes it from its
-- customers); a tag the library does not know yet is listed with its id only.
-- args: tenant=demo ids=[wm_c1,o_u1]
SELECT tag_id, since_ns, tag_name, tag_group
FROM (
    SELECT tag_id, max(since) AS since_ns
    FROM (
        SELECT contact_id, tag_id, argMaxMerge(present) AS is_on, maxMerge(since_ns) AS since
        FROM contact_tag_state
        WHERE tenant = @tenant AND contact_id IN (SELECT arrayJoin(@ids))
        GROUP BY contact_id, tag_id
    )
    WHERE is_on = 1
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
        SELECT tag_id FROM contact_tag_state WHERE tenant = @tenant AND contact_id IN (SELECT arrayJoin(@ids)))
    GROUP BY tag_id
) AS library USING tag_id
WHERE tag_deleted = 0
ORDER BY tag_id
