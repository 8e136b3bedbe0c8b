-- The first-ever active day of each staff member whose first day lies in
-- [from, to] (days since 1970-01-01); tenant '' = all. The first day is the
-- lowest bit of the lowest block with a bit set (migration 0012): exact.
-- args: tenant=demo from=20400 to=20500
SELECT tenant, staff_id, first
FROM (
    SELECT tenant, staff_id, toUInt32(min(block * 64 + toUInt16(round(log2(toFloat64(bitAnd(b, bitNot(b) + 1))))))) AS first
    FROM (
        SELECT tenant, staff_id, block, groupBitOrMerge(bits) AS b
        FROM staff_active_bits
        WHERE @tenant = '' OR tenant = @tenant
        GROUP BY tenant, staff_id, block
    )
    WHERE b != 0
    GROUP BY tenant, staff_id
)
WHERE first >= toUInt32(@from) AND first <= toUInt32(@to)
