-- The tenant's departed staff members since since_ns, each with the
-- successor and event of their latest staff.departed: the hand-over sweep
-- moves what they still hold.
-- args: tenant=demo since_ns=0
SELECT subject AS staff_id,
       argMax(successor_staff_id, (time_ns, id, source)) AS successor,
       argMax(id, (time_ns, id, source)) AS event_id,
       max(time_ns) AS departed_ns
FROM events
WHERE tenant = @tenant AND type = 'staff.departed' AND time_ns >= @since_ns
GROUP BY staff_id
