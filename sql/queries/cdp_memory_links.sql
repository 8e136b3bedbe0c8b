-- The identity links of a tenant's ids, both roles, for cdp.Memory: as
-- identity_links.sql reads them (at most @per_role peers per id and role,
-- the smallest), of every id or of the ids of the marker (`node` in
-- place of `contact_id`).
-- args: tenant=demo per_role=21
SELECT node, peer, dir
FROM identity_links
WHERE tenant = @tenant AND /*contacts*/ 1
GROUP BY node, dir, peer
ORDER BY node, dir, peer
LIMIT @per_role BY node, dir
