-- The customers of a tenant who have on a tag the library does not know
-- (yet): with segment_group_members for the group "", the segment condition
-- {"tag_group": {"has": ""}}.
-- args: tenant=demo
SELECT DISTINCT contact_id
FROM (
    SELECT tag_id, contact_id, finalizeAggregation(present) AS is_on
    FROM tag_member_state FINAL
    WHERE tenant = @tenant AND tag_id NOT IN (SELECT tag_id FROM tag_library_state WHERE tenant = @tenant)
)
WHERE is_on = 1
