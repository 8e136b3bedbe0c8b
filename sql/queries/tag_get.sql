-- One tag of a tenant's library, deleted or not.
-- args: tenant=demo tag_id=t1
-- siyu:include tag_library_merged
WHERE tenant = @tenant AND tag_id = @tag_id
GROUP BY tag_id
