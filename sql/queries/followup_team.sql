-- The reps whose current manager is manager_id: their latest
-- staff.manager_set (subject = the rep, staff_id = the manager) names it
-- and is not deleted.
-- args: tenant=demo manager_id=m1
SELECT rep_id
FROM (
    SELECT
        subject AS rep_id,
        argMax(staff_id, (time_ns, id, source)) AS manager,
        argMax(deleted, (time_ns, id, source)) AS gone
    FROM followup_facts
    WHERE tenant = @tenant AND type = 'staff.manager_set'
    GROUP BY subject
)
WHERE manager = @manager_id AND gone = 0
ORDER BY rep_id
