-- The identity links of some ids, both roles: dir = 1, the id is the subject
-- that carried the identifier peer; dir = 0, the id is the identifier (a
-- unionid or phone) and peer the subject that carried it. At most per_role
-- peers per (id, role): cdp only needs to know that an identifier is shared
-- by more than cdp.MaxSharers ids to ignore it.
-- args: tenant=demo ids=[wm_c1,o_u1] per_role=21
SELECT node, peer, dir
FROM identity_links
WHERE tenant = @tenant AND node IN (SELECT arrayJoin(@ids))
GROUP BY node, dir, peer
ORDER BY node, dir, peer
LIMIT @per_role BY node, dir
