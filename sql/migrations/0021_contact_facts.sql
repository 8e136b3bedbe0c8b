-- contact_facts (issue 4, the board at scale): the few facts a rep's board
-- needs for every candidate customer, as plain narrow rows instead of
-- aggregate states. The board took its candidates (20,000 of a rep in a
-- tenant of 1,000,000) from assignee_events and then merged the states of
-- assignee_state and profile_state for them: spread over the tenant's key
-- range, they touch nearly every granule, and deserializing ~1M rows of
-- argMax tuples and uniqExact sets took about a second. Plain rows filtered
-- by a set are scanned at memory speed (docs/decisions.md, "Board").
--
-- One row per fact event, keyed by the event identity (a redelivery is the
-- same row; ReplacingMergeTree folds it):
--   kind 1 contact.added     staff = the adder       (first adder holds)
--   kind 2 assignee.changed  staff = to_staff_id     (last writer wins)
--   kind 3 followup.logged   next_ns = next_at_ns    (latest sets the next)
--   kind 4 followup.logged   the same, again, placed by sort_ns: its next
--                            time (none: max Int64), the board's sort key
-- Readers fold by (key_ns, key_id, key_source), as followup.FoldAssignees.
-- Rows are sorted by kind, then sort_ns (0 except kind 4), then customer:
-- kinds 0-3 are point lookups by customer, and kind 4 is an index of
-- follow-ups by next time, so the board reads a window of next times
-- rather than the whole tenant (docs/decisions.md, "Board"). Granules of
-- 256 rows, as profile_state: the board folds a window's few customers by
-- point lookups, each of which reads a granule (8,192 rows: 14 ms for a
-- window at 200,000 customers; 256: 8 ms).
-- last_ns is the event's time when the event counts toward the profile's
-- last event time (profile_state.last_ns: the same types), else 0; every
-- other such event (chat messages, updates, tags, stage changes) is one
-- kind 0 row with an empty key, so that a customer's kind 0 rows share one
-- sorting key and merges keep only the newest (the version): max(last_ns)
-- over a customer's rows is its last event time, exact before and after
-- merges. last_ns is the version, hence UInt64 (events are from 1970 on:
-- event/decode.go refuses earlier times).
--
-- It replaces assignee_state (same facts, one view fewer on `events`):
-- the claim decider, the pool and the board read it.
CREATE TABLE IF NOT EXISTS contact_facts (
    tenant String,
    contact_id String,
    kind UInt8,
    sort_ns Int64,
    key_ns Int64,
    key_id String,
    key_source String,
    staff String,
    next_ns Int64,
    last_ns UInt64
) ENGINE = ReplacingMergeTree(last_ns)
ORDER BY (tenant, kind, sort_ns, contact_id, key_ns, key_id, key_source)
SETTINGS index_granularity = 256;

CREATE MATERIALIZED VIEW IF NOT EXISTS contact_facts_mv TO contact_facts AS
SELECT
    tenant,
    subject AS contact_id,
    kind,
    if(kind = 4, if(next_at_ns = 0, toInt64(9223372036854775807), next_at_ns), toInt64(0)) AS sort_ns,
    if(kind = 0, toInt64(0), time_ns) AS key_ns,
    if(kind = 0, '', id) AS key_id,
    if(kind = 0, '', source) AS key_source,
    multiIf(kind = 1, staff_id, kind = 2, to_staff_id, '') AS staff,
    if(kind >= 3, next_at_ns, toInt64(0)) AS next_ns,
    if(kind = 2 OR kind = 4, toUInt64(0), toUInt64(time_ns)) AS last_ns
FROM events
ARRAY JOIN if(type = 'followup.logged', [toUInt8(3), toUInt8(4)],
              [toUInt8(multiIf(type = 'contact.added', 1, type = 'assignee.changed', 2, 0))]) AS kind
WHERE type IN ('contact.added', 'contact.updated', 'contact.removed', 'contact.transferred',
               'chat.message', 'tag.added', 'tag.removed', 'followup.logged', 'followup.stage_changed',
               'assignee.changed');

-- Backfill: the view's query over every stored event.
INSERT INTO contact_facts (tenant, contact_id, kind, sort_ns, key_ns, key_id, key_source, staff, next_ns, last_ns)
-- siyu:select contact_facts_mv;

-- assignee_state is redundant now: its readers moved to contact_facts.
DROP TABLE IF EXISTS assignee_state_mv;

DROP TABLE IF EXISTS assignee_state;
