-- `siyu metrics rebuild`: re-derives customer_active_bits from the events with time_ns in
-- [from_ns, to_ns), as its view does (migrations 0005, 0010, 0012). The
-- table is idempotent, so rows already there are folded, not doubled.
-- args: from_ns=1790000000000000000 to_ns=1792000000000000000
INSERT INTO customer_active_bits (tenant, contact_id, block, bits)
SELECT
    tenant,
    subject AS contact_id,
    toUInt16(intDiv(toUInt16(toDate(toDateTime(intDiv(time_ns, 1000000000)), 'Asia/Shanghai')), 64)) AS block,
    groupBitOrState(bitShiftLeft(toUInt64(1), toUInt16(toDate(toDateTime(intDiv(time_ns, 1000000000)), 'Asia/Shanghai')) % 64)) AS bits
-- siyu:include customer_actor_events_between
GROUP BY tenant, contact_id, block
