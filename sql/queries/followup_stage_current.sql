-- How many customers are at each stage at end_ns, per rep: each customer's
-- latest stage change before end_ns (last writer wins on (time_ns, id,
-- source)), counted for the rep who made it. The caller keeps the reps it
-- covers (one, a team, or all).
-- args: tenant=demo end_ns=9223372036854775807
SELECT stage, last_staff_id, toUInt64(count()) AS customers
FROM (
    SELECT
        subject,
        argMax(stage, (time_ns, id, source)) AS stage,
        argMax(staff_id, (time_ns, id, source)) AS last_staff_id
    FROM followup_facts
    WHERE tenant = @tenant AND type = 'followup.stage_changed' AND time_ns < @end_ns
    GROUP BY subject
)
GROUP BY stage, last_staff_id
ORDER BY stage, last_staff_id
