-- The WeCom callback settings of one tenant: the latest write.
-- args: tenant=demo
SELECT corp_id, token, encoding_aes_key, updated_at
FROM wecom_config FINAL
WHERE tenant = @tenant
