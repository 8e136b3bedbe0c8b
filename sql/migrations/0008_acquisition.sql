-- How each customer was acquired: the first contact.added of the contact
-- (first on the (time_ns, id, source) key, so redelivery and order change
-- nothing), with its add_way (WeCom enum; 16 = acquisition link), its state
-- (the channel code of a "contact me" button or acquisition link) and the
-- staff member who added the customer. An absent add_way is stored as 0 and
-- an absent state as '' (the events table's defaults). Fed from events, not
-- from another view's target: ClickHouse 18.16 does not cascade views.
CREATE TABLE IF NOT EXISTS acquisition_state (
    tenant String,
    contact_id String,
    add_way AggregateFunction(argMin, Int64, Tuple(Int64, String, String)),
    channel AggregateFunction(argMin, String, Tuple(Int64, String, String)),
    staff_id AggregateFunction(argMin, String, Tuple(Int64, String, String)),
    added_ns AggregateFunction(min, Int64)
) ENGINE = AggregatingMergeTree()
ORDER BY (tenant, contact_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS acquisition_state_mv TO acquisition_state AS
SELECT
    tenant,
    subject AS contact_id,
    argMinState(add_way, (time_ns, id, source)) AS add_way,
    argMinState(state, (time_ns, id, source)) AS channel,
    argMinState(staff_id, (time_ns, id, source)) AS staff_id,
    minState(time_ns) AS added_ns
FROM events
WHERE type = 'contact.added'
GROUP BY tenant, contact_id;
