-- The active days of every staff member in the blocks [from_block, to_block] of
-- 64 days (migration 0012), one row per tenant holding one (blocks, bits)
-- pair of arrays per staff member: a series needs no actor ids, and thousands
-- of rows travel to Go instead of one per staff member. tenant '' = all.
-- args: tenant=demo from_block=320 to_block=322
SELECT tenant, groupArray(blocks) AS blocks, groupArray(bits) AS bits
FROM (
    SELECT tenant, staff_id, groupArray(block) AS blocks, groupArray(b) AS bits
    FROM (
        SELECT tenant, staff_id, block, groupBitOrMerge(bits) AS b
        FROM staff_active_bits
        WHERE (@tenant = '' OR tenant = @tenant)
          AND block >= toUInt16(@from_block) AND block <= toUInt16(@to_block)
        GROUP BY tenant, staff_id, block
    )
    GROUP BY tenant, staff_id
)
GROUP BY tenant
