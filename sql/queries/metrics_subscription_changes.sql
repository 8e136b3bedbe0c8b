-- Every subscription change; tenant '' = all. Duplicates are harmless: the
-- timeline keeps the greatest (time_ns, id, source).
-- args: tenant=demo
SELECT tenant, time_ns, id, source, plan, paid
FROM subscription_changes
WHERE @tenant = '' OR tenant = @tenant
