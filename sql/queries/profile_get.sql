-- The scalar facts of one customer: the states of all their ids (one id, or
-- every id of a merged identity) merged as one, so that the answer is the
-- profile of the union of their events.
-- args: tenant=demo ids=[wm_c1,o_u1]
SELECT
    minMerge(first_ns) AS first_ns,
    maxMerge(last_ns) AS last_ns,
    argMaxIfMerge(name) AS name,
    argMaxIfMerge(unionid) AS unionid,
    argMaxIfMerge(corp_name) AS corp_name,
    uniqExactIfMerge(msgs_in) AS msgs_in,
    uniqExactIfMerge(msgs_out) AS msgs_out,
    maxIfMerge(last_in_ns) AS last_in_ns,
    maxIfMerge(last_out_ns) AS last_out_ns,
    argMaxIfMerge(stage) AS stage,
    maxIfMerge(last_followup_ns) AS last_followup_ns,
    argMaxIfMerge(next_followup_ns) AS next_followup_ns
FROM profile_state
WHERE tenant = @tenant AND contact_id IN (SELECT arrayJoin(@ids))
GROUP BY tenant
