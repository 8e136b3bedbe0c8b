-- profile_state again, with 256-row granules instead of 8,192. A profile
-- read (one contact, or the few ids of one person) made ClickHouse
-- deserialize a whole granule of aggregate states — 8,192 rows of uniqExact
-- sets and argMax tuples — to find one row: 11–15 ms per read against 2–4 ms
-- with 256-row granules (50,000 contacts, measured in a scratch test;
-- docs/decisions.md, P11). Scans (segments) barely notice: the index is 32x
-- larger, 4,000 marks per million contacts. 18.16 cannot change a table's
-- granularity, so the table is dropped and rebuilt from `events`, the source
-- of truth: same name, same columns, same view. Every statement is safe to
-- run again after a crash (it rebuilds again, to the same result). Profile
-- reads see a partial table while this migration runs.
DROP TABLE IF EXISTS profile_state_mv;

DROP TABLE IF EXISTS profile_state;

CREATE TABLE IF NOT EXISTS profile_state (
    tenant String,
    contact_id String,
    first_ns AggregateFunction(min, Int64),
    last_ns AggregateFunction(max, Int64),
    name AggregateFunction(argMaxIf, String, Tuple(Int64, String, String), UInt8),
    unionid AggregateFunction(argMaxIf, String, Tuple(Int64, String, String), UInt8),
    corp_name AggregateFunction(argMaxIf, String, Tuple(Int64, String, String), UInt8),
    msgs_in AggregateFunction(uniqExactIf, String, String, UInt8),
    msgs_out AggregateFunction(uniqExactIf, String, String, UInt8),
    last_in_ns AggregateFunction(maxIf, Int64, UInt8),
    last_out_ns AggregateFunction(maxIf, Int64, UInt8),
    stage AggregateFunction(argMaxIf, String, Tuple(Int64, String, String), UInt8),
    last_followup_ns AggregateFunction(maxIf, Int64, UInt8),
    next_followup_ns AggregateFunction(argMaxIf, Int64, Tuple(Int64, String, String), UInt8)
) ENGINE = AggregatingMergeTree()
ORDER BY (tenant, contact_id)
SETTINGS index_granularity = 256;

-- Masks: name = 1<<7, corp_name = 1<<11, unionid = 1<<12 (event.Field).
CREATE MATERIALIZED VIEW IF NOT EXISTS profile_state_mv TO profile_state AS
SELECT
    tenant,
    subject AS contact_id,
    minState(time_ns) AS first_ns,
    maxState(time_ns) AS last_ns,
    argMaxIfState(name, (time_ns, id, source), toUInt8(bitAnd(present, 128) != 0)) AS name,
    argMaxIfState(unionid, (time_ns, id, source), toUInt8(bitAnd(present, 4096) != 0)) AS unionid,
    argMaxIfState(corp_name, (time_ns, id, source), toUInt8(bitAnd(present, 2048) != 0)) AS corp_name,
    uniqExactIfState(source, id, toUInt8(type = 'chat.message' AND direction = 'in')) AS msgs_in,
    uniqExactIfState(source, id, toUInt8(type = 'chat.message' AND direction = 'out')) AS msgs_out,
    maxIfState(time_ns, toUInt8(type = 'chat.message' AND direction = 'in')) AS last_in_ns,
    maxIfState(time_ns, toUInt8(type = 'chat.message' AND direction = 'out')) AS last_out_ns,
    argMaxIfState(stage, (time_ns, id, source), toUInt8(type = 'followup.stage_changed')) AS stage,
    maxIfState(time_ns, toUInt8(type = 'followup.logged')) AS last_followup_ns,
    argMaxIfState(next_at_ns, (time_ns, id, source), toUInt8(type = 'followup.logged')) AS next_followup_ns
FROM events
WHERE type IN ('contact.added', 'contact.updated', 'contact.removed', 'contact.transferred',
               'chat.message', 'tag.added', 'tag.removed', 'followup.logged', 'followup.stage_changed')
GROUP BY tenant, contact_id;

-- Backfill: the view's query over every stored event.
INSERT INTO profile_state (tenant, contact_id, first_ns, last_ns, name, unionid, corp_name, msgs_in, msgs_out,
    last_in_ns, last_out_ns, stage, last_followup_ns, next_followup_ns)
SELECT
    tenant,
    subject AS contact_id,
    minState(time_ns) AS first_ns,
    maxState(time_ns) AS last_ns,
    argMaxIfState(name, (time_ns, id, source), toUInt8(bitAnd(present, 128) != 0)) AS name,
    argMaxIfState(unionid, (time_ns, id, source), toUInt8(bitAnd(present, 4096) != 0)) AS unionid,
    argMaxIfState(corp_name, (time_ns, id, source), toUInt8(bitAnd(present, 2048) != 0)) AS corp_name,
    uniqExactIfState(source, id, toUInt8(type = 'chat.message' AND direction = 'in')) AS msgs_in,
    uniqExactIfState(source, id, toUInt8(type = 'chat.message' AND direction = 'out')) AS msgs_out,
    maxIfState(time_ns, toUInt8(type = 'chat.message' AND direction = 'in')) AS last_in_ns,
    maxIfState(time_ns, toUInt8(type = 'chat.message' AND direction = 'out')) AS last_out_ns,
    argMaxIfState(stage, (time_ns, id, source), toUInt8(type = 'followup.stage_changed')) AS stage,
    maxIfState(time_ns, toUInt8(type = 'followup.logged')) AS last_followup_ns,
    argMaxIfState(next_at_ns, (time_ns, id, source), toUInt8(type = 'followup.logged')) AS next_followup_ns
FROM events
WHERE type IN ('contact.added', 'contact.updated', 'contact.removed', 'contact.transferred',
               'chat.message', 'tag.added', 'tag.removed', 'followup.logged', 'followup.stage_changed')
GROUP BY tenant, contact_id;