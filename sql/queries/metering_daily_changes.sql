-- The daily changes of the contact meters of every tenant (tenant '' = all)
-- from relation_events before end_ns (the end of the last day asked for):
-- per (tenant, day) the net change of contacts_total and the contacts lost,
-- new and acquired through a link on that day. Days before `from` are
-- folded into one row on from − 1, whose total_change is the total at its
-- end. metering.Service runs the totals forward; docs/decisions.md M7.
--
-- Per contact (one GROUP BY over relation_events), as metering.Compute
-- does: its rows sorted by (staff, time, id, source) give each row the
-- previous state of its own pair, so a row's change of the contact's count
-- of live relations is live − previous (0 for a redelivered row, which sits
-- next to its twin, and for a no-op); the non-zero changes sorted by event
-- (time, id, source), starts before ends within one transfer, and summed up
-- give the count after each; a flip is a change that takes the count from
-- 0 or to 0. A contact is lost on D when its last flip of D ends its live
-- relations with a contact.removed by the customer.
-- args: tenant=demo from=2026-10-01 end_ns=1790000000000000000
SELECT
    tenant,
    if(day < toDate(@from), toDate(@from) - 1, day) AS bucket,
    sum(tupleElement(x, 2)) AS total_change,
    sum(if(day < toDate(@from), 0, tupleElement(x, 3))) AS lost,
    sum(if(day < toDate(@from), 0, tupleElement(x, 4))) AS added,
    sum(if(day < toDate(@from), 0, tupleElement(x, 5))) AS linked
FROM (
    SELECT tenant, tupleElement(x, 1) AS day, x
    FROM (
        SELECT
            tenant,
            arrayMap(t -> toDate(toDateTime(intDiv(tupleElement(t, 1), 1000000000)), 'Asia/Shanghai'), flips) AS flip_days,
            arrayConcat(
                arrayMap((t, d, next) -> (d, -tupleElement(t, 4),
                        toUInt64(d != next AND tupleElement(t, 4) = 1 AND tupleElement(t, 5) = 1), toUInt64(0), toUInt64(0)),
                    flips, flip_days, arrayPushBack(arrayPopFront(flip_days), toDate(0))),
                arrayFilter(f -> tupleElement(f, 4) + tupleElement(f, 5) > 0, [
                    (toDate(toDateTime(intDiv(add_ns, 1000000000)), 'Asia/Shanghai'), toInt64(0), toUInt64(0), toUInt64(has_add), toUInt64(0)),
                    (toDate(toDateTime(intDiv(link_ns, 1000000000)), 'Asia/Shanghai'), toInt64(0), toUInt64(0), toUInt64(0), toUInt64(has_link))
                ])) AS xs
        FROM (
            SELECT
                tenant, add_ns, has_add, link_ns, has_link,
                arrayMap(r -> tupleElement(r, 1), rs) AS staffs,
                arrayMap(r -> toInt64(tupleElement(r, 5)), rs) AS lives,
                arrayMap((s, ps, l, pl) -> l - if(s = ps, pl, 0),
                    staffs, arrayPushFront(arrayPopBack(staffs), ''), lives, arrayPushFront(arrayPopBack(lives), toInt64(0))) AS changes,
                arraySort(arrayFilter(t -> tupleElement(t, 4) != 0,
                    arrayMap((r, c) -> (tupleElement(r, 2), tupleElement(r, 3), tupleElement(r, 4), -c, tupleElement(r, 6)), rs, changes))) AS changed,
                arrayCumSum(arrayMap(t -> -tupleElement(t, 4), changed)) AS after,
                arrayFilter((t, a) -> (a + tupleElement(t, 4) = 0) != (a = 0), changed, after) AS flips
            FROM (
                SELECT
                    tenant,
                    arraySort(groupArray((staff_id, time_ns, id, source, live,
                        toUInt8(type = 'contact.removed' AND removed_by = 'customer')))) AS rs,
                    minIf(time_ns, type = 'contact.added') AS add_ns,
                    countIf(type = 'contact.added') > 0 AS has_add,
                    minIf(time_ns, type = 'contact.added' AND add_way = 16) AS link_ns,
                    countIf(type = 'contact.added' AND add_way = 16) > 0 AS has_link
                FROM relation_events
                WHERE (@tenant = '' OR tenant = @tenant) AND time_ns < toInt64(@end_ns)
                GROUP BY tenant, contact_id
            )
        )
    )
    ARRAY JOIN xs AS x
)
GROUP BY tenant, bucket
