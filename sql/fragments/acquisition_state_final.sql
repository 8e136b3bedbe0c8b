-- The acquisition of every acquisition_state row, merged as background
-- merges would (FINAL), by contact: the includer adds its WHERE.
-- Included by segment_acquisition_members and segment_members.
SELECT
    contact_id,
    finalizeAggregation(add_way) AS add_way,
    finalizeAggregation(channel) AS channel,
    finalizeAggregation(staff_id) AS added_by
FROM acquisition_state FINAL
