-- The WeCom settings of one tenant (callbacks, sign-in, sidebar): the latest write.
-- args: tenant=demo
SELECT corp_id, token, encoding_aes_key, agent_id, secret, updated_at
FROM wecom_config FINAL
WHERE tenant = @tenant
