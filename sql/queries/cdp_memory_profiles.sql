-- The profile facts a segment tests, one row per customer of a tenant, for
-- cdp.Memory: the whole tenant when it loads (the marker stays `1`), or
-- the customers whose events arrived since, in chunks (the marker becomes
-- a contact id range and set). The columns of segment_filter_base.
-- args: tenant=demo
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
WHERE tenant = @tenant AND /*contacts*/ 1
