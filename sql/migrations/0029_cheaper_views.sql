-- Two views on `events` did work on every inserted row that most rows do
-- not need (docs/decisions.md, "Ingest cost of the rollups"). Both built
-- their ARRAY JOIN arrays for every row of the insert and filtered after
-- the join, which copies every needed column of every row first. The new
-- views give a row an empty array (ARRAY JOIN drops it) unless it yields
-- rows, so only those are copied. Same rows into the same tables: no
-- backfill, the tables keep their data. Each new view is created before
-- its old one is dropped, so an event inserted meanwhile is folded twice
-- at worst, which both tables fold away (ReplacingMergeTree sets).

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

-- contact_facts (0021): the same kinds and columns; the WHERE on the types
-- moves into the ARRAY JOIN (other types get no kind).
CREATE MATERIALIZED VIEW IF NOT EXISTS contact_facts_typed_mv TO contact_facts AS
SELECT
    tenant,
    subject AS contact_id,
    kind,
    if(kind = 4, if(next_at_ns = 0, toInt64(9223372036854775807), next_at_ns), toInt64(0)) AS sort_ns,
    if(kind = 0, toInt64(0), time_ns) AS key_ns,
    if(kind = 0, '', id) AS key_id,
    if(kind = 0, '', source) AS key_source,
    multiIf(kind = 1, staff_id, kind = 2, to_staff_id, '') AS staff,
    if(kind >= 3, next_at_ns, toInt64(0)) AS next_ns,
    if(kind = 2 OR kind = 4, toUInt64(0), toUInt64(time_ns)) AS last_ns
FROM events
ARRAY JOIN multiIf(type = 'followup.logged', [toUInt8(3), 4],
                   type = 'contact.added', [toUInt8(1)],
                   type = 'assignee.changed', [toUInt8(2)],
                   type IN ('contact.updated', 'contact.removed', 'contact.transferred', 'chat.message',
                            'tag.added', 'tag.removed', 'followup.stage_changed'), [toUInt8(0)],
                   emptyArrayUInt8()) AS kind;

DROP TABLE IF EXISTS contact_facts_mv;
