-- The assignee state of a tenant's customers (all of them, or one when
-- contact_id is not empty), folded from contact_facts: the first adder
-- (first contact.added on (time_ns, id, source)), the latest
-- assignee.changed (its to_staff_id and key; an empty last_id: none yet)
-- and the last follow-up. The assignee is last_to when there was a change,
-- else first_staff (followup.FoldAssignees is the same fold in Go).
-- Customers with none of these facts (only chats, say) are left out. The
-- bounds are a key range ClickHouse 18.16 can use ('\xFF' sorts after every
-- UTF-8 id): `@contact_id = '' OR contact_id = @contact_id` read the whole
-- tenant for one customer.
-- args: tenant=demo contact_id=
SELECT contact_id, first_staff, first_ns, last_to,
       tupleElement(last_key, 1) AS last_ns, tupleElement(last_key, 2) AS last_id,
       tupleElement(last_key, 3) AS last_source, last_followup_ns
FROM (
    SELECT
        contact_id,
        argMinIf(staff, (key_ns, key_id, key_source), kind = 1) AS first_staff,
        minIf(key_ns, kind = 1) AS first_ns,
        argMaxIf(staff, (key_ns, key_id, key_source), kind = 2) AS last_to,
        argMaxIf((key_ns, key_id, key_source), (key_ns, key_id, key_source), kind = 2) AS last_key,
        maxIf(key_ns, kind = 3) AS last_followup_ns
    FROM contact_facts
    PREWHERE tenant = @tenant AND kind IN (1, 2, 3) AND sort_ns = 0 AND contact_id >= @contact_id
         AND contact_id <= if(@contact_id = '', '\xFF', @contact_id)
    GROUP BY contact_id
)
