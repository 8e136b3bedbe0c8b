-- Every relation (contact, staff) of each customer of a tenant, for
-- cdp.Memory: its latest event by (time_ns, id, source) — live or not, and
-- who ended it — its latest time and its first contact.added, as
-- profile_read's part 2 reads them. The marker as in segment_filter_base.
-- args: tenant=demo
SELECT
    contact_id,
    staff_id,
    argMax(id, (time_ns, id, source)) AS last_id,
    argMax(source, (time_ns, id, source)) AS last_source,
    argMax(removed_by, (time_ns, id, source)) AS ended_by,
    argMax(live, (time_ns, id, source)) AS is_live,
    max(time_ns) AS since,
    minIf(time_ns, type = 'contact.added') AS first_added
FROM relation_events
WHERE tenant = @tenant AND /*contacts*/ 1
GROUP BY contact_id, staff_id
