-- Reply statistics for the engagement dashboard (issue 6; docs/decisions.md,
-- "Dashboards"): one row per chat message between a staff member and a
-- customer, with its reporting day (Asia/Shanghai, decision 19). Readers
-- take, per (tenant, day, staff, contact), the first inbound time and the
-- first outbound time at or after it on the same day; min() makes duplicate
-- and unmerged rows harmless. Named dash_ on purpose: follow-up rep
-- statistics (followup/, WeCom definitions) may add their own reply rollup,
-- and the two should then be unified into one table read by both.
CREATE TABLE IF NOT EXISTS dash_chat_messages (
    tenant String,
    day Date,
    staff_id String,
    contact_id String,
    direction String,
    time_ns Int64
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (tenant, day, staff_id, contact_id, direction, time_ns);

CREATE MATERIALIZED VIEW IF NOT EXISTS dash_chat_messages_mv TO dash_chat_messages AS
SELECT
    tenant,
    toDate(toDateTime(intDiv(time_ns, 1000000000)), 'Asia/Shanghai') AS day,
    staff_id,
    subject AS contact_id,
    direction,
    time_ns
FROM events
WHERE type = 'chat.message' AND direction IN ('in', 'out');

-- Backfill from the event log (docs/decisions.md, "Migrations").
INSERT INTO dash_chat_messages (tenant, day, staff_id, contact_id, direction, time_ns)
-- siyu:select dash_chat_messages_mv;
