-- The customers of a tenant whose acquisition (the first contact.added, as
-- acquisition_state folds it) meets a segment condition on channel,
-- add_way or acquired_by: cdp.CompileSegment puts the condition in place
-- of the /*condition*/ marker, as a whitelisted column, an operator and
-- placeholders. A contact without a contact.added has no row here; the
-- compiler tests such contacts against the defaults ('' and 0) itself.
-- FINAL merges the states of each contact as background merges would
-- (exact whatever parts exist), without a GROUP BY over every contact.
-- args: tenant=demo
SELECT contact_id
FROM (
    -- siyu:include acquisition_state_final
    WHERE tenant = @tenant
)
WHERE /*condition*/ 1
