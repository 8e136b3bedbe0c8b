-- The sales follow-up dashboard (issue 6; docs/decisions.md, "Dashboards"
-- D2 and D8), and one definition of reply metrics.
--
-- The engagement dashboard's reply panels now read rep_chat_days
-- (0023_followup_day.sql, WeCom's definitions, as GET /v1/followups/stats),
-- so dash_chat_messages and its view go: every view on `events` costs
-- ingest throughput. The follow-up dashboard needs the follow-ups
-- themselves (who logged one, when, and the next follow-up it set), which no
-- rollup Grafana may read holds (profile_state has names and phones): one
-- narrow row per followup.logged, fed by one view, so the views on `events`
-- stay as many as before.
DROP TABLE IF EXISTS dash_chat_messages_mv;

DROP TABLE IF EXISTS dash_chat_messages;

-- One row per followup.logged (ReplacingMergeTree keyed by the event
-- identity: a duplicate is harmless, readers count distinct (id, source) and
-- take the latest by (time_ns, id, source), as profile_state's
-- next_followup_ns does: the next_at of the latest follow-up wins, 0 = none,
-- decision 7).
CREATE TABLE IF NOT EXISTS followup_logs (
    tenant String,
    contact_id String,
    time_ns Int64,
    id String,
    source String,
    staff_id String,
    next_at_ns Int64
) ENGINE = ReplacingMergeTree()
ORDER BY (tenant, contact_id, time_ns, id, source);

CREATE MATERIALIZED VIEW IF NOT EXISTS followup_logs_mv TO followup_logs AS
SELECT tenant, subject AS contact_id, time_ns, id, source, staff_id, next_at_ns
FROM events
WHERE type = 'followup.logged';

-- Backfill from the event log (docs/decisions.md, "Migrations").
INSERT INTO followup_logs (tenant, contact_id, time_ns, id, source, staff_id, next_at_ns)
-- siyu:select followup_logs_mv;
