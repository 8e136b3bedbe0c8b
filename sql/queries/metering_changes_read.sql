-- The stored daily meter changes (migration 0014) up to the day `to`, in
-- the shape of metering_daily_changes.sql: days before `from` folded into
-- one row on from − 1. Per (tenant, day) the latest computation wins (the
-- caller answers only for tenants whose latest computation is fresh).
-- tenant '' = all.
-- args: tenant=demo from=2026-10-01 to=2026-10-31
SELECT
    tenant,
    if(day < toDate(@from), toDate(@from) - 1, day) AS bucket,
    sum(tc) AS total_change,
    sum(if(day < toDate(@from), toUInt64(0), l)) AS lost,
    sum(if(day < toDate(@from), toUInt64(0), a)) AS added,
    sum(if(day < toDate(@from), toUInt64(0), k)) AS linked
FROM (
    SELECT tenant, day, argMax(total_change, computed_ns) AS tc, argMax(lost, computed_ns) AS l,
        argMax(added, computed_ns) AS a, argMax(linked, computed_ns) AS k
    FROM metering_changes
    WHERE (@tenant = '' OR tenant = @tenant) AND day <= toDate(@to)
    GROUP BY tenant, day
)
GROUP BY tenant, bucket
