-- The active days of each staff member in [from, to], sorted; tenant '' = all.
-- args: tenant=demo from=2025-10-01 to=2025-11-30
SELECT tenant, staff_id, arraySort(groupUniqArray(day)) AS days
FROM staff_active_days
WHERE (@tenant = '' OR tenant = @tenant) AND day >= toDate(@from) AND day <= toDate(@to)
GROUP BY tenant, staff_id
