-- Contact metering (shared/spec/metrics.md, "Contact metering (billing)").
--
-- relation_events keeps every event that starts or ends a (contact, staff)
-- relation, one row per relation side, so that the meters are a function of
-- the event *set*: a redelivered event is the same row (ReplacingMergeTree
-- folds it on merge, and readers drop identical rows), and the order of
-- arrival does not matter because readers replay each pair in
-- (time_ns, id, source) order. Meters are computed from these rows in Go
-- (metering.Compute).
--
-- Both views read `events`: ClickHouse 18.16 does not cascade a view's insert
-- into the views of its target table.
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
ORDER BY (tenant, contact_id, staff_id, time_ns, id, source);

-- contact.added and contact.removed of the pair, and the side of a transfer
-- that starts a relation (to_staff_id).
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

-- The side of a transfer that ends a relation (from_staff_id). A transfer to
-- the same staff member keeps the relation live (docs/decisions.md, 6).
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

-- Every usage line a closed billing period was exported with, written once
-- (seq 0 the original, 1, 2, ... the adjustments), so that a later export
-- repeats them byte for byte and adds an adjustment when late events moved a
-- figure (docs/decisions.md, "Metering"). Should two exports race, readers
-- keep the first row per (tenant, period, meter, seq): by exported_at, then
-- value.
CREATE TABLE IF NOT EXISTS billing_exports (
    tenant String,
    period String,
    meter String,
    seq UInt32,
    value Int64,
    exported_at DateTime
) ENGINE = MergeTree()
ORDER BY (tenant, period, meter, seq);
