-- The assignee model (followup/): each customer has at most one assignee,
-- the rep responsible for following up. It starts as the staff member of
-- the customer's first contact.added and changes only by assignee.changed
-- (claim, assign, release, recycle, transfer, depart), last writer wins on
-- (time_ns, id, source). Friend relations (relation_events) are separate.
--
-- assignee_state: one row per customer (after merges), the fold itself.
-- An empty id in last_key means no assignee.changed yet: the first adder
-- holds the customer.
CREATE TABLE IF NOT EXISTS assignee_state (
    tenant String,
    contact_id String,
    first_staff AggregateFunction(argMinIf, String, Tuple(Int64, String, String), UInt8),
    first_ns AggregateFunction(minIf, Int64, UInt8),
    last_to AggregateFunction(argMaxIf, String, Tuple(Int64, String, String), UInt8),
    last_key AggregateFunction(argMaxIf, Tuple(Int64, String, String), Tuple(Int64, String, String), UInt8),
    last_followup_ns AggregateFunction(maxIf, Int64, UInt8)
) ENGINE = AggregatingMergeTree()
ORDER BY (tenant, contact_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS assignee_state_mv TO assignee_state AS
SELECT
    tenant,
    subject AS contact_id,
    argMinIfState(staff_id, (time_ns, id, source), toUInt8(type = 'contact.added')) AS first_staff,
    minIfState(time_ns, toUInt8(type = 'contact.added')) AS first_ns,
    argMaxIfState(to_staff_id, (time_ns, id, source), toUInt8(type = 'assignee.changed')) AS last_to,
    argMaxIfState((time_ns, id, source), (time_ns, id, source), toUInt8(type = 'assignee.changed')) AS last_key,
    maxIfState(time_ns, toUInt8(type = 'followup.logged')) AS last_followup_ns
FROM events
WHERE type IN ('contact.added', 'assignee.changed', 'followup.logged')
GROUP BY tenant, contact_id;

-- assignee_events: every side of an assignment, keyed by staff member
-- (`staff`: an alias staff_id would shadow the events column): the
-- adder of a contact.added (holds = 1), the to side (holds = 1) and the
-- from side (holds = 0) of an assignee.changed. A rep's board takes its
-- candidates here and checks them against assignee_state; the claim decider
-- reads the day's claims, recent releases and transfers here.
CREATE TABLE IF NOT EXISTS assignee_events (
    tenant String,
    staff String,
    contact_id String,
    time_ns Int64,
    id String,
    source String,
    type String,
    reason String,
    holds UInt8
) ENGINE = ReplacingMergeTree()
ORDER BY (tenant, staff, contact_id, time_ns, id, source, holds);

CREATE MATERIALIZED VIEW IF NOT EXISTS assignee_events_mv TO assignee_events AS
SELECT tenant, staff, subject AS contact_id, time_ns, id, source, type, reason, holds
FROM events
ARRAY JOIN
    [if(type = 'contact.added', staff_id, to_staff_id), from_staff_id] AS staff,
    [toUInt8(1), toUInt8(0)] AS holds
WHERE type IN ('contact.added', 'assignee.changed') AND staff != '';

-- Backfill from the event log (decision: a migration that adds a rollup
-- fills it), running each view's SELECT.
INSERT INTO assignee_state (tenant, contact_id, first_staff, first_ns, last_to, last_key, last_followup_ns)
-- siyu:select assignee_state_mv;

INSERT INTO assignee_events (tenant, staff, contact_id, time_ns, id, source, type, reason, holds)
-- siyu:select assignee_events_mv;
