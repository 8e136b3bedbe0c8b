-- Console users and their sessions (auth/users.go). Every change writes a
-- whole new row with a larger version; reads take argMax(..., version) per
-- key with GROUP BY (not FINAL), so rows not merged yet read right.
-- A login is unique across the deployment (the ORDER BY key). Times that
-- decide whether a session is void are milliseconds since the epoch
-- (UInt64): DateTime has whole seconds, and a session signed in within the
-- second after "sign out everywhere" must not be voided by it.
CREATE TABLE IF NOT EXISTS console_users (
    login String,
    tenant String,
    name String,
    role String,
    staff_id String,
    password_hash String,
    disabled UInt8,
    sessions_after_ms UInt64,
    created_at DateTime,
    updated_at DateTime,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY login;

-- A session is the SHA-256 (hex) of its token; the token itself is never
-- stored. Signing out writes a row with revoked = 1 and a larger version
-- (its other columns may be empty: a revoked session is void whatever they
-- hold).
CREATE TABLE IF NOT EXISTS console_sessions (
    sid_hash String,
    login String,
    tenant String,
    csrf String,
    created_ms UInt64,
    expires_ms UInt64,
    revoked UInt8,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY sid_hash;
