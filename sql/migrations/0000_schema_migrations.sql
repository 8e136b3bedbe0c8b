-- The ledger of applied migrations. Every statement here is idempotent:
-- `siyu migrate` runs this file first, always, then reads the ledger.
CREATE TABLE IF NOT EXISTS schema_migrations (
    version UInt32,
    name String,
    applied_at DateTime
) ENGINE = ReplacingMergeTree()
ORDER BY version;
