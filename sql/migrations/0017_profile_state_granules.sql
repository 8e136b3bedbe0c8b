-- profile_state again, with 256-row granules instead of 8,192. A profile
-- read (one contact, or the few ids of one person) made ClickHouse
-- deserialize a whole granule of aggregate states — 8,192 rows of uniqExact
-- sets and argMax tuples — to find one row: 11–15 ms per read against 2–4 ms
-- with 256-row granules (50,000 contacts, measured in a scratch test;
-- docs/decisions.md, P11). Scans (segments) barely notice: the index is 32x
-- larger, 4,000 marks per million contacts. 18.16 cannot change a table's
-- granularity, so the table is dropped and rebuilt from `events`, the source
-- of truth: same name, same columns, same view. Every statement is safe to
-- run again after a crash (it rebuilds again, to the same result). Profile
-- reads see a partial table while this migration runs.
DROP TABLE IF EXISTS profile_state_mv;

DROP TABLE IF EXISTS profile_state;

-- siyu:recreate profile_state as in 0002 with index_granularity = 256;

-- Masks: name = 1<<7, corp_name = 1<<11, unionid = 1<<12 (event.Field).
-- siyu:recreate profile_state_mv as in 0002;

-- Backfill: the view's query over every stored event.
INSERT INTO profile_state (tenant, contact_id, first_ns, last_ns, name, unionid, corp_name, msgs_in, msgs_out,
    last_in_ns, last_out_ns, stage, last_followup_ns, next_followup_ns)
-- siyu:select profile_state_mv;
