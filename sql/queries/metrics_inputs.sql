-- Per tenant, the latest time an insert into events carried one of its
-- events (migration 0013), and the server clock now; tenant '' = all.
-- args: tenant=demo
SELECT tenant, max(inserted_at), now()
FROM metrics_inputs
WHERE @tenant = '' OR tenant = @tenant
GROUP BY tenant
