-- One page of a rep's follow-up board: the customers assigned to the rep
-- (candidates from assignee_events, checked against the assignee folded
-- from contact_facts, as assignee_tenant), ordered by sort_key,
-- contact_id: the next follow-up time (never scheduled: last), or for view
-- "recent" the last event time, newest first (-last_ns). Views: due_today
-- [day_start_ns, day_end_ns), overdue before day_start_ns, upcoming from
-- day_end_ns on, recent and all: everyone. Keyset: pass the last row's
-- (sort_key, contact_id) as (after_key, after_id); the first page passes
-- after_key = -max Int64 and after_id = ''. last_ns > 0: the customer has
-- a profile (a profile_state row), as when the board read profile_state. Only plain narrow rows are read
-- for all candidates; the page's profile summaries (name, stage, last
-- inbound) come after, from followup_board_profiles (docs/decisions.md,
-- "Board").
-- stage: only customers whose current stage (the latest
-- followup.stage_changed) is @stage; empty: every stage.
-- args: tenant=demo staff_id=s2 view=all day_start_ns=0 day_end_ns=0 after_key=-9223372036854775807 after_id= stage= limit=50
SELECT contact_id, last_followup_ns, next_followup_ns, last_ns,
       if(@view = 'recent', -last_ns,
          if(next_followup_ns = 0, toInt64(9223372036854775807), next_followup_ns)) AS sort_key
FROM (
    SELECT
        contact_id,
        if(countIf(kind = 2) > 0, argMaxIf(staff, (key_ns, key_id, key_source), kind = 2),
           argMinIf(staff, (key_ns, key_id, key_source), kind = 1)) AS assignee,
        maxIf(key_ns, kind = 3) AS last_followup_ns,
        argMaxIf(next_ns, (key_ns, key_id, key_source), kind = 3) AS next_followup_ns,
        toInt64(max(last_ns)) AS last_ns
    FROM contact_facts
    PREWHERE tenant = @tenant AND kind IN (0, 1, 2, 3) AND sort_ns = 0 AND contact_id IN (
        SELECT contact_id FROM assignee_events
        WHERE tenant = @tenant AND staff = @staff_id AND holds = 1
    )
    GROUP BY contact_id
)
WHERE assignee = @staff_id AND last_ns > 0
  AND (@view IN ('all', 'recent')
       OR (@view = 'due_today' AND next_followup_ns >= @day_start_ns AND next_followup_ns < @day_end_ns)
       OR (@view = 'overdue' AND next_followup_ns > 0 AND next_followup_ns < @day_start_ns)
       OR (@view = 'upcoming' AND next_followup_ns >= @day_end_ns))
  AND (sort_key > @after_key OR (sort_key = @after_key AND contact_id > @after_id))
  AND (@stage = '' OR contact_id IN (
        SELECT subject FROM followup_facts
        WHERE @stage != '' AND tenant = @tenant AND type = 'followup.stage_changed'
        GROUP BY subject
        HAVING argMax(stage, (time_ns, id, source)) = @stage))
ORDER BY sort_key, contact_id
LIMIT @limit
