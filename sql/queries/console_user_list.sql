-- The console users of one tenant (a login never changes tenant), by login.
-- args: tenant=demo
-- siyu:include console_user_latest
WHERE tenant = @tenant
GROUP BY login
ORDER BY login
