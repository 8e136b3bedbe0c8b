-- Adoption and engagement rollups (shared/spec/metrics.md), folded from
-- events as they arrive, so that metric reads never scan raw events.
--
-- The reporting time zone is fixed here, at install: 'Asia/Shanghai'. It must
-- equal metrics.Zone in Go. Changing it means rebuilding these tables from
-- `events` (docs/decisions.md, "Metrics").
--
-- Every table holds facts that are idempotent under redelivery: a duplicate
-- or reordered event adds a row that is already there (ReplacingMergeTree
-- folds it on merge) or a min() that does not move. Readers count distinct
-- values or GROUP BY, so unmerged duplicates never change an answer.

-- One row per (tenant, day, staff member) the staff member was the actor of
-- at least one event that day.
CREATE TABLE IF NOT EXISTS staff_active_days (
    tenant String,
    day Date,
    staff_id String
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (tenant, day, staff_id);

-- The actor rules of metrics.md, "Who is active".
CREATE MATERIALIZED VIEW IF NOT EXISTS staff_active_days_mv TO staff_active_days AS
SELECT
    tenant,
    toDate(toDateTime(intDiv(time_ns, 1000000000)), 'Asia/Shanghai') AS day,
    if(type = 'staff.active', subject, staff_id) AS staff_id
FROM events
WHERE type IN ('staff.active', 'contact.added', 'contact.updated', 'followup.logged', 'followup.stage_changed')
   OR (type = 'contact.removed' AND removed_by = 'staff')
   OR (type = 'chat.message' AND direction = 'out')
   OR (type IN ('tag.added', 'tag.removed') AND staff_id != '');

-- One row per (tenant, day, customer) who sent a message that day.
CREATE TABLE IF NOT EXISTS customer_active_days (
    tenant String,
    day Date,
    contact_id String
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (tenant, day, contact_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS customer_active_days_mv TO customer_active_days AS
SELECT
    tenant,
    toDate(toDateTime(intDiv(time_ns, 1000000000)), 'Asia/Shanghai') AS day,
    subject AS contact_id
FROM events
WHERE type = 'chat.message' AND direction = 'in';

-- The first active day of each staff member and customer. Fed from events,
-- with the same day and actor expressions as the views above: ClickHouse
-- 18.16 does not cascade an insert made by one view into the views of its
-- target table, so a view over staff_active_days would never fire there.
CREATE TABLE IF NOT EXISTS staff_first_day (
    tenant String,
    staff_id String,
    first_day AggregateFunction(min, Date)
) ENGINE = AggregatingMergeTree()
ORDER BY (tenant, staff_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS staff_first_day_mv TO staff_first_day AS
SELECT
    tenant,
    if(type = 'staff.active', subject, staff_id) AS staff_id,
    minState(toDate(toDateTime(intDiv(time_ns, 1000000000)), 'Asia/Shanghai')) AS first_day
FROM events
WHERE type IN ('staff.active', 'contact.added', 'contact.updated', 'followup.logged', 'followup.stage_changed')
   OR (type = 'contact.removed' AND removed_by = 'staff')
   OR (type = 'chat.message' AND direction = 'out')
   OR (type IN ('tag.added', 'tag.removed') AND staff_id != '')
GROUP BY tenant, staff_id;

CREATE TABLE IF NOT EXISTS customer_first_day (
    tenant String,
    contact_id String,
    first_day AggregateFunction(min, Date)
) ENGINE = AggregatingMergeTree()
ORDER BY (tenant, contact_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS customer_first_day_mv TO customer_first_day AS
SELECT
    tenant,
    subject AS contact_id,
    minState(toDate(toDateTime(intDiv(time_ns, 1000000000)), 'Asia/Shanghai')) AS first_day
FROM events
WHERE type = 'chat.message' AND direction = 'in'
GROUP BY tenant, contact_id;

-- Every subscription change, one row per event identity. A tenant has few,
-- so readers fold the last-writer-wins timeline in Go (metrics.Timeline);
-- contact metering reads contact_cap from here too.
CREATE TABLE IF NOT EXISTS subscription_changes (
    tenant String,
    time_ns Int64,
    id String,
    source String,
    plan String,
    paid UInt8,
    contact_cap Int64,
    seats Int64
) ENGINE = ReplacingMergeTree()
ORDER BY (tenant, time_ns, source, id);

CREATE MATERIALIZED VIEW IF NOT EXISTS subscription_changes_mv TO subscription_changes AS
SELECT tenant, time_ns, id, source, plan, paid, contact_cap, seats
FROM events
WHERE type = 'subscription.changed';
