-- The tag library of one tenant, deleted tags included.
-- args: tenant=demo
-- siyu:include tag_library_merged
WHERE tenant = @tenant
GROUP BY tag_id
ORDER BY tag_id
