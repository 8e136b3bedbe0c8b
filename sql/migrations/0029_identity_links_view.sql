-- The identity_links view did work on every inserted event that most
-- events do not need (docs/decisions.md, "Ingest cost of the rollups",
-- I2: 825 → 325 ns of ClickHouse CPU per inserted event). It built its
-- ARRAY JOIN array of four string tuples for every event of the insert and
-- filtered after the join, which copies every needed column of every row
-- first. The new view gives an event an empty array (ARRAY JOIN drops it)
-- unless it carries an identifier, so only those rows are copied. Same
-- rows into the same table: no backfill, the table keeps its data. The new
-- view is created before the old one is dropped, so an event inserted
-- meanwhile is folded twice at worst, which the table folds away
-- (ReplacingMergeTree set).

-- identity_links (0016): the old view built four (node, peer, kind, dir)
-- tuples of strings for every event and kept those with both ids
-- non-empty and different; k picks the tuples of the identifiers the
-- event carries (0, 1: unionid, mask 1<<12; 2, 3: phone, mask 1<<10),
-- even k being the subject → value side (dir 1).
CREATE MATERIALIZED VIEW IF NOT EXISTS identity_links_present_mv TO identity_links AS
SELECT
    tenant,
    if(k % 2 = 0, subject, if(k < 2, unionid, phone)) AS node,
    if(k % 2 = 0, if(k < 2, unionid, phone), subject) AS peer,
    if(k < 2, 'unionid', 'phone') AS kind,
    toUInt8(k % 2 = 0) AS dir
FROM events
ARRAY JOIN multiIf(bitAnd(present, 5120) = 5120, [toUInt8(0), 1, 2, 3],
                   bitAnd(present, 4096) != 0, [toUInt8(0), 1],
                   bitAnd(present, 1024) != 0, [toUInt8(2), 3],
                   emptyArrayUInt8()) AS k
WHERE node != '' AND peer != '' AND node != peer;

DROP TABLE IF EXISTS identity_links_mv;
