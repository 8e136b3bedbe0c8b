-- Who has each tag, ordered by tag: the same fold as contact_tag_state
-- (is the tag on the contact, last writer wins on (time, id, source)), keyed
-- (tenant, tag_id, contact_id) so that a segment condition on a tag or a tag
-- group reads only the rows of its tags instead of scanning every tag of
-- the tenant (contact_tag_state's key starts with the contact, which the
-- profile reads need). Backfilled from `events` like every rollup.
CREATE TABLE IF NOT EXISTS tag_member_state (
    tenant String,
    tag_id String,
    contact_id String,
    present AggregateFunction(argMax, UInt8, Tuple(Int64, String, String))
) ENGINE = AggregatingMergeTree()
ORDER BY (tenant, tag_id, contact_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS tag_member_state_mv TO tag_member_state AS
SELECT
    tenant,
    tag_id,
    subject AS contact_id,
    argMaxState(toUInt8(type = 'tag.added'), (time_ns, id, source)) AS present
FROM events
WHERE type IN ('tag.added', 'tag.removed')
GROUP BY tenant, tag_id, contact_id;

INSERT INTO tag_member_state (tenant, tag_id, contact_id, present)
-- siyu:select tag_member_state_mv;
