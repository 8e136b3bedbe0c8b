-- The rep's board within a window [lo_ns, hi_ns) of sort keys (the next
-- follow-up time), for every view but "recent": the customers assigned to
-- the rep whose sort key falls in the window, as followup_board computes
-- them. Exact: a customer's sort key is the next time of its latest
-- followup.logged, whose kind 4 row sits at that sort_ns, so every customer
-- of the window has a kind 4 row in it; the fold (kinds 1-3, point lookups)
-- then drops stale follow-ups and customers no longer the rep's. Cheap: it
-- reads the tenant's follow-ups of one window of next times, not the
-- tenant (docs/decisions.md, "Board"). Same columns, filters and keyset as
-- followup_board; the caller widens the window until the page is full.
-- stage: only customers whose current stage (the latest
-- followup.stage_changed) is @stage; empty: every stage.
-- args: tenant=demo staff_id=s2 view=all day_start_ns=0 day_end_ns=0 after_key=-9223372036854775807 after_id= stage= lo_ns=0 hi_ns=9223372036854775807 limit=50
SELECT contact_id, last_followup_ns, next_followup_ns, toInt64(0) AS last_ns,
       if(next_followup_ns = 0, toInt64(9223372036854775807), next_followup_ns) AS sort_key
FROM (
    SELECT
        contact_id,
        if(countIf(kind = 2) > 0, argMaxIf(staff, (key_ns, key_id, key_source), kind = 2),
           argMinIf(staff, (key_ns, key_id, key_source), kind = 1)) AS assignee,
        maxIf(key_ns, kind = 3) AS last_followup_ns,
        argMaxIf(next_ns, (key_ns, key_id, key_source), kind = 3) AS next_followup_ns
    FROM contact_facts
    PREWHERE tenant = @tenant AND kind IN (1, 2, 3) AND sort_ns = 0 AND contact_id IN (
        SELECT contact_id FROM contact_facts
        PREWHERE tenant = @tenant AND kind = 4 AND sort_ns >= @lo_ns AND sort_ns < @hi_ns
        WHERE contact_id IN (
            SELECT contact_id FROM assignee_events
            WHERE tenant = @tenant AND staff = @staff_id AND holds = 1
        )
    )
    GROUP BY contact_id
)
WHERE assignee = @staff_id AND sort_key >= @lo_ns AND sort_key < @hi_ns
  AND (@view = 'all'
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
