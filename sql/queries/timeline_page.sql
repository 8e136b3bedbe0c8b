-- One page of a customer's timeline: every event of the customer, newest
-- first, each event once (a redelivery is the same (source, id): LIMIT 1 BY
-- folds it even before the ReplacingMergeTree merges). Keyset on
-- (time_ns, source, id) descending: a page after the first passes the last
-- row's key; the first page passes before_ns = max Int64 and empty strings.
-- args: tenant=demo contact_id=wm_c1 before_ns=9223372036854775807 before_source= before_id= limit=50
SELECT time_ns, source, id, type, staff_id, from_staff_id, to_staff_id, removed_by,
       direction, msg_type, tag_id, channel, note, stage, next_at_ns, data
FROM events
WHERE tenant = @tenant AND subject = @contact_id
  AND (time_ns < @before_ns
       OR (time_ns = @before_ns AND (source < @before_source
                                     OR (source = @before_source AND id < @before_id))))
ORDER BY time_ns DESC, source DESC, id DESC
LIMIT 1 BY source, id
LIMIT @limit
