-- Point-read granules for the rest of the profile (docs/decisions.md, P13):
-- the tables a profile read touches by (tenant, contact_id) or (tenant, node)
-- are rebuilt with granules of 256 rows, as 0017 did for profile_state. A
-- profile read finds a handful of rows per table, but ClickHouse reads (and,
-- for aggregate states, deserializes) a whole granule per part to find them:
-- with 8,192-row granules one read of acquisition_state, contact_tag_state,
-- relation_events and identity_links took about 170,000 rows and 67 MB off
-- the page cache (1,000,000 contacts, unmerged parts), with 256 about 1/32 of
-- that. Scans (segments, metering) read every granule anyway; the index is
-- 32x larger, about 4,000 marks per million rows. 18.16 cannot change a
-- table's granularity, so each table is dropped and rebuilt from `events`,
-- the source of truth: same name, same columns, same views (copied from
-- 0002, 0007, 0008, 0015 and 0016), each view created before its backfill
-- so that an event inserted meanwhile is folded twice at worst (every table
-- is idempotent). Every statement is safe to run again after a crash.
-- Profile, segment and metering reads see partial tables while it runs. A
-- migration that alters one of these tables or views before 0031 must be
-- folded into 0031's definitions when merged.

-- contact_tag_state: the same table, view(s) and backfill with 256-row granules.
DROP TABLE IF EXISTS contact_tag_state_mv;

DROP TABLE IF EXISTS contact_tag_state;

CREATE TABLE IF NOT EXISTS contact_tag_state (
    tenant String,
    contact_id String,
    tag_id String,
    present AggregateFunction(argMax, UInt8, Tuple(Int64, String, String)),
    since_ns AggregateFunction(max, Int64)
) ENGINE = AggregatingMergeTree()
ORDER BY (tenant, contact_id, tag_id)
SETTINGS index_granularity = 256;

CREATE MATERIALIZED VIEW IF NOT EXISTS contact_tag_state_mv TO contact_tag_state AS
SELECT
    tenant,
    subject AS contact_id,
    tag_id,
    argMaxState(toUInt8(type = 'tag.added'), (time_ns, id, source)) AS present,
    maxState(time_ns) AS since_ns
FROM events
WHERE type IN ('tag.added', 'tag.removed')
GROUP BY tenant, contact_id, tag_id;

INSERT INTO contact_tag_state (tenant, contact_id, tag_id, present, since_ns)
SELECT
    tenant,
    subject AS contact_id,
    tag_id,
    argMaxState(toUInt8(type = 'tag.added'), (time_ns, id, source)) AS present,
    maxState(time_ns) AS since_ns
FROM events
WHERE type IN ('tag.added', 'tag.removed')
GROUP BY tenant, contact_id, tag_id;

-- acquisition_state: the same table, view(s) and backfill with 256-row granules.
DROP TABLE IF EXISTS acquisition_state_mv;

DROP TABLE IF EXISTS acquisition_state;

CREATE TABLE IF NOT EXISTS acquisition_state (
    tenant String,
    contact_id String,
    add_way AggregateFunction(argMin, Int64, Tuple(Int64, String, String)),
    channel AggregateFunction(argMin, String, Tuple(Int64, String, String)),
    staff_id AggregateFunction(argMin, String, Tuple(Int64, String, String)),
    added_ns AggregateFunction(min, Int64)
) ENGINE = AggregatingMergeTree()
ORDER BY (tenant, contact_id)
SETTINGS index_granularity = 256;

CREATE MATERIALIZED VIEW IF NOT EXISTS acquisition_state_mv TO acquisition_state AS
SELECT
    tenant,
    subject AS contact_id,
    argMinState(add_way, (time_ns, id, source)) AS add_way,
    argMinState(state, (time_ns, id, source)) AS channel,
    argMinState(staff_id, (time_ns, id, source)) AS staff_id,
    minState(time_ns) AS added_ns
FROM events
WHERE type = 'contact.added'
GROUP BY tenant, contact_id;

INSERT INTO acquisition_state (tenant, contact_id, add_way, channel, staff_id, added_ns)
SELECT
    tenant,
    subject AS contact_id,
    argMinState(add_way, (time_ns, id, source)) AS add_way,
    argMinState(state, (time_ns, id, source)) AS channel,
    argMinState(staff_id, (time_ns, id, source)) AS staff_id,
    minState(time_ns) AS added_ns
FROM events
WHERE type = 'contact.added'
GROUP BY tenant, contact_id;

-- relation_events: the same table, view(s) and backfill with 256-row granules.
DROP TABLE IF EXISTS relation_events_mv;

DROP TABLE IF EXISTS relation_events_transfer_from_mv;

DROP TABLE IF EXISTS relation_events;

CREATE TABLE IF NOT EXISTS relation_events (
    tenant String,
    contact_id String,
    staff_id String,
    time_ns Int64,
    id String,
    source String,
    type String,
    live UInt8,
    removed_by String,
    add_way Int64
) ENGINE = ReplacingMergeTree()
ORDER BY (tenant, contact_id, staff_id, time_ns, id, source)
SETTINGS index_granularity = 256;

CREATE MATERIALIZED VIEW IF NOT EXISTS relation_events_mv TO relation_events AS
SELECT
    tenant,
    subject AS contact_id,
    if(type = 'contact.transferred', to_staff_id, staff_id) AS staff_id,
    time_ns,
    id,
    source,
    type,
    toUInt8(type != 'contact.removed') AS live,
    if(type = 'contact.removed', removed_by, '') AS removed_by,
    if(type = 'contact.added', add_way, toInt64(0)) AS add_way
FROM events
WHERE type IN ('contact.added', 'contact.removed', 'contact.transferred');

CREATE MATERIALIZED VIEW IF NOT EXISTS relation_events_transfer_from_mv TO relation_events AS
SELECT
    tenant,
    subject AS contact_id,
    from_staff_id AS staff_id,
    time_ns,
    id,
    source,
    type,
    toUInt8(0) AS live,
    '' AS removed_by,
    toInt64(0) AS add_way
FROM events
WHERE type = 'contact.transferred' AND from_staff_id != to_staff_id;

INSERT INTO relation_events (tenant, contact_id, staff_id, time_ns, id, source, type, live, removed_by, add_way)
SELECT
    tenant,
    subject AS contact_id,
    if(type = 'contact.transferred', to_staff_id, staff_id) AS staff_id,
    time_ns,
    id,
    source,
    type,
    toUInt8(type != 'contact.removed') AS live,
    if(type = 'contact.removed', removed_by, '') AS removed_by,
    if(type = 'contact.added', add_way, toInt64(0)) AS add_way
FROM events
WHERE type IN ('contact.added', 'contact.removed', 'contact.transferred');

INSERT INTO relation_events (tenant, contact_id, staff_id, time_ns, id, source, type, live, removed_by, add_way)
SELECT
    tenant,
    subject AS contact_id,
    from_staff_id AS staff_id,
    time_ns,
    id,
    source,
    type,
    toUInt8(0) AS live,
    '' AS removed_by,
    toInt64(0) AS add_way
FROM events
WHERE type = 'contact.transferred' AND from_staff_id != to_staff_id;

-- contact_day_state: the same table, view(s) and backfill with 256-row granules.
DROP TABLE IF EXISTS contact_day_state_mv;

DROP TABLE IF EXISTS contact_day_state;

CREATE TABLE IF NOT EXISTS contact_day_state (
    tenant String,
    contact_id String,
    day Date,
    msgs_in AggregateFunction(uniqExactIf, String, String, UInt8),
    msgs_out AggregateFunction(uniqExactIf, String, String, UInt8),
    followups AggregateFunction(uniqExactIf, String, String, UInt8),
    gender AggregateFunction(argMaxIf, Int64, Tuple(Int64, String, String), UInt8),
    phone AggregateFunction(argMaxIf, String, Tuple(Int64, String, String), UInt8)
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (tenant, contact_id, day)
SETTINGS index_granularity = 256;

CREATE MATERIALIZED VIEW IF NOT EXISTS contact_day_state_mv TO contact_day_state AS
SELECT
    tenant,
    subject AS contact_id,
    toDate(toDateTime(intDiv(time_ns, 1000000000)), 'Asia/Shanghai') AS day,
    uniqExactIfState(source, id, toUInt8(type = 'chat.message' AND direction = 'in')) AS msgs_in,
    uniqExactIfState(source, id, toUInt8(type = 'chat.message' AND direction = 'out')) AS msgs_out,
    uniqExactIfState(source, id, toUInt8(type = 'followup.logged')) AS followups,
    argMaxIfState(gender, (time_ns, id, source), toUInt8(bitAnd(present, 8388608) != 0)) AS gender,
    argMaxIfState(phone, (time_ns, id, source), toUInt8(bitAnd(present, 1024) != 0)) AS phone
FROM events
WHERE type IN ('chat.message', 'followup.logged', 'contact.added', 'contact.updated')
GROUP BY tenant, contact_id, day;

INSERT INTO contact_day_state (tenant, contact_id, day, msgs_in, msgs_out, followups, gender, phone)
SELECT
    tenant,
    subject AS contact_id,
    toDate(toDateTime(intDiv(time_ns, 1000000000)), 'Asia/Shanghai') AS day,
    uniqExactIfState(source, id, toUInt8(type = 'chat.message' AND direction = 'in')) AS msgs_in,
    uniqExactIfState(source, id, toUInt8(type = 'chat.message' AND direction = 'out')) AS msgs_out,
    uniqExactIfState(source, id, toUInt8(type = 'followup.logged')) AS followups,
    argMaxIfState(gender, (time_ns, id, source), toUInt8(bitAnd(present, 8388608) != 0)) AS gender,
    argMaxIfState(phone, (time_ns, id, source), toUInt8(bitAnd(present, 1024) != 0)) AS phone
FROM events
WHERE type IN ('chat.message', 'followup.logged', 'contact.added', 'contact.updated')
GROUP BY tenant, contact_id, day;

-- identity_links: the same table, view and backfill with 256-row granules;
-- the view is 0029's (identity_links_present_mv: only events that carry an
-- identifier are expanded), the backfill its query over every event.
DROP TABLE IF EXISTS identity_links_mv;

DROP TABLE IF EXISTS identity_links_present_mv;

DROP TABLE IF EXISTS identity_links;

CREATE TABLE IF NOT EXISTS identity_links (
    tenant String,
    node String,
    peer String,
    kind String,
    dir UInt8
) ENGINE = ReplacingMergeTree()
ORDER BY (tenant, node, dir, peer, kind)
SETTINGS index_granularity = 256;

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

INSERT INTO identity_links (tenant, node, peer, kind, dir)
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
