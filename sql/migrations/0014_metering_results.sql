-- Stored daily meter changes (docs/decisions.md, M9). The usage export and
-- platform-wide meters fold every relation event of every tenant
-- (metering_daily_changes.sql); at 2,000 tenants that is seconds. These
-- tables keep that query's output per (tenant, day), computed over all of a
-- tenant's relation events and recomputed only for tenants whose events
-- changed (metrics_inputs, migration 0013), by metering.Service.Refresh.
-- They start empty: every tenant is marked changed by 0013, so the
-- refresher (or the first read) fills them.
--
-- metering_changes: dense from the day of the tenant's first relation event
-- to that of its last (zero rows included), so that a later computation
-- overwrites every row of an earlier one; the latest computed_ns per
-- (tenant, day) wins.
CREATE TABLE IF NOT EXISTS metering_changes (
    tenant String,
    day Date,
    computed_ns UInt64,
    total_change Int64,
    lost UInt64,
    added UInt64,
    linked UInt64
) ENGINE = ReplacingMergeTree(computed_ns)
ORDER BY (tenant, day);

-- metering_changes_done: one row per finished computation of a tenant,
-- written after its metering_changes rows; started is the server clock at
-- its start, first_ns the time of the tenant's first relation event.
CREATE TABLE IF NOT EXISTS metering_changes_done (
    tenant String,
    computed_ns UInt64,
    started DateTime,
    first_ns Int64
) ENGINE = ReplacingMergeTree(computed_ns)
ORDER BY tenant;
