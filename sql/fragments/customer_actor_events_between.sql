-- The events with time_ns in [@from_ns, @to_ns) whose actor is a customer
-- (a message in), by the actor rules of metrics.md ("Who is active"), as
-- the views of migrations 0005, 0010 and 0012 select them. Included by
-- rebuild_customer_active_days and rebuild_customer_active_bits.
FROM events
WHERE time_ns >= toInt64(@from_ns) AND time_ns < toInt64(@to_ns)
  AND type = 'chat.message' AND direction = 'in'
