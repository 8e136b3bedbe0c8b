-- The assignee of each customer of a tenant, for cdp.Memory, as
-- segment_assignee_members reads it (customers without an add or a change
-- have no row: assignee ""). The marker as in segment_filter_base.
-- args: tenant=demo
SELECT contact_id, if(changes > 0, last_to, first_staff) AS assignee
FROM (
    SELECT
        contact_id,
        argMinIf(staff, (key_ns, key_id, key_source), kind = 1) AS first_staff,
        argMaxIf(staff, (key_ns, key_id, key_source), kind = 2) AS last_to,
        countIf(kind = 2) AS changes
    FROM contact_facts
    PREWHERE tenant = @tenant AND kind IN (1, 2) AND sort_ns = 0
    WHERE /*contacts*/ 1
    GROUP BY contact_id
)
