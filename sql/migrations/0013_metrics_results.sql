-- Stored series results (docs/decisions.md, Metrics 32). Platform-wide
-- series read every active actor of a window from the bit rollups; at 2,000
-- tenants that is seconds. These tables keep, per (tenant, day), the exact
-- counts of every stored series, written by metrics.Service.Refresh, and
-- recomputed only for tenants whose events changed.
--
-- metrics_inputs: per tenant, the latest time (server clock, seconds) an
-- insert into `events` carried one of its events. One narrow view, grouped
-- per insert block, so one row per tenant of each insert. Any event type
-- counts: every series input (activity, subscription changes) is an event.
CREATE TABLE IF NOT EXISTS metrics_inputs (
    tenant String,
    inserted_at DateTime
) ENGINE = ReplacingMergeTree(inserted_at)
ORDER BY tenant;

CREATE MATERIALIZED VIEW IF NOT EXISTS metrics_inputs_mv TO metrics_inputs AS
SELECT tenant, max(now()) AS inserted_at
FROM events
GROUP BY tenant;

-- metrics_results: the counts of one computation per (tenant, day), dense
-- from the tenant's first block of activity to the computation's horizon.
-- computed_ns orders computations (its start, server clock); readers take
-- the latest value per (tenant, day).
CREATE TABLE IF NOT EXISTS metrics_results (
    tenant String,
    day Date,
    computed_ns UInt64,
    dau UInt32,
    wau UInt32,
    mau UInt32,
    paid_dau UInt32,
    paid_mau UInt32,
    new_dau UInt32,
    customer_dau UInt32,
    customer_mau UInt32
) ENGINE = ReplacingMergeTree(computed_ns)
ORDER BY (tenant, day);

-- metrics_results_done: one row per finished computation of a tenant,
-- written after all its metrics_results rows (a crash in between leaves no
-- row here, so the tenant stays stale). started is the server clock at the
-- start of the computation; the rows cover [from_day, horizon].
CREATE TABLE IF NOT EXISTS metrics_results_done (
    tenant String,
    computed_ns UInt64,
    started DateTime,
    from_day Date,
    horizon Date
) ENGINE = ReplacingMergeTree(computed_ns)
ORDER BY tenant;

-- Initialization: every tenant with events is marked changed now; the
-- results start empty and the refresher (or the first read) fills them.
INSERT INTO metrics_inputs SELECT tenant, now() FROM events GROUP BY tenant;
