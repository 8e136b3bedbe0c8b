-- The active days of every customer in the blocks [from_block, to_block] of
-- 64 days (migration 0012), one row per tenant holding one (blocks, bits)
-- pair of arrays per customer: a series needs no actor ids, and thousands
-- of rows travel to Go instead of one per customer. tenant '' = all.
-- args: tenant=demo from_block=320 to_block=322
SELECT tenant, groupArray(blocks) AS blocks, groupArray(bits) AS bits
FROM (
    SELECT tenant, contact_id, groupArray(block) AS blocks, groupArray(b) AS bits
    FROM (
        SELECT tenant, contact_id, block, groupBitOrMerge(bits) AS b
        FROM customer_active_bits
        WHERE (@tenant = '' OR tenant = @tenant)
          AND block >= toUInt16(@from_block) AND block <= toUInt16(@to_block)
        GROUP BY tenant, contact_id, block
    )
    GROUP BY tenant, contact_id
)
GROUP BY tenant
