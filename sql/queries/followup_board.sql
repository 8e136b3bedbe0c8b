-- One page of a rep's follow-up board: the customers assigned to the rep
-- (candidates from assignee_events, checked against the fold in
-- assignee_state, as assignee_tenant), with their profile summary. The
-- check filters the folded profiles rather than nesting inside the
-- profile_state lookup: nested, ClickHouse 18.16 takes twice as long.
-- Ordered by sort_key, contact_id: the next follow-up time (never
-- scheduled: last), or for view "recent" the last event time, newest first
-- (-last_ns). Views: due_today [day_start_ns, day_end_ns), overdue before
-- day_start_ns, upcoming from day_end_ns on, recent and all: everyone.
-- Keyset: pass the last row's (sort_key, contact_id) as (after_key,
-- after_id); the first page passes after_key = -max Int64 and after_id = ''.
-- args: tenant=demo staff_id=s2 view=all day_start_ns=0 day_end_ns=0 after_key=-9223372036854775807 after_id= limit=50
SELECT contact_id, name, stage, last_followup_ns, next_followup_ns, last_in_ns, last_ns, sort_key
FROM (
    SELECT
        contact_id, name, stage, last_followup_ns, next_followup_ns, last_in_ns, last_ns,
        if(@view = 'recent', -last_ns,
           if(next_followup_ns = 0, toInt64(9223372036854775807), next_followup_ns)) AS sort_key
    FROM (
        SELECT
            contact_id,
            argMaxIfMerge(name) AS name,
            argMaxIfMerge(stage) AS stage,
            maxIfMerge(last_followup_ns) AS last_followup_ns,
            argMaxIfMerge(next_followup_ns) AS next_followup_ns,
            maxIfMerge(last_in_ns) AS last_in_ns,
            maxMerge(last_ns) AS last_ns
        FROM profile_state
        WHERE tenant = @tenant AND contact_id IN (
            SELECT contact_id FROM assignee_events
            WHERE tenant = @tenant AND staff = @staff_id AND holds = 1
        )
        GROUP BY contact_id
    )
    WHERE contact_id IN (
        SELECT contact_id
        FROM (
            SELECT contact_id,
                   if(tupleElement(argMaxIfMerge(last_key), 2) != '', argMaxIfMerge(last_to),
                      argMinIfMerge(first_staff)) AS assignee
            FROM assignee_state
            WHERE tenant = @tenant AND contact_id IN (
                SELECT contact_id FROM assignee_events
                WHERE tenant = @tenant AND staff = @staff_id AND holds = 1
            )
            GROUP BY contact_id
        )
        WHERE assignee = @staff_id
    )
)
WHERE (@view IN ('all', 'recent')
       OR (@view = 'due_today' AND next_followup_ns >= @day_start_ns AND next_followup_ns < @day_end_ns)
       OR (@view = 'overdue' AND next_followup_ns > 0 AND next_followup_ns < @day_start_ns)
       OR (@view = 'upcoming' AND next_followup_ns >= @day_end_ns))
  AND (sort_key > @after_key OR (sort_key = @after_key AND contact_id > @after_id))
ORDER BY sort_key, contact_id
LIMIT @limit
