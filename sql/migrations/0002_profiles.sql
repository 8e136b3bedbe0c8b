-- The customer profile, folded from events by materialized views into
-- AggregatingMergeTree states. Every state is idempotent (min, max, argMax
-- on the (time_ns, id, source) key, uniqExact over event keys), so a profile
-- is a function of the event *set*: order and redelivery change nothing.

-- One row per (tenant, contact): scalar facts.
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
ORDER BY (tenant, contact_id);

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

-- One row per (tenant, contact, staff): the WeCom friend relation, live or
-- not, last writer wins. A transfer ends the pair with from_staff_id and
-- starts one with to_staff_id at the same instant (two views, one per side).
CREATE TABLE IF NOT EXISTS relation_state (
    tenant String,
    contact_id String,
    staff_id String,
    live AggregateFunction(argMax, UInt8, Tuple(Int64, String, String)),
    since_ns AggregateFunction(max, Int64),
    first_added_ns AggregateFunction(minIf, Int64, UInt8)
) ENGINE = AggregatingMergeTree()
ORDER BY (tenant, contact_id, staff_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS relation_state_mv TO relation_state AS
SELECT
    tenant,
    subject AS contact_id,
    if(type = 'contact.transferred', to_staff_id, staff_id) AS staff_id,
    argMaxState(toUInt8(type != 'contact.removed'), (time_ns, id, source)) AS live,
    maxState(time_ns) AS since_ns,
    minIfState(time_ns, toUInt8(type = 'contact.added')) AS first_added_ns
FROM events
WHERE type IN ('contact.added', 'contact.removed', 'contact.transferred')
GROUP BY tenant, contact_id, staff_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS relation_state_transfer_from_mv TO relation_state AS
SELECT
    tenant,
    subject AS contact_id,
    from_staff_id AS staff_id,
    argMaxState(toUInt8(0), (time_ns, id, source)) AS live,
    maxState(time_ns) AS since_ns,
    minIfState(time_ns, toUInt8(0)) AS first_added_ns
FROM events
WHERE type = 'contact.transferred' AND from_staff_id != to_staff_id
GROUP BY tenant, contact_id, staff_id;

-- One row per (tenant, contact, tag): is the tag on the contact, last writer wins.
CREATE TABLE IF NOT EXISTS contact_tag_state (
    tenant String,
    contact_id String,
    tag_id String,
    present AggregateFunction(argMax, UInt8, Tuple(Int64, String, String)),
    since_ns AggregateFunction(max, Int64)
) ENGINE = AggregatingMergeTree()
ORDER BY (tenant, contact_id, tag_id);

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
