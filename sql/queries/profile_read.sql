-- The whole profile of one customer (the ids of one person) in one round
-- trip: typed sub-selects of one UNION ALL, each row tagged by part and
-- padded to one shape (five strings s1..s5, eight integers n1..n8);
-- cdp/profile_read.go assembles them. Every part reads a rollup by primary
-- key (tenant, contact_id ...), never `events`. On ClickHouse 18.16 a query
-- costs about 1.5 ms of CPU before it reads anything, so the parts are as
-- few as the tables (docs/decisions.md, P13): contact_day_state is read
-- once for the follow-up count, gender, phone and both chat windows, and
-- tag names come as their own rows (part 6) instead of a JOIN.
--   part 1 scalars      s: name, unionid, corp_name, stage
--                       n: first, last, msgs_in, msgs_out, last_in, last_out, last_fu, next_fu
--   part 2 relation     s: contact_id, staff_id, last_id, last_source, ended_by
--                       n: live, since, first_added
--   part 3 tag on       s: tag_id                       n: since (latest change among the ids holding it)
--   part 4 acquisition  s: channel, added_by            n: add_way, added_at
--   part 5 day facts    s: phone                        n: followups, gender, in_7d, out_7d, in_30d, out_30d
--   part 6 tag library  s: tag_id, name, group          n: deleted (every tag ever on the ids)
-- Part 1 has no row when the tenant has no event of any of the ids. The
-- windows are reporting days [d7, today] and [d30, today] (an event lies in
-- one day, so per-day exact counts sum exactly).
-- args: tenant=demo ids=[wm_c1,o_u1] d7=2025-11-15 d30=2025-10-23 today=2025-11-21
SELECT
    toUInt8(1) AS part,
    argMaxIfMerge(name) AS s1,
    argMaxIfMerge(unionid) AS s2,
    argMaxIfMerge(corp_name) AS s3,
    argMaxIfMerge(stage) AS s4,
    '' AS s5,
    minMerge(first_ns) AS n1,
    maxMerge(last_ns) AS n2,
    toInt64(uniqExactIfMerge(msgs_in)) AS n3,
    toInt64(uniqExactIfMerge(msgs_out)) AS n4,
    maxIfMerge(last_in_ns) AS n5,
    maxIfMerge(last_out_ns) AS n6,
    maxIfMerge(last_followup_ns) AS n7,
    argMaxIfMerge(next_followup_ns) AS n8
FROM profile_state
WHERE tenant = @tenant AND contact_id IN (SELECT arrayJoin(@ids))
GROUP BY tenant
UNION ALL
SELECT
    toUInt8(2) AS part,
    contact_id AS s1,
    staff_id AS s2,
    argMax(id, (time_ns, id, source)) AS s3,
    argMax(source, (time_ns, id, source)) AS s4,
    argMax(removed_by, (time_ns, id, source)) AS s5,
    toInt64(argMax(live, (time_ns, id, source))) AS n1,
    max(time_ns) AS n2,
    minIf(time_ns, type = 'contact.added') AS n3,
    toInt64(0) AS n4, toInt64(0) AS n5, toInt64(0) AS n6, toInt64(0) AS n7, toInt64(0) AS n8
FROM relation_events
WHERE tenant = @tenant AND contact_id IN (SELECT arrayJoin(@ids))
GROUP BY contact_id, staff_id
UNION ALL
SELECT
    toUInt8(3) AS part,
    tag_id AS s1,
    '' AS s2, '' AS s3, '' AS s4, '' AS s5,
    max(since) AS n1,
    toInt64(0) AS n2, toInt64(0) AS n3, toInt64(0) AS n4, toInt64(0) AS n5, toInt64(0) AS n6,
    toInt64(0) AS n7, toInt64(0) AS n8
FROM (
    SELECT contact_id, tag_id, argMaxMerge(present) AS is_on, maxMerge(since_ns) AS since
    FROM contact_tag_state
    WHERE tenant = @tenant AND contact_id IN (SELECT arrayJoin(@ids))
    GROUP BY contact_id, tag_id
)
WHERE is_on = 1
GROUP BY tag_id
UNION ALL
SELECT
    toUInt8(4) AS part,
    argMinMerge(channel) AS s1,
    argMinMerge(staff_id) AS s2,
    '' AS s3, '' AS s4, '' AS s5,
    argMinMerge(add_way) AS n1,
    minMerge(added_ns) AS n2,
    toInt64(0) AS n3, toInt64(0) AS n4, toInt64(0) AS n5, toInt64(0) AS n6, toInt64(0) AS n7,
    toInt64(0) AS n8
FROM acquisition_state
WHERE tenant = @tenant AND contact_id IN (SELECT arrayJoin(@ids))
UNION ALL
SELECT
    toUInt8(5) AS part,
    argMaxIfMerge(phone) AS s1,
    '' AS s2, '' AS s3, '' AS s4, '' AS s5,
    toInt64(sum(followups)) AS n1,
    argMaxIfMerge(gender) AS n2,
    toInt64(sumIf(msgs_in, day >= toDate(@d7) AND day <= toDate(@today))) AS n3,
    toInt64(sumIf(msgs_out, day >= toDate(@d7) AND day <= toDate(@today))) AS n4,
    toInt64(sumIf(msgs_in, day >= toDate(@d30) AND day <= toDate(@today))) AS n5,
    toInt64(sumIf(msgs_out, day >= toDate(@d30) AND day <= toDate(@today))) AS n6,
    toInt64(0) AS n7, toInt64(0) AS n8
FROM (
    SELECT
        day,
        uniqExactIfMerge(msgs_in) AS msgs_in,
        uniqExactIfMerge(msgs_out) AS msgs_out,
        uniqExactIfMerge(followups) AS followups,
        argMaxIfMergeState(gender) AS gender,
        argMaxIfMergeState(phone) AS phone
    FROM contact_day_state
    WHERE tenant = @tenant AND contact_id IN (SELECT arrayJoin(@ids))
    GROUP BY day
)
UNION ALL
SELECT
    toUInt8(6) AS part,
    tag_id AS s1,
    argMaxMerge(name) AS s2,
    argMaxMerge(tag_group) AS s3,
    '' AS s4, '' AS s5,
    toInt64(argMaxMerge(deleted)) AS n1,
    toInt64(0) AS n2, toInt64(0) AS n3, toInt64(0) AS n4, toInt64(0) AS n5, toInt64(0) AS n6,
    toInt64(0) AS n7, toInt64(0) AS n8
FROM tag_library_state
WHERE tenant = @tenant AND tag_id IN (
    SELECT tag_id FROM contact_tag_state WHERE tenant = @tenant AND contact_id IN (SELECT arrayJoin(@ids)))
GROUP BY tag_id
