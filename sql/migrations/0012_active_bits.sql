-- Platform-wide series and cohorts read every active staff member and
-- customer of a window; staff_active_days holds one row per active day, too
-- many rows for a 90-day series of 100,000 staff in 200 ms. These rollups
-- hold the same facts as bits: one row per (tenant, actor, block of 64 days
-- counted from 1970-01-01), bit i set when the actor was active on day
-- 64 × block + i (Asia/Shanghai, as in 0005). OR is idempotent and
-- commutative, so duplicates and arrival order change nothing. Same actor
-- rules as staff_active_days (metrics.md, "Who is active"). The tables are
-- backfilled from `events` below (the rule for a migration that adds a
-- rollup); the views are created first, so no insert is missed in between
-- (an event folded twice sets a bit twice).
CREATE TABLE IF NOT EXISTS staff_active_bits (
    tenant String,
    staff_id String,
    block UInt16,
    bits AggregateFunction(groupBitOr, UInt64)
) ENGINE = AggregatingMergeTree()
ORDER BY (tenant, staff_id, block);

CREATE MATERIALIZED VIEW IF NOT EXISTS staff_active_bits_mv TO staff_active_bits AS
SELECT
    tenant,
    if(type = 'staff.active', subject, staff_id) AS staff_id,
    toUInt16(intDiv(toUInt16(toDate(toDateTime(intDiv(time_ns, 1000000000)), 'Asia/Shanghai')), 64)) AS block,
    groupBitOrState(bitShiftLeft(toUInt64(1), toUInt16(toDate(toDateTime(intDiv(time_ns, 1000000000)), 'Asia/Shanghai')) % 64)) AS bits
FROM events
WHERE type IN ('staff.active', 'contact.added', 'contact.updated', 'followup.logged', 'followup.stage_changed')
   OR (type = 'contact.removed' AND removed_by = 'staff')
   OR (type = 'chat.message' AND direction = 'out')
   OR (type IN ('tag.added', 'tag.removed') AND staff_id != '')
GROUP BY tenant, staff_id, block;

CREATE TABLE IF NOT EXISTS customer_active_bits (
    tenant String,
    contact_id String,
    block UInt16,
    bits AggregateFunction(groupBitOr, UInt64)
) ENGINE = AggregatingMergeTree()
ORDER BY (tenant, contact_id, block);

CREATE MATERIALIZED VIEW IF NOT EXISTS customer_active_bits_mv TO customer_active_bits AS
SELECT
    tenant,
    subject AS contact_id,
    toUInt16(intDiv(toUInt16(toDate(toDateTime(intDiv(time_ns, 1000000000)), 'Asia/Shanghai')), 64)) AS block,
    groupBitOrState(bitShiftLeft(toUInt64(1), toUInt16(toDate(toDateTime(intDiv(time_ns, 1000000000)), 'Asia/Shanghai')) % 64)) AS bits
FROM events
WHERE type = 'chat.message' AND direction = 'in'
GROUP BY tenant, contact_id, block;

INSERT INTO staff_active_bits (tenant, staff_id, block, bits)
-- siyu:select staff_active_bits_mv;

INSERT INTO customer_active_bits (tenant, contact_id, block, bits)
-- siyu:select customer_active_bits_mv;
