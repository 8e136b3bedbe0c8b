-- The rep's day (issue 4): per-tenant stage lists, the history of stage
-- changes (for funnels), teams, and per-(rep, customer, day) chat facts (for
-- WeCom's rep statistics). Every table is idempotent under redelivery and order:
-- rows keyed by the event identity (ReplacingMergeTree) or min / argMin /
-- max / uniqExact states, so a duplicate or late event never moves a figure.
-- Each view is followed by its backfill from `events` (docs/decisions.md,
-- "Migrations").

-- The follow-up facts the day reads replay, one row per event, in one table
-- fed by one view (each view costs every insert): stage changes (funnel;
-- subject = the customer), stage lists (stages.defined; subject = the
-- tenant; `stages` is the comma-joined list, kept in the event's data, not
-- a lifted column of `events`) and team changes (staff.manager_set; subject
-- = the rep, staff_id = the manager). Readers take the latest by
-- (time_ns, id, source) or replay in that order.
CREATE TABLE IF NOT EXISTS followup_facts (
    tenant String,
    type String,
    subject String,
    time_ns Int64,
    id String,
    source String,
    staff_id String,
    stage String,
    stages String,
    deleted UInt8
) ENGINE = ReplacingMergeTree()
ORDER BY (tenant, type, subject, time_ns, source, id);

CREATE MATERIALIZED VIEW IF NOT EXISTS followup_facts_mv TO followup_facts AS
SELECT tenant, type, subject, time_ns, id, source, staff_id, stage,
       if(type = 'stages.defined', visitParamExtractString(data, 'stages'), '') AS stages, deleted
FROM events
WHERE type IN ('followup.stage_changed', 'stages.defined', 'staff.manager_set');

INSERT INTO followup_facts (tenant, type, subject, time_ns, id, source, staff_id, stage, stages, deleted)
-- siyu:select followup_facts_mv;

-- One row per (tenant, rep, day, customer): a WeCom chat is a (rep,
-- customer, day), day in Asia/Shanghai (decision 19). first_direction is the
-- direction of the chat's first message by (time_ns, id, source); the
-- chat is customer-initiated when it is 'in'.
CREATE TABLE IF NOT EXISTS rep_chat_days (
    tenant String,
    staff_id String,
    day Date,
    contact_id String,
    first_in_ns AggregateFunction(minIf, Int64, UInt8),
    first_out_ns AggregateFunction(minIf, Int64, UInt8),
    first_direction AggregateFunction(argMinIf, String, Tuple(Int64, String, String), UInt8),
    out_messages AggregateFunction(uniqExactIf, String, String, UInt8),
    added AggregateFunction(max, UInt8),
    removed_by_customer AggregateFunction(max, UInt8)
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (tenant, staff_id, day, contact_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS rep_chat_days_mv TO rep_chat_days AS
SELECT
    tenant,
    staff_id,
    toDate(toDateTime(intDiv(time_ns, 1000000000)), 'Asia/Shanghai') AS day,
    subject AS contact_id,
    minIfState(time_ns, toUInt8(type = 'chat.message' AND direction = 'in')) AS first_in_ns,
    minIfState(time_ns, toUInt8(type = 'chat.message' AND direction = 'out')) AS first_out_ns,
    argMinIfState(direction, (time_ns, id, source), toUInt8(type = 'chat.message')) AS first_direction,
    uniqExactIfState(source, id, toUInt8(type = 'chat.message' AND direction = 'out')) AS out_messages,
    maxState(toUInt8(type = 'contact.added')) AS added,
    maxState(toUInt8(type = 'contact.removed' AND removed_by = 'customer')) AS removed_by_customer
FROM events
WHERE type IN ('chat.message', 'contact.added') OR (type = 'contact.removed' AND removed_by = 'customer')
GROUP BY tenant, staff_id, day, contact_id;

INSERT INTO rep_chat_days (tenant, staff_id, day, contact_id, first_in_ns, first_out_ns, first_direction,
                           out_messages, added, removed_by_customer)
-- siyu:select rep_chat_days_mv;
