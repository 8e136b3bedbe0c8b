-- The last day with any staff activity (1970-01-01 when there is none).
-- args:
SELECT max(day) FROM staff_active_days
