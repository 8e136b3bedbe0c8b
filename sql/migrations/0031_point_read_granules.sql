-- Point-read granules for the rest of the profile (docs/decisions.md, P13):
-- the tables a profile read touches by (tenant, contact_id) or (tenant, node)
-- are rebuilt with granules of 256 rows, as 0017 did for profile_state. A
-- profile read finds a handful of rows per table, but ClickHouse reads (and,
-- for aggregate states, deserializes) a whole granule per part to find them:
-- with 8,192-row granules one read of acquisition_state, contact_tag_state,
-- relation_events and identity_links took about 170,000 rows and 67 MB off
-- the page cache (1,000,000 contacts, unmerged parts), with 256 about 1/32 of
-- that. Scans (segments, metering) read every granule anyway; the index is
-- 32x larger, about 4,000 marks per million rows. 18.16 cannot change a
-- table's granularity, so each table is dropped and rebuilt from `events`,
-- the source of truth: same name, same columns, same views (recreated as
-- in 0002, 0007, 0008, 0015, 0016 and 0029), each view created before its
-- backfill so that an event inserted meanwhile is folded twice at worst
-- (every table is idempotent). Every statement is safe to run again after
-- a crash. Profile, segment and metering reads see partial tables while it
-- runs. Should a migration numbered before 0031 create or alter one of
-- these tables or views again, expanding the directives fails
-- (sql/expand.go) instead of leaving 0031 with the old definition.

-- contact_tag_state: the same table, view(s) and backfill with 256-row granules.
DROP TABLE IF EXISTS contact_tag_state_mv;

DROP TABLE IF EXISTS contact_tag_state;

-- siyu:recreate contact_tag_state as in 0002 with index_granularity = 256;

-- siyu:recreate contact_tag_state_mv as in 0002;

INSERT INTO contact_tag_state (tenant, contact_id, tag_id, present, since_ns)
-- siyu:select contact_tag_state_mv;

-- acquisition_state: the same table, view(s) and backfill with 256-row granules.
DROP TABLE IF EXISTS acquisition_state_mv;

DROP TABLE IF EXISTS acquisition_state;

-- siyu:recreate acquisition_state as in 0008 with index_granularity = 256;

-- siyu:recreate acquisition_state_mv as in 0008;

INSERT INTO acquisition_state (tenant, contact_id, add_way, channel, staff_id, added_ns)
-- siyu:select acquisition_state_mv;

-- relation_events: the same table, view(s) and backfill with 256-row granules.
DROP TABLE IF EXISTS relation_events_mv;

DROP TABLE IF EXISTS relation_events_transfer_from_mv;

DROP TABLE IF EXISTS relation_events;

-- siyu:recreate relation_events as in 0007 with index_granularity = 256;

-- siyu:recreate relation_events_mv as in 0007;

-- siyu:recreate relation_events_transfer_from_mv as in 0007;

INSERT INTO relation_events (tenant, contact_id, staff_id, time_ns, id, source, type, live, removed_by, add_way)
-- siyu:select relation_events_mv;

INSERT INTO relation_events (tenant, contact_id, staff_id, time_ns, id, source, type, live, removed_by, add_way)
-- siyu:select relation_events_transfer_from_mv;

-- contact_day_state: the same table, view(s) and backfill with 256-row granules.
DROP TABLE IF EXISTS contact_day_state_mv;

DROP TABLE IF EXISTS contact_day_state;

-- siyu:recreate contact_day_state as in 0015 with index_granularity = 256;

-- siyu:recreate contact_day_state_mv as in 0015;

INSERT INTO contact_day_state (tenant, contact_id, day, msgs_in, msgs_out, followups, gender, phone)
-- siyu:select contact_day_state_mv;

-- identity_links: the same table, view and backfill with 256-row granules;
-- the view is 0029's (identity_links_present_mv: only events that carry an
-- identifier are expanded), the backfill its query over every event.
DROP TABLE IF EXISTS identity_links_mv;

DROP TABLE IF EXISTS identity_links_present_mv;

DROP TABLE IF EXISTS identity_links;

-- siyu:recreate identity_links as in 0016 with index_granularity = 256;

-- siyu:recreate identity_links_present_mv as in 0029;

INSERT INTO identity_links (tenant, node, peer, kind, dir)
-- siyu:select identity_links_present_mv;
