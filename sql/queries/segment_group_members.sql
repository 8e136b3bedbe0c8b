-- The customers of a tenant who have on a live tag of the library group
-- @tag_group: the segment condition {"tag_group": {"has": @tag_group}}
-- (for the group "" cdp.CompileSegment adds segment_unknown_tag_members:
-- a tag the library does not know yet is in no group).
-- args: tenant=demo tag_group=行业
SELECT DISTINCT contact_id
FROM (
    SELECT tag_id, contact_id, finalizeAggregation(present) AS is_on
    FROM tag_member_state FINAL
    WHERE tenant = @tenant AND tag_id IN (
        SELECT tag_id
        FROM (
            SELECT tag_id, argMaxMerge(tag_group) AS tag_group, argMaxMerge(deleted) AS tag_deleted
            FROM tag_library_state
            WHERE tenant = @tenant
            GROUP BY tag_id
        )
        WHERE tag_group = @tag_group AND tag_deleted = 0
    )
)
WHERE is_on = 1
