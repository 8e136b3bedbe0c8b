-- The API key with this hash, unless revoked.
-- args: key_hash=0f1e
SELECT tenant, role, staff_id, name
FROM api_keys FINAL
WHERE key_hash = @key_hash AND revoked = 0
