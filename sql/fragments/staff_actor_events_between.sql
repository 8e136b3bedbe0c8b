-- The events with time_ns in [@from_ns, @to_ns) whose actor is a staff
-- member, by the actor rules of metrics.md ("Who is active"), as the
-- views of migrations 0005, 0010 and 0012 select them. Included by
-- rebuild_staff_active_days and rebuild_staff_active_bits.
FROM events
WHERE time_ns >= toInt64(@from_ns) AND time_ns < toInt64(@to_ns)
  AND (type IN ('staff.active', 'contact.added', 'contact.updated', 'followup.logged', 'followup.stage_changed')
    OR (type = 'contact.removed' AND removed_by = 'staff')
    OR (type = 'chat.message' AND direction = 'out')
    OR (type IN ('tag.added', 'tag.removed') AND staff_id != ''))
