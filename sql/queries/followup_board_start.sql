-- The smallest sort key at or after from_ns among the tenant's follow-ups
-- (kind 4 rows of contact_facts; max Int64 when none): where the board's
-- first window starts, rather than at the beginning of time.
-- args: tenant=demo from_ns=0
SELECT if(count() = 0, toInt64(9223372036854775807), min(sort_ns))
FROM contact_facts
PREWHERE tenant = @tenant AND kind = 4 AND sort_ns >= @from_ns
