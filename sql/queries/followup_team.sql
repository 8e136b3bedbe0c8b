-- The reps whose current manager is manager_id (their latest
-- staff.manager_set names it and is not deleted).
-- args: tenant=demo manager_id=m1
SELECT rep_id
FROM (
    SELECT
        rep_id,
        argMax(manager_id, (time_ns, id, source)) AS manager,
        argMax(deleted, (time_ns, id, source)) AS gone
    FROM staff_managers
    WHERE tenant = @tenant
    GROUP BY rep_id
)
WHERE manager = @manager_id AND gone = 0
ORDER BY rep_id
