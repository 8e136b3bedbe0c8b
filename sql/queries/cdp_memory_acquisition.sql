-- The acquisition of each customer of a tenant (the first contact.added,
-- as acquisition_state folds it), for cdp.Memory; the marker as in
-- segment_filter_base.
-- args: tenant=demo
SELECT
    contact_id,
    finalizeAggregation(add_way) AS add_way,
    finalizeAggregation(channel) AS channel,
    finalizeAggregation(staff_id) AS added_by,
    finalizeAggregation(added_ns) AS added_ns
FROM acquisition_state FINAL
WHERE tenant = @tenant AND /*contacts*/ 1
