-- The customers of a tenant who have @tag on, unless the library marks it
-- deleted (a tag the library does not know yet counts): the segment
-- condition {"tag": {"has": @tag}}, as segment_members lists tag_ids.
-- args: tenant=demo tag=t1
SELECT contact_id
FROM (
    SELECT tag_id, contact_id, finalizeAggregation(present) AS is_on
    FROM tag_member_state FINAL
    WHERE tenant = @tenant AND tag_id = @tag
)
WHERE is_on = 1 AND tag_id NOT IN (
    SELECT tag_id
    FROM (
        SELECT tag_id, argMaxMerge(deleted) AS tag_deleted
        FROM tag_library_state
        WHERE tenant = @tenant AND tag_id = @tag
        GROUP BY tag_id
    )
    WHERE tag_deleted = 1
)
