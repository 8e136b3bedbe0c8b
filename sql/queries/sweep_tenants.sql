-- The tenants the pool sweep visits: those that set pool rules (recycling)
-- or had a staff member depart (hand-over). A scan of the type column of
-- every event: the sweep runs every few minutes, not per request.
-- args:
SELECT DISTINCT tenant FROM events WHERE type IN ('pool.rules_set', 'staff.departed')
