-- Per-contact, per-day facts a profile needs beyond profile_state: the chat
-- messages of each day in each direction (so that "last 7 / 30 days" is
-- summed at read time, relative to the reader's now), the follow-ups logged,
-- and the last-writer-wins gender and phone (a new table rather than columns
-- of profile_state: 18.16 has no ADD COLUMN IF NOT EXISTS, and a migration
-- must survive being applied twice). Days are reporting days in the zone of
-- 0005 ('Asia/Shanghai' = metrics.Zone). Every state is idempotent
-- (uniqExact over (source, id), argMax on (time_ns, id, source)), so rows
-- are a function of the event set; an event lies in exactly one day, so
-- merging the states of several days (or several contacts) counts each
-- message once. Masks: phone = 1<<10, gender = 1<<23 (event.Field).
-- A profile reads a handful of rows: granules of 1,024 rows (not 8,192)
-- make ClickHouse deserialize 8x fewer aggregate states to find them.
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
SETTINGS index_granularity = 1024;

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

-- Backfill (docs/decisions.md, "Migrations"): the view's query over every
-- stored event; states are idempotent, so overlap with the view is harmless.
INSERT INTO contact_day_state (tenant, contact_id, day, msgs_in, msgs_out, followups, gender, phone)
-- siyu:select contact_day_state_mv;
