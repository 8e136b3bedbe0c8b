-- `siyu metrics rebuild`: re-derives customer_active_days from the events with time_ns in
-- [from_ns, to_ns), as its view does (migrations 0005, 0010, 0012). The
-- table is idempotent, so rows already there are folded, not doubled.
-- args: from_ns=1790000000000000000 to_ns=1792000000000000000
INSERT INTO customer_active_days (tenant, day, contact_id)
SELECT tenant, toDate(toDateTime(intDiv(time_ns, 1000000000)), 'Asia/Shanghai') AS day, subject AS contact_id
-- siyu:include customer_actor_events_between
GROUP BY tenant, day, contact_id
