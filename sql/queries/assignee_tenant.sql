-- The assignee state of a tenant's customers (all of them, or one when
-- contact_id is not empty), folded from assignee_state: the first adder
-- (first contact.added on (time_ns, id, source)), the latest
-- assignee.changed (its to_staff_id and key; an empty last_id: none yet)
-- and the last follow-up. The assignee is last_to when there was a change,
-- else first_staff (followup.FoldAssignees is the same fold in Go).
-- args: tenant=demo contact_id=
SELECT contact_id, first_staff, first_ns, last_to,
       tupleElement(last_key, 1) AS last_ns, tupleElement(last_key, 2) AS last_id,
       tupleElement(last_key, 3) AS last_source, last_followup_ns
FROM (
    SELECT
        contact_id,
        argMinIfMerge(first_staff) AS first_staff,
        minIfMerge(first_ns) AS first_ns,
        argMaxIfMerge(last_to) AS last_to,
        argMaxIfMerge(last_key) AS last_key,
        maxIfMerge(last_followup_ns) AS last_followup_ns
    FROM assignee_state
    WHERE tenant = @tenant AND (@contact_id = '' OR contact_id = @contact_id)
    GROUP BY contact_id
)
