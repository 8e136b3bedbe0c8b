-- The active days of each customer in [from, to], sorted; tenant '' = all.
-- args: tenant=demo from=2025-10-01 to=2025-11-30
SELECT tenant, contact_id, arraySort(groupUniqArray(day)) AS days
FROM customer_active_days
WHERE (@tenant = '' OR tenant = @tenant) AND day >= toDate(@from) AND day <= toDate(@to)
GROUP BY tenant, contact_id
