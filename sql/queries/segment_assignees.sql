-- The assignee of each customer of a tenant: the latest assignee.changed's
-- to_staff_id when there was one, else the first adder ("" = the pool), as
-- followup.Holding folds contact_facts. A customer without an add or a
-- change has no row (assignee ""). cdp.CompileSegment puts a segment
-- condition on assignee in place of the /*condition*/ marker (and tests
-- customers without a row against the default "" itself, as for the
-- acquisition); cdp.Memory reads it with the condition left `1`, for the
-- whole tenant or, in place of /*contacts*/, a chunk of customers.
-- args: tenant=demo
SELECT contact_id, assignee
FROM (
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
)
WHERE /*condition*/ 1
