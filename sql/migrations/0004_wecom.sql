-- WeCom callback settings per tenant (PUT /v1/wecom/config). The receiver
-- needs the Token and EncodingAESKey in the clear (they key the SHA-1
-- signature and AES-256), so unlike API keys they cannot be hashed: the API
-- never returns them, and access to this table is access to the callbacks.
-- A change writes a newer row; `version` is the write time in nanoseconds
-- (DateTime alone would tie two writes in one second). Read with FINAL.
CREATE TABLE IF NOT EXISTS wecom_config (
    tenant String,
    corp_id String,
    token String,
    encoding_aes_key String,
    updated_at DateTime,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY tenant;
