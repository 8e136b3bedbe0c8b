-- The active days of each customer in the blocks [from_block,
-- to_block] of 64 days (migration 0012), one row per customer with its
-- blocks and their bits; tenant '' = all. metrics.Service turns the bits
-- into days.
-- args: tenant=demo from_block=320 to_block=322
SELECT tenant, contact_id, groupArray(block) AS blocks, groupArray(b) AS bits
FROM (
    SELECT tenant, contact_id, block, groupBitOrMerge(bits) AS b
    FROM customer_active_bits
    WHERE (@tenant = '' OR tenant = @tenant)
      AND block >= toUInt16(@from_block) AND block <= toUInt16(@to_block)
    GROUP BY tenant, contact_id, block
)
GROUP BY tenant, contact_id
