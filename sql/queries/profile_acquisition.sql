-- How one customer was acquired: the first contact.added over all their ids
-- (first on (time_ns, id, source)); zeros and '' when never added.
-- args: tenant=demo ids=[wm_c1,o_u1]
SELECT
    argMinMerge(add_way) AS add_way,
    argMinMerge(channel) AS channel,
    argMinMerge(staff_id) AS added_by,
    minMerge(added_ns) AS added_ns
FROM acquisition_state
WHERE tenant = @tenant AND contact_id IN (SELECT arrayJoin(@ids))
