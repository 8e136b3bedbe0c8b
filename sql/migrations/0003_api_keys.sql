-- API keys, stored as SHA-256 hashes. A key is never stored in the clear.
-- Revocation writes a newer row (ReplacingMergeTree by updated_at); read with FINAL.
CREATE TABLE IF NOT EXISTS api_keys (
    key_hash String,
    key_prefix String,
    tenant String,
    role String,
    staff_id String,
    name String,
    revoked UInt8,
    created_at DateTime,
    updated_at DateTime
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY key_hash;
