-- Each customer's last inbound chat message (profile_state.last_in_ns),
-- for the memory board (followup/boards.go); 0 rows are left out.
-- args: tenant=demo
SELECT contact_id, last_in_ns
FROM (
    SELECT contact_id, maxIfMerge(last_in_ns) AS last_in_ns
    FROM profile_state
    WHERE tenant = @tenant
    GROUP BY contact_id
)
WHERE last_in_ns > 0
