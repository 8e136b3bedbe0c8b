-- How many customers are at each stage at end_ns: each customer's latest
-- stage change before end_ns (last writer wins on (time_ns, id, source)),
-- counted for the rep who made it; staff_id '' = every rep of the tenant.
-- args: tenant=demo staff_id= end_ns=9223372036854775807
SELECT stage, toUInt64(count()) AS customers
FROM (
    SELECT
        contact_id,
        argMax(stage, (time_ns, id, source)) AS stage,
        argMax(staff_id, (time_ns, id, source)) AS last_staff_id
    FROM stage_changes
    WHERE tenant = @tenant AND time_ns < @end_ns
    GROUP BY contact_id
)
WHERE @staff_id = '' OR last_staff_id = @staff_id
GROUP BY stage
ORDER BY stage
