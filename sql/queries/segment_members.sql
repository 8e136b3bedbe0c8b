-- The columns of a segment member page or export for the customers @ids
-- (an array of contact ids: ClickHouse parses an array of literals as one
-- literal, ten times faster than a tuple of 20,000 ids) of a
-- tenant, by contact id: the profile scalars, the staff holding a live
-- relation, the tags on the customer (a tag its library marks deleted is
-- not on anyone; one the library does not know yet is) and the
-- acquisition. Each subquery is narrowed to @ids, so that the primary keys
-- (tenant, contact_id) select only their rows; members are chosen with
-- segment_filter_base first. The state tables are read with FINAL (each
-- contact's states merged as background merges would: exact, and cheaper
-- than a GROUP BY). Joins are nested one per level: ClickHouse
-- 18.16 takes one JOIN per SELECT.
-- @lo and @hi are the least and greatest of @ids: every table here is
-- sorted by (tenant, contact_id), so the range confines each read to the
-- granules of the chunk's span of ids. An export reads its members in
-- sorted chunks, so together they read each table about once, where an
-- id set alone touched nearly every granule for every chunk
-- (docs/decisions.md, "Segments").
-- args: tenant=demo ids=[wm_c1] lo=wm_c1 hi=wm_c1
SELECT
    contact_id, name, corp_name, stage, channel, msgs_in, msgs_out, first_ns, last_ns,
    last_in_ns, live_staff, tag_ids
FROM (
    SELECT
        contact_id, first_ns, last_ns, name, unionid, corp_name, msgs_in, msgs_out,
        last_in_ns, last_out_ns, stage, last_followup_ns, next_followup_ns,
        live_staff, tag_ids, tag_groups
    FROM (
        SELECT
            contact_id, first_ns, last_ns, name, unionid, corp_name, msgs_in, msgs_out,
            last_in_ns, last_out_ns, stage, last_followup_ns, next_followup_ns, live_staff
        FROM (
            -- siyu:include profile_state_final
            WHERE tenant = @tenant AND contact_id >= @lo AND contact_id <= @hi AND contact_id IN (SELECT arrayJoin(@ids))
        ) AS profiles
        ANY LEFT JOIN (
            SELECT contact_id, groupArray(staff_id) AS live_staff
            FROM (
                SELECT contact_id, staff_id, argMax(live, (time_ns, id, source)) AS is_live
                FROM relation_events
                WHERE tenant = @tenant AND contact_id >= @lo AND contact_id <= @hi AND contact_id IN (SELECT arrayJoin(@ids))
                GROUP BY contact_id, staff_id
            )
            WHERE is_live = 1
            GROUP BY contact_id
        ) AS relations USING contact_id
    ) AS with_relations
    ANY LEFT JOIN (
        SELECT contact_id, groupArray(tag_id) AS tag_ids, groupArray(tag_group) AS tag_groups
        FROM (
            SELECT contact_id, tag_id, tag_group
            FROM (
                SELECT contact_id, tag_id, finalizeAggregation(present) AS is_on
                FROM contact_tag_state FINAL
                WHERE tenant = @tenant AND contact_id >= @lo AND contact_id <= @hi AND contact_id IN (SELECT arrayJoin(@ids))
            ) AS on_contact
            ANY LEFT JOIN (
                SELECT
                    tag_id,
                    argMaxMerge(tag_group) AS tag_group,
                    argMaxMerge(deleted) AS tag_deleted
                FROM tag_library_state
                WHERE tenant = @tenant
                GROUP BY tag_id
            ) AS library USING tag_id
            WHERE is_on = 1 AND tag_deleted = 0
        )
        GROUP BY contact_id
    ) AS tags USING contact_id
) AS with_tags
ANY LEFT JOIN (
    -- siyu:include acquisition_state_final
    WHERE tenant = @tenant AND contact_id >= @lo AND contact_id <= @hi AND contact_id IN (SELECT arrayJoin(@ids))
) AS acquisition USING contact_id
ORDER BY contact_id
