-- Saved segments and bulk jobs, folded from the API's own events (see
-- docs/decisions.md, "Segments"). A segment.saved is the whole definition of
-- a segment at its time (name, definition JSON in `note`, deleted); a
-- job.progressed is the whole state of a job at its time (kind, state in
-- `stage`, processed and total in `data`, target in tag_id and note, error
-- in `data`; the views read `data` in place: a view over a subquery of
-- `events` does not see the inserted block on 18.16). Every field is last writer wins on (time_ns, id, source), so
-- redelivery and order change nothing; the API stamps each job event after
-- the one before, so the latest time is the latest state.
CREATE TABLE IF NOT EXISTS segment_state (
    tenant String,
    segment_id String,
    name AggregateFunction(argMax, String, Tuple(Int64, String, String)),
    definition AggregateFunction(argMax, String, Tuple(Int64, String, String)),
    deleted AggregateFunction(argMax, UInt8, Tuple(Int64, String, String)),
    created_by AggregateFunction(argMin, String, Tuple(Int64, String, String)),
    first_ns AggregateFunction(min, Int64),
    last_ns AggregateFunction(max, Int64)
) ENGINE = AggregatingMergeTree()
ORDER BY (tenant, segment_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS segment_state_mv TO segment_state AS
SELECT
    tenant,
    subject AS segment_id,
    argMaxState(name, (time_ns, id, source)) AS name,
    argMaxState(note, (time_ns, id, source)) AS definition,
    argMaxState(deleted, (time_ns, id, source)) AS deleted,
    argMinState(staff_id, (time_ns, id, source)) AS created_by,
    minState(time_ns) AS first_ns,
    maxState(time_ns) AS last_ns
FROM events
WHERE type = 'segment.saved'
GROUP BY tenant, segment_id;

INSERT INTO segment_state (tenant, segment_id, name, definition, deleted, created_by, first_ns, last_ns)
-- siyu:select segment_state_mv;

CREATE TABLE IF NOT EXISTS job_state (
    tenant String,
    job_id String,
    kind AggregateFunction(argMax, String, Tuple(Int64, String, String)),
    state AggregateFunction(argMax, String, Tuple(Int64, String, String)),
    processed AggregateFunction(argMax, Int64, Tuple(Int64, String, String)),
    total AggregateFunction(argMax, Int64, Tuple(Int64, String, String)),
    tag_id AggregateFunction(argMax, String, Tuple(Int64, String, String)),
    target AggregateFunction(argMax, String, Tuple(Int64, String, String)),
    error AggregateFunction(argMax, String, Tuple(Int64, String, String)),
    first_ns AggregateFunction(min, Int64),
    last_ns AggregateFunction(max, Int64)
) ENGINE = AggregatingMergeTree()
ORDER BY (tenant, job_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS job_state_mv TO job_state AS
SELECT
    tenant,
    subject AS job_id,
    argMaxState(visitParamExtractString(data, 'kind'), (time_ns, id, source)) AS kind,
    argMaxState(stage, (time_ns, id, source)) AS state,
    argMaxState(visitParamExtractInt(data, 'processed'), (time_ns, id, source)) AS processed,
    argMaxState(visitParamExtractInt(data, 'total'), (time_ns, id, source)) AS total,
    argMaxState(tag_id, (time_ns, id, source)) AS tag_id,
    argMaxState(note, (time_ns, id, source)) AS target,
    argMaxState(visitParamExtractString(data, 'fail_reason'), (time_ns, id, source)) AS error,
    minState(time_ns) AS first_ns,
    maxState(time_ns) AS last_ns
FROM events
WHERE type = 'job.progressed'
GROUP BY tenant, job_id;

INSERT INTO job_state (tenant, job_id, kind, state, processed, total, tag_id, target, error, first_ns, last_ns)
-- siyu:select job_state_mv;
