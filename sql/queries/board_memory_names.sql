-- Every event that names a tenant's customer, among the event types of the
-- profile (profile_state.name: the latest by (time_ns, id, source)), for
-- the memory board (followup/boards.go), which folds them by event key.
-- Name is data field 7 (event.FName): present bit 128.
-- args: tenant=demo
SELECT subject, time_ns, id, source, name
FROM events
PREWHERE tenant = @tenant AND bitAnd(present, 128) != 0
WHERE type IN ('contact.added', 'contact.updated', 'contact.removed', 'contact.transferred',
               'chat.message', 'tag.added', 'tag.removed', 'followup.logged', 'followup.stage_changed')
