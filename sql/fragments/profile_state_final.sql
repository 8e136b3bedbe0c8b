-- The scalar facts of every profile_state row, merged as background merges
-- would (FINAL), by contact: the includer adds its WHERE (tenant, contacts).
-- Included by segment_filter_base and segment_members.
SELECT
    contact_id,
    finalizeAggregation(first_ns) AS first_ns,
    finalizeAggregation(last_ns) AS last_ns,
    finalizeAggregation(name) AS name,
    finalizeAggregation(unionid) AS unionid,
    finalizeAggregation(corp_name) AS corp_name,
    finalizeAggregation(msgs_in) AS msgs_in,
    finalizeAggregation(msgs_out) AS msgs_out,
    finalizeAggregation(last_in_ns) AS last_in_ns,
    finalizeAggregation(last_out_ns) AS last_out_ns,
    finalizeAggregation(stage) AS stage,
    finalizeAggregation(last_followup_ns) AS last_followup_ns,
    finalizeAggregation(next_followup_ns) AS next_followup_ns
FROM profile_state FINAL
