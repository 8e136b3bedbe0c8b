-- The customers of a tenant whose assignee meets a segment condition on
-- assignee: cdp.CompileSegment puts the condition in place of the
-- /*condition*/ marker. The assignee is the latest assignee.changed's
-- to_staff_id when there was one, else the first adder ("" = the pool), as
-- followup.Holding folds contact_facts. A customer without an add or a
-- change has no row here; the compiler tests such customers against the
-- default "" itself, as for the acquisition.
-- args: tenant=demo
SELECT contact_id
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
        GROUP BY contact_id
    )
)
WHERE /*condition*/ 1
