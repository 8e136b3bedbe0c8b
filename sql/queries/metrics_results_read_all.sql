-- Every stored series on the days [from, to] (days since 1970-01-01), one
-- row per tenant with its days and each column's values as arrays, in
-- metrics_results' column order: the several series of one page in one
-- read. Per (tenant, day) the latest computation wins (the caller answers
-- only for tenants whose latest computation is fresh). tenant '' = all.
-- args: tenant=demo from=20400 to=20500
SELECT tenant, groupArray(d), groupArray(v_dau), groupArray(v_wau), groupArray(v_mau),
    groupArray(v_paid_dau), groupArray(v_paid_mau), groupArray(v_new_dau),
    groupArray(v_customer_dau), groupArray(v_customer_mau), groupArray(v_calendar_mau)
FROM (
    SELECT tenant, toUInt32(toUInt16(day)) AS d,
        argMax(dau, computed_ns) AS v_dau, argMax(wau, computed_ns) AS v_wau,
        argMax(mau, computed_ns) AS v_mau, argMax(paid_dau, computed_ns) AS v_paid_dau,
        argMax(paid_mau, computed_ns) AS v_paid_mau, argMax(new_dau, computed_ns) AS v_new_dau,
        argMax(customer_dau, computed_ns) AS v_customer_dau, argMax(customer_mau, computed_ns) AS v_customer_mau,
        argMax(calendar_mau, computed_ns) AS v_calendar_mau
    FROM metrics_results
    WHERE (@tenant = '' OR tenant = @tenant)
      AND toUInt16(day) >= toUInt16(@from) AND toUInt16(day) <= toUInt16(@to)
    GROUP BY tenant, day
)
GROUP BY tenant
