-- `siyu metrics rebuild`: re-derives staff_active_days from the events with time_ns in
-- [from_ns, to_ns), as its view does (migrations 0005, 0010, 0012). The
-- table is idempotent, so rows already there are folded, not doubled.
-- args: from_ns=1790000000000000000 to_ns=1792000000000000000
INSERT INTO staff_active_days (tenant, day, staff_id)
SELECT tenant, toDate(toDateTime(intDiv(time_ns, 1000000000)), 'Asia/Shanghai') AS day, if(type = 'staff.active', subject, staff_id) AS staff_id
FROM events
WHERE time_ns >= toInt64(@from_ns) AND time_ns < toInt64(@to_ns)
  AND (type IN ('staff.active', 'contact.added', 'contact.updated', 'followup.logged', 'followup.stage_changed')
    OR (type = 'contact.removed' AND removed_by = 'staff')
    OR (type = 'chat.message' AND direction = 'out')
    OR (type IN ('tag.added', 'tag.removed') AND staff_id != ''))
GROUP BY tenant, day, staff_id
