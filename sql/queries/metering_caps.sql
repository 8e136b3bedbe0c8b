-- Every subscription change with its contact cap; tenant '' = all.
-- Duplicates are harmless: the latest (time_ns, id, source) wins.
-- args: tenant=demo
SELECT tenant, time_ns, id, source, contact_cap
FROM subscription_changes
WHERE @tenant = '' OR tenant = @tenant
