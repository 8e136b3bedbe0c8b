-- Every friend relation of one customer's ids, live or not, by contact id and
-- staff id, folded from the relation events (last writer wins on
-- (time_ns, id, source)): whether it is live, its latest event (time, id,
-- source: for an ended relation, the one that ended it) and that event's
-- removed_by ('customer' when the customer deleted the rep).
-- args: tenant=demo ids=[wm_c1,o_u1]
SELECT contact_id, staff_id, is_live, since_ns, first_added_ns, last_id, last_source, ended_by
FROM (
    SELECT
        contact_id,
        staff_id,
        argMax(live, (time_ns, id, source)) AS is_live,
        max(time_ns) AS since_ns,
        minIf(time_ns, type = 'contact.added') AS first_added_ns,
        argMax(id, (time_ns, id, source)) AS last_id,
        argMax(source, (time_ns, id, source)) AS last_source,
        argMax(removed_by, (time_ns, id, source)) AS ended_by
    FROM relation_events
    WHERE tenant = @tenant AND contact_id IN (SELECT arrayJoin(@ids))
    GROUP BY contact_id, staff_id
)
ORDER BY staff_id, contact_id
