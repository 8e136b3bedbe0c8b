-- Identity links: every identifier an event carried for its subject — a
-- unionid or a phone, present and non-empty, other than the subject itself —
-- stored in both directions so that a read walks the graph from any id
-- through the primary key: (node = subject, peer = value, dir = 1) and
-- (node = value, peer = subject, dir = 0). An absent or empty identifier
-- links nothing. Links are never undone (a person keeps the ids they were
-- seen under); components are resolved at read time in Go (cdp/identity.go),
-- so the table is a plain set of facts, the same for any order and any
-- number of deliveries. Masks: phone = 1<<10, unionid = 1<<12 (event.Field).
CREATE TABLE IF NOT EXISTS identity_links (
    tenant String,
    node String,
    peer String,
    kind String,
    dir UInt8
) ENGINE = ReplacingMergeTree()
ORDER BY (tenant, node, dir, peer, kind);

CREATE MATERIALIZED VIEW IF NOT EXISTS identity_links_mv TO identity_links AS
SELECT
    tenant,
    tupleElement(l, 1) AS node,
    tupleElement(l, 2) AS peer,
    tupleElement(l, 3) AS kind,
    tupleElement(l, 4) AS dir
FROM events
ARRAY JOIN [
    (subject, if(bitAnd(present, 4096) != 0, unionid, ''), 'unionid', toUInt8(1)),
    (if(bitAnd(present, 4096) != 0, unionid, ''), subject, 'unionid', toUInt8(0)),
    (subject, if(bitAnd(present, 1024) != 0, phone, ''), 'phone', toUInt8(1)),
    (if(bitAnd(present, 1024) != 0, phone, ''), subject, 'phone', toUInt8(0))
] AS l
WHERE bitAnd(present, 5120) != 0
  AND tupleElement(l, 1) != '' AND tupleElement(l, 2) != '' AND tupleElement(l, 1) != tupleElement(l, 2);

-- Backfill: the view's query over every stored event.
INSERT INTO identity_links (tenant, node, peer, kind, dir)
-- siyu:select identity_links_mv;
