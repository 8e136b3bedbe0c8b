-- The profile summary of one board page's customers (at most a page of
-- ids): point lookups in profile_state, after followup_board chose the page.
-- args: tenant=demo ids=[wm_c1,o_u1]
SELECT contact_id,
       argMaxIfMerge(name) AS name,
       argMaxIfMerge(stage) AS stage,
       maxIfMerge(last_in_ns) AS last_in_ns,
       maxMerge(last_ns) AS last_ns
FROM profile_state
WHERE tenant = @tenant AND contact_id IN (SELECT arrayJoin(@ids))
GROUP BY contact_id
