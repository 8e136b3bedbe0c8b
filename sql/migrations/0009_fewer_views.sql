-- Every materialized view on `events` costs every insert. First days are
-- read as min(day) over staff_active_days (exact), and nothing reads a
-- customer's first day yet, so their views and tables go.
DROP TABLE IF EXISTS staff_first_day_mv;
DROP TABLE IF EXISTS staff_first_day;
DROP TABLE IF EXISTS customer_first_day_mv;
DROP TABLE IF EXISTS customer_first_day;
