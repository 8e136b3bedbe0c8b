-- Teams (issue 4, "managers see their team"): one row per
-- staff.manager_set event; a rep's manager is the staff_id of their latest
-- one by (time_ns, id, source), none when that one is deleted. Readers take
-- argMax, so duplicates and order do not matter. Backfilled below.
CREATE TABLE IF NOT EXISTS staff_managers (
    tenant String,
    rep_id String,
    time_ns Int64,
    id String,
    source String,
    manager_id String,
    deleted UInt8
) ENGINE = ReplacingMergeTree()
ORDER BY (tenant, rep_id, time_ns, source, id);

CREATE MATERIALIZED VIEW IF NOT EXISTS staff_managers_mv TO staff_managers AS
SELECT tenant, subject AS rep_id, time_ns, id, source, staff_id AS manager_id, deleted
FROM events
WHERE type = 'staff.manager_set';

INSERT INTO staff_managers (tenant, rep_id, time_ns, id, source, manager_id, deleted)
SELECT tenant, subject AS rep_id, time_ns, id, source, staff_id AS manager_id, deleted
FROM events
WHERE type = 'staff.manager_set';
