-- Raw events: every valid event exactly as the contract defines it (event/).
-- A redelivered event is byte-for-byte the same row, so ReplacingMergeTree
-- folds duplicates on merge; readers that need exact rows use FINAL or
-- aggregate with idempotent functions. Data fields the contract names are
-- lifted into columns; `present` is the bit set of the ones the producer sent
-- (bit numbers: event.Field, e.g. name = 7 → mask 128). Partitioned by month,
-- ordered for per-tenant, per-subject reads.
CREATE TABLE IF NOT EXISTS events (
    tenant String,
    subject String,
    time_ns Int64,
    source String,
    id String,
    type String,
    time DateTime MATERIALIZED toDateTime(intDiv(time_ns, 1000000000)),
    present UInt64,
    staff_id String,
    from_staff_id String,
    to_staff_id String,
    removed_by String,
    reason String,
    direction String,
    msg_type String,
    name String,
    remark String,
    description String,
    phone String,
    corp_name String,
    unionid String,
    state String,
    tag_id String,
    tag_group String,
    channel String,
    note String,
    stage String,
    app String,
    successor_staff_id String,
    plan String,
    add_way Int64,
    gender Int64,
    chars Int64,
    tag_order Int64,
    seats Int64,
    contact_cap Int64,
    next_at_ns Int64,
    deleted UInt8,
    paid UInt8,
    data String,
    ingested_at DateTime DEFAULT now()
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(time)
ORDER BY (tenant, subject, time_ns, source, id);
