-- The per-day facts of one customer merged over all days and ids: follow-ups
-- logged, and the latest gender and phone.
-- args: tenant=demo ids=[wm_c1,o_u1]
SELECT
    uniqExactIfMerge(followups) AS followups,
    argMaxIfMerge(gender) AS gender,
    argMaxIfMerge(phone) AS phone
FROM contact_day_state
WHERE tenant = @tenant AND contact_id IN (SELECT arrayJoin(@ids))
