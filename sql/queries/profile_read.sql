-- The whole profile of one customer (the ids of one person) in one round
-- trip: the six reads of profile_get, profile_relations, profile_tags,
-- profile_acquisition, profile_facts and profile_chat_window as typed
-- sub-selects of one UNION ALL, each row tagged by part and padded to one
-- shape (five strings s1..s5, eight integers n1..n8). cdp.Profiles.Get
-- dispatches the rows by part (cdp/profile_read.go documents each layout).
-- Every part reads only rollups, by primary key (tenant, contact_id ...):
-- one query costs ClickHouse one parse, one plan and one set of threads
-- instead of six (docs/decisions.md, P13).
--   part 1 scalars      s: name, unionid, corp_name, stage
--                       n: first, last, msgs_in, msgs_out, last_in, last_out, last_fu, next_fu
--   part 2 relation     s: contact_id, staff_id, last_id, last_source, ended_by
--                       n: live, since, first_added
--   part 3 tag          s: tag_id, name, group          n: since
--   part 4 acquisition  s: channel, added_by            n: add_way, added_at
--   part 5 facts        s: phone                        n: followups, gender
--   part 6 chat window  n: in_7d, out_7d, in_30d, out_30d
-- Part 1 has no row when the tenant has no event of any of the ids.
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
    tag_name AS s2,
    tag_group AS s3,
    '' AS s4, '' AS s5,
    since_ns AS n1,
    toInt64(0) AS n2, toInt64(0) AS n3, toInt64(0) AS n4, toInt64(0) AS n5, toInt64(0) AS n6,
    toInt64(0) AS n7, toInt64(0) AS n8
FROM (
    SELECT tag_id, max(since) AS since_ns
    FROM (
        SELECT contact_id, tag_id, argMaxMerge(present) AS is_on, maxMerge(since_ns) AS since
        FROM contact_tag_state
        WHERE tenant = @tenant AND contact_id IN (SELECT arrayJoin(@ids))
        GROUP BY contact_id, tag_id
    )
    WHERE is_on = 1
    GROUP BY tag_id
) AS on_contact
ANY LEFT JOIN (
    SELECT
        tag_id,
        argMaxMerge(name) AS tag_name,
        argMaxMerge(tag_group) AS tag_group,
        argMaxMerge(deleted) AS tag_deleted
    FROM tag_library_state
    WHERE tenant = @tenant AND tag_id IN (
        SELECT tag_id FROM contact_tag_state WHERE tenant = @tenant AND contact_id IN (SELECT arrayJoin(@ids)))
    GROUP BY tag_id
) AS library USING tag_id
WHERE tag_deleted = 0
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
    toInt64(uniqExactIfMerge(followups)) AS n1,
    argMaxIfMerge(gender) AS n2,
    toInt64(0) AS n3, toInt64(0) AS n4, toInt64(0) AS n5, toInt64(0) AS n6, toInt64(0) AS n7,
    toInt64(0) AS n8
FROM contact_day_state
WHERE tenant = @tenant AND contact_id IN (SELECT arrayJoin(@ids))
UNION ALL
SELECT
    toUInt8(6) AS part,
    '' AS s1, '' AS s2, '' AS s3, '' AS s4, '' AS s5,
    toInt64(sumIf(msgs_in, day >= toDate(@d7))) AS n1,
    toInt64(sumIf(msgs_out, day >= toDate(@d7))) AS n2,
    toInt64(sum(msgs_in)) AS n3,
    toInt64(sum(msgs_out)) AS n4,
    toInt64(0) AS n5, toInt64(0) AS n6, toInt64(0) AS n7, toInt64(0) AS n8
FROM (
    SELECT day, uniqExactIfMerge(msgs_in) AS msgs_in, uniqExactIfMerge(msgs_out) AS msgs_out
    FROM contact_day_state
    WHERE tenant = @tenant AND contact_id IN (SELECT arrayJoin(@ids))
      AND day >= toDate(@d30) AND day <= toDate(@today)
    GROUP BY day
)
