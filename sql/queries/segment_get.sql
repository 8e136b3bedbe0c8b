-- One saved segment of a tenant, deleted or not.
-- args: tenant=demo segment_id=seg_1
-- siyu:include segment_state_merged
WHERE tenant = @tenant AND segment_id = @segment_id
GROUP BY segment_id
