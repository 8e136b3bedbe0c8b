-- The app's settings for sign-in and the chat sidebar join the callback
-- settings (PUT /v1/wecom/config): WeCom's agentid of the self-built app
-- and its Secret, which fetch the access token behind OAuth, the QR login
-- and the JS-SDK tickets (wecom.APIClient). Like the Token, the Secret is
-- kept in the clear (WeCom's gettoken takes it as is): the API never returns
-- it, only whether it is set. Rows written before have agent 0 and no
-- secret: the tenant's sign-in is not configured until an admin sets them.
-- No IF NOT EXISTS: 18.16's ALTER does not parse it (checked; current
-- ClickHouse does), and the ledger applies a migration once.
ALTER TABLE wecom_config ADD COLUMN agent_id Int64 DEFAULT 0, ADD COLUMN secret String DEFAULT '';
