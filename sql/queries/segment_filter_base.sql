-- One row per customer of a tenant with the scalar facts a segment may test:
-- the profile and the acquisition. The set-valued facts (tags, tag groups,
-- live relation staff) are not joined here: cdp.CompileSegment tests them
-- with `contact_id IN (...)` over the segment_*_members queries, which read
-- only the rows of the tag, group or staff a condition names. A segment's
-- members are selected over this, then their columns read with
-- segment_members.
-- args: tenant=demo
SELECT
    contact_id, first_ns, last_ns, name, unionid, corp_name, msgs_in, msgs_out,
    last_in_ns, last_out_ns, stage, last_followup_ns, next_followup_ns,
    add_way, channel, added_by
FROM (
    SELECT
        contact_id,
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
    WHERE tenant = @tenant
    GROUP BY contact_id
) AS profiles
ANY LEFT JOIN (
    SELECT
        contact_id,
        argMinMerge(add_way) AS add_way,
        argMinMerge(channel) AS channel,
        argMinMerge(staff_id) AS added_by
    FROM acquisition_state
    WHERE tenant = @tenant
    GROUP BY contact_id
) AS acquisition USING contact_id
