-- DAU per day over [from, to] (every tenant), straight from raw `events`:
-- the bench's side-by-side comparison with the rollups (bench/metrics.go).
-- Same actor rules and day expression as staff_active_days_mv (0005);
-- identities are (tenant, staff) pairs, as in metrics.Compute.
-- args: from=2025-10-01 to=2025-11-30
SELECT day, uniqExact(tenant, staff) AS n
FROM (
    SELECT
        tenant,
        toDate(toDateTime(intDiv(time_ns, 1000000000)), 'Asia/Shanghai') AS day,
        if(type = 'staff.active', subject, staff_id) AS staff
    FROM events
    WHERE time_ns >= toInt64(toUInt32(toDateTime(toDate(@from))) - 86400) * 1000000000
      AND time_ns < toInt64(toUInt32(toDateTime(toDate(@to))) + 2 * 86400) * 1000000000
      AND (type IN ('staff.active', 'contact.added', 'contact.updated', 'followup.logged', 'followup.stage_changed')
        OR (type = 'contact.removed' AND removed_by = 'staff')
        OR (type = 'chat.message' AND direction = 'out')
        OR (type IN ('tag.added', 'tag.removed') AND staff_id != ''))
)
WHERE day >= toDate(@from) AND day <= toDate(@to)
GROUP BY day
ORDER BY day
