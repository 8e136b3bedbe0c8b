-- One page of the tenant's customer pool: customers with no assignee (the
-- latest assignee.changed left them to nobody), ordered by contact_id,
-- with their name and last follow-up. Keyset: pass the last contact_id as
-- after ('' for the first page).
-- args: tenant=demo after= limit=50
SELECT contact_id, changed_ns, last_followup_ns
FROM (
    SELECT
        contact_id,
        argMaxIf(staff, (key_ns, key_id, key_source), kind = 2) AS last_to,
        argMaxIf((key_ns, key_id, key_source), (key_ns, key_id, key_source), kind = 2) AS last_key,
        tupleElement(last_key, 1) AS changed_ns,
        maxIf(key_ns, kind = 3) AS last_followup_ns
    FROM contact_facts
    PREWHERE tenant = @tenant AND kind IN (2, 3) AND sort_ns = 0 AND contact_id > @after
    GROUP BY contact_id
)
WHERE tupleElement(last_key, 2) != '' AND last_to = ''
ORDER BY contact_id
LIMIT @limit
