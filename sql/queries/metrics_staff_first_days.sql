-- The first-ever active day of each staff member whose first day lies in
-- [from, to]; tenant '' = all. The first day is the least of the staff
-- member's active days: exact, and one materialized view fewer on every
-- insert (migration 0009).
-- args: tenant=demo from=2025-10-01 to=2025-11-30
SELECT tenant, staff_id, first
FROM (
    SELECT tenant, staff_id, min(day) AS first
    FROM staff_active_days
    WHERE @tenant = '' OR tenant = @tenant
    GROUP BY tenant, staff_id
)
WHERE first >= toDate(@from) AND first <= toDate(@to)
