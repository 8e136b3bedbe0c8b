-- The tenant's recent claims, releases and transfers (time_ns >= since_ns),
-- which the claim rules count: claims per rep per day (to side), releases
-- per rep and customer (from side, for the cool-down), transfers per
-- customer (to side, or from side when the transfer went to the pool).
-- args: tenant=demo since_ns=0
SELECT staff, contact_id, time_ns, id, source, reason, holds
FROM assignee_events
WHERE tenant = @tenant AND type = 'assignee.changed' AND time_ns >= @since_ns
  AND reason IN ('claim', 'release', 'transfer')
LIMIT 1 BY staff, contact_id, time_ns, id, source, holds
