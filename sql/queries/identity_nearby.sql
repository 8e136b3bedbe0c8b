-- The identity links of an id and of every id within two links of it, in
-- one round trip: identity_links' rows (as identity_links.sql: both roles,
-- at most per_role peers per id and role) of the ids in rings 0, 1 and 2
-- around the asked ids. Most persons lie within those rings (a contact, its
-- unionid and phone, the other contacts sharing them), so the walk in
-- cdp/identity.go usually needs no further query; the rings are capped
-- per_role per (id, role) like the answer, so a hub costs at most per_role
-- rows per ring. Every id that appears as node was fetched whole.
-- args: tenant=demo ids=[wm_c1] per_role=21
SELECT node, peer, dir
FROM identity_links
WHERE tenant = @tenant AND node IN (
    SELECT arrayJoin(@ids)
    UNION ALL
    SELECT peer FROM identity_links
    WHERE tenant = @tenant AND node IN (SELECT arrayJoin(@ids))
    LIMIT @per_role BY node, dir
    UNION ALL
    SELECT peer FROM identity_links
    WHERE tenant = @tenant AND node IN (
        SELECT peer FROM identity_links
        WHERE tenant = @tenant AND node IN (SELECT arrayJoin(@ids))
        LIMIT @per_role BY node, dir)
    LIMIT @per_role BY node, dir)
GROUP BY node, dir, peer
ORDER BY node, dir, peer
LIMIT @per_role BY node, dir
