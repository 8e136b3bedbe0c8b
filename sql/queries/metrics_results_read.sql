-- The stored counts of series @num (and @den, '' for none) on the days
-- [from, to] (days since 1970-01-01), one row per tenant with its days and
-- values as arrays; per (tenant, day) the latest computation wins (the
-- caller answers only for tenants whose latest computation is fresh).
-- tenant '' = all.
-- args: tenant=demo num=dau den=mau from=20400 to=20500
SELECT tenant, groupArray(d), groupArray(n), groupArray(m)
FROM (
    SELECT tenant, toUInt32(toUInt16(day)) AS d,
        argMax(multiIf(@num = 'dau', dau, @num = 'wau', wau, @num = 'mau', mau, @num = 'paid_dau', paid_dau,
            @num = 'paid_mau', paid_mau, @num = 'new_dau', new_dau, @num = 'customer_dau', customer_dau,
            @num = 'customer_mau', customer_mau, @num = 'calendar_mau', calendar_mau, toUInt32(0)), computed_ns) AS n,
        argMax(if(@den = 'mau', mau, toUInt32(0)), computed_ns) AS m
    FROM metrics_results
    WHERE (@tenant = '' OR tenant = @tenant)
      AND toUInt16(day) >= toUInt16(@from) AND toUInt16(day) <= toUInt16(@to)
    GROUP BY tenant, day
)
GROUP BY tenant
