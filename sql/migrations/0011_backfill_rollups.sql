-- A materialized view folds only what is inserted after it exists. The
-- rollups of migrations 0005–0008 are filled here from every event already
-- stored, so that a data dir that predates them (or any upgrade) gets exact
-- derived tables: the event log is the source of truth. Each INSERT runs
-- its view's SELECT (-- siyu:select, sql/expand.go); every target is idempotent (ReplacingMergeTree rows or
-- min/argMax/argMin states), so an event seen both here and by the running
-- view, or a migration applied twice after a crash, changes nothing.
INSERT INTO staff_active_days (tenant, day, staff_id)
-- siyu:select staff_active_days_grouped_mv;

INSERT INTO customer_active_days (tenant, day, contact_id)
-- siyu:select customer_active_days_grouped_mv;

INSERT INTO subscription_changes (tenant, time_ns, id, source, plan, paid, contact_cap, seats)
-- siyu:select subscription_changes_mv;

INSERT INTO tag_library_state (tenant, tag_id, name, tag_group, tag_order, deleted, first_ns, last_ns)
-- siyu:select tag_library_state_mv;

INSERT INTO relation_events (tenant, contact_id, staff_id, time_ns, id, source, type, live, removed_by, add_way)
-- siyu:select relation_events_mv;

INSERT INTO relation_events (tenant, contact_id, staff_id, time_ns, id, source, type, live, removed_by, add_way)
-- siyu:select relation_events_transfer_from_mv;

INSERT INTO acquisition_state (tenant, contact_id, add_way, channel, staff_id, added_ns)
-- siyu:select acquisition_state_mv;

-- Relations are read from relation_events (profile, segments, metering);
-- relation_state folded the same events a second time on every insert.
DROP TABLE IF EXISTS relation_state_mv;
DROP TABLE IF EXISTS relation_state_transfer_from_mv;
DROP TABLE IF EXISTS relation_state;
