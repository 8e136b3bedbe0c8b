-- A tenant's small settings (GET/PUT /v1/settings): for now whether reps
-- see customers' phones masked (138****8000). A change writes a newer row;
-- `version` is the write time in nanoseconds (DateTime alone would tie two
-- writes in one second); reads take argMax by version, which needs neither
-- FINAL nor a merge.
CREATE TABLE IF NOT EXISTS tenant_settings (
    tenant String,
    mask_phones_for_reps UInt8,
    updated_at DateTime,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY tenant;
