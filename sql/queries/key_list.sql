-- The API keys of one tenant, revoked ones included, oldest first.
-- args: tenant=demo
SELECT key_hash, key_prefix, role, staff_id, name, created_at, revoked
FROM api_keys FINAL
WHERE tenant = @tenant
ORDER BY created_at, key_prefix
