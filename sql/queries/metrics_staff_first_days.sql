-- The first-ever active day of each staff member whose first day lies in
-- [from, to]; tenant '' = all.
-- args: tenant=demo from=2025-10-01 to=2025-11-30
SELECT tenant, staff_id, first
FROM (
    SELECT tenant, staff_id, minMerge(first_day) AS first
    FROM staff_first_day
    WHERE @tenant = '' OR tenant = @tenant
    GROUP BY tenant, staff_id
)
WHERE first >= toDate(@from) AND first <= toDate(@to)
