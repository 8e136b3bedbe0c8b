-- The saved segments of one tenant, deleted ones included.
-- args: tenant=demo
-- siyu:include segment_state_merged
WHERE tenant = @tenant
GROUP BY segment_id
ORDER BY segment_id
