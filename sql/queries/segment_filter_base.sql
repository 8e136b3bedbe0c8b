-- One row per customer of a tenant with the profile facts a segment may
-- test. The set-valued facts (tags, tag groups, live relation staff) and
-- the acquisition (channel, add_way, acquired_by) are not joined here:
-- cdp.CompileSegment tests them with `contact_id IN (...)` over the
-- segment_*_members queries, which read only what a condition names (a
-- JOIN of the acquisition cost more than the whole rest of a count). A
-- segment's members are selected over this, then their columns read with
-- segment_members. FINAL merges each contact's states as background
-- merges would, so the result is exact whatever parts exist, and costs a
-- merge of sorted parts instead of a GROUP BY over every contact (a tenth
-- of the time on a merged table: docs/decisions.md, "Segments").
-- cdp.Memory reads it too: for a whole tenant (the marker stays `1`), or
-- for the customers whose events arrived since, in chunks (the marker
-- becomes a contact id range and set).
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
