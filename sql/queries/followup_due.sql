-- The customers whose next follow-up is scheduled before before_ns, per rep
-- holding a live relation with them (as followup_board; staff_id '' = every
-- rep of the tenant), for reminders and the daily digest. A customer held by
-- two reps is due for both.
-- args: tenant=demo staff_id= before_ns=9223372036854775807
SELECT staff_id, contact_id, name, stage, next_followup_ns
FROM (
    SELECT staff_id, contact_id
    FROM (
        SELECT staff_id, contact_id, argMax(live, (time_ns, id, source)) AS is_live
        FROM relation_events
        WHERE tenant = @tenant AND (@staff_id = '' OR staff_id = @staff_id)
        GROUP BY staff_id, contact_id
    )
    WHERE is_live = 1
) AS held
ANY INNER JOIN (
    SELECT contact_id, name, stage, next_followup_ns
    FROM (
        SELECT
            contact_id,
            argMaxIfMerge(name) AS name,
            argMaxIfMerge(stage) AS stage,
            argMaxIfMerge(next_followup_ns) AS next_followup_ns
        FROM profile_state
        WHERE tenant = @tenant AND (@staff_id = '' OR contact_id IN (
            SELECT contact_id FROM relation_events WHERE tenant = @tenant AND staff_id = @staff_id))
        GROUP BY contact_id
    )
    WHERE next_followup_ns > 0 AND next_followup_ns < @before_ns
) AS scheduled USING contact_id
ORDER BY staff_id, next_followup_ns, contact_id
