-- The recorded usage lines of a period; tenant '' = all. The first row per
-- (tenant, period, meter, seq) wins, should two exports have raced.
-- args: tenant=demo period=2026-10
SELECT tenant, meter, seq, argMin(value, (exported_at, value)) AS value
FROM billing_exports
WHERE period = @period AND (@tenant = '' OR tenant = @tenant)
GROUP BY tenant, meter, seq
ORDER BY tenant, meter, seq
