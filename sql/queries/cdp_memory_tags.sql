-- The tags on each customer of a tenant (the latest tag.added or
-- tag.removed of each pair) and since when, for cdp.Memory, before the
-- library is applied: the memory applies deleted tags, names and groups
-- itself, so that a library change needs no customer read. Customers
-- without a tag have no row. The marker as in segment_filter_base.
-- args: tenant=demo
SELECT contact_id, groupArray(tag_id) AS tags, groupArray(since) AS since
FROM (
    SELECT contact_id, tag_id, finalizeAggregation(present) AS is_on, finalizeAggregation(since_ns) AS since
    FROM contact_tag_state FINAL
    WHERE tenant = @tenant AND /*contacts*/ 1
)
WHERE is_on = 1
GROUP BY contact_id
