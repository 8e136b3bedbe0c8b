-- The settings of one tenant: the latest write (no row: the defaults).
-- args: tenant=demo
SELECT argMax(mask_phones_for_reps, version), argMax(updated_at, version)
FROM tenant_settings
WHERE tenant = @tenant
GROUP BY tenant
