-- The tag library of each tenant, folded from tag.defined (subject = tag id).
-- A tag.defined is the whole definition of the tag at its time: an absent
-- group is "no group", an absent order 0, an absent deleted false (see
-- docs/decisions.md, "Tags"). Every field is last writer wins on the
-- (time_ns, id, source) key, so redelivery and order change nothing.
CREATE TABLE IF NOT EXISTS tag_library_state (
    tenant String,
    tag_id String,
    name AggregateFunction(argMax, String, Tuple(Int64, String, String)),
    tag_group AggregateFunction(argMax, String, Tuple(Int64, String, String)),
    tag_order AggregateFunction(argMax, Int64, Tuple(Int64, String, String)),
    deleted AggregateFunction(argMax, UInt8, Tuple(Int64, String, String)),
    first_ns AggregateFunction(min, Int64),
    last_ns AggregateFunction(max, Int64)
) ENGINE = AggregatingMergeTree()
ORDER BY (tenant, tag_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS tag_library_state_mv TO tag_library_state AS
SELECT
    tenant,
    subject AS tag_id,
    argMaxState(name, (time_ns, id, source)) AS name,
    argMaxState(tag_group, (time_ns, id, source)) AS tag_group,
    argMaxState(tag_order, (time_ns, id, source)) AS tag_order,
    argMaxState(deleted, (time_ns, id, source)) AS deleted,
    minState(time_ns) AS first_ns,
    maxState(time_ns) AS last_ns
FROM events
WHERE type = 'tag.defined'
GROUP BY tenant, tag_id;
