-- MAU per day over [from, to] (every tenant), straight from raw `events`:
-- each distinct (tenant, staff, day) counts on the 30 days it opens. The
-- bench's side-by-side comparison with the rollups (bench/metrics.go).
-- args: from=2025-10-01 to=2025-11-30
SELECT d, uniqExact(tenant, staff) AS n
FROM (
    SELECT tenant, staff, day + i AS d
    FROM (
        SELECT DISTINCT
            tenant,
            toDate(toDateTime(intDiv(time_ns, 1000000000)), 'Asia/Shanghai') AS day,
            if(type = 'staff.active', subject, staff_id) AS staff
        FROM events
        WHERE time_ns >= toInt64(toUInt32(toDateTime(toDate(@from))) - 31 * 86400) * 1000000000
          AND time_ns < toInt64(toUInt32(toDateTime(toDate(@to))) + 2 * 86400) * 1000000000
          AND (type IN ('staff.active', 'contact.added', 'contact.updated', 'followup.logged', 'followup.stage_changed')
            OR (type = 'contact.removed' AND removed_by = 'staff')
            OR (type = 'chat.message' AND direction = 'out')
            OR (type IN ('tag.added', 'tag.removed') AND staff_id != ''))
    )
    ARRAY JOIN range(30) AS i
)
WHERE d >= toDate(@from) AND d <= toDate(@to)
GROUP BY d
ORDER BY d
