-- One console session by the hash of its token: the row that created it
-- (the smallest version) and whether any row revoked it.
-- args: sid_hash=0f1e
SELECT argMin(login, version), argMin(tenant, version), argMin(csrf, version),
    argMin(created_ms, version), argMin(expires_ms, version), max(revoked)
FROM console_sessions
WHERE sid_hash = @sid_hash
GROUP BY sid_hash
