package dashboards

import (
	"fmt"
	"strings"

	"github.com/siyu-dev/siyu/followup"
)

// The SQL of the sales follow-up panels and of the engagement dashboard's
// reply panels. They read the follow-up rollups (rep_chat_days and
// followup_facts of sql/migrations/0023_followup_day.sql, assignee_events
// of 0020_assignees.sql, followup_logs of 0027_followup_dash.sql) and give
// the numbers of followup.Reader (docs/decisions.md, "Dashboards" D2, D8).

// dayStartNs is the first instant of a day, in Unix nanoseconds.
func dayStartNs(day string) string {
	return "toInt64(toUInt32(" + dayTime(day) + ")) * 1000000000"
}

// chats is WeCom's customer-initiated chats of the range: one row per
// (tenant, rep, day, customer) whose first message was inbound, with the
// first inbound time and the rep's first outbound time that day (0: not
// answered), as followup_rep_stats.sql sums them.
func chats(conds []string) string {
	return fmt.Sprintf(`SELECT tenant, staff_id, day, contact_id, minIfMerge(first_in_ns) AS first_in,
        minIfMerge(first_out_ns) AS first_out, argMinIfMerge(first_direction) AS first_direction
    FROM rep_chat_days
    WHERE day >= %s AND day <= %s
      AND %s
    GROUP BY tenant, staff_id, day, contact_id`, fromDay, toDay, and(conds))
}

// replies folds the customer-initiated chats of each day that match where
// with value.
func replies(conds []string, where, value string) string {
	return fmt.Sprintf(`SELECT %s AS time, %s
FROM (
    %s
)
WHERE first_direction = 'in' AND %s
GROUP BY time
ORDER BY time`, dayTime("day"), value, chats(conds), where)
}

// followupsPerRep lists, per rep, the follow-ups logged in the range and
// the distinct customers they were about.
func followupsPerRep(conds []string) string {
	return fmt.Sprintf(`SELECT tenant, staff_id, uniqExact(id, source) AS followups, uniqExact(contact_id) AS customers
FROM followup_logs
WHERE time_ns >= %s AND time_ns < %s
  AND %s
GROUP BY tenant, staff_id
ORDER BY tenant, staff_id`, dayStartNs(fromDay), endNs(toDay), and(conds))
}

// overdue lists, per rep, the customers overdue on the range's last day D,
// as the daily digest of D counts them (GET /v1/followups/digest): the rep
// holds a live relation with the customer at the end of D, and the next_at
// of the customer's latest follow-up logged by then is set and before D's
// start (a follow-up logged since would be the latest, and reset it).
func overdue(conds []string) string {
	end := endNs(toDay)
	return fmt.Sprintf(`SELECT tenant, staff_id, count() AS overdue, toDateTime(intDiv(min(next_ns), 1000000000), %s) AS oldest_due
FROM (
    SELECT tenant, staff_id, contact_id
    FROM (
        SELECT tenant, staff_id, contact_id, argMax(live, (time_ns, id, source)) AS l
        FROM relation_events
        WHERE time_ns < %s
          AND %s
        GROUP BY tenant, staff_id, contact_id
    )
    WHERE l = 1
) AS held
ANY INNER JOIN (
    SELECT tenant, contact_id, next_ns
    FROM (
        SELECT tenant, contact_id, argMax(next_at_ns, (time_ns, id, source)) AS next_ns
        FROM followup_logs
        WHERE time_ns < %s
          AND %s
        GROUP BY tenant, contact_id
    )
    WHERE next_ns > 0 AND next_ns < %s
) AS scheduled USING (tenant, contact_id)
GROUP BY tenant, staff_id
ORDER BY tenant, staff_id`, zone, end, and(conds), end, and(conds), dayStartNs(toDay))
}

// stageOrder sorts stages as the default list does, others after by name
// (each tenant may list its own stages: followup.StageLists).
func stageOrder() string {
	return "indexOf(['" + strings.Join(followup.Stages, "', '") + "'], stage) = 0, indexOf(['" +
		strings.Join(followup.Stages, "', '") + "'], stage), stage"
}

// funnel lists per stage the customers at it at the end of the range (each
// customer's latest stage change by then) and the customers with a change
// into it in the range, summed over tenants: the Current and the Entered
// of GET /v1/followups/funnel for the whole tenant.
func funnel(conds []string) string {
	end := endNs(toDay)
	return fmt.Sprintf(`SELECT stage, sum(cur) AS customers_now, sum(entered) AS entered_in_range
FROM (
    SELECT stage, count() AS cur, toUInt64(0) AS entered
    FROM (
        SELECT tenant, subject, argMax(stage, (time_ns, id, source)) AS stage
        FROM followup_facts
        WHERE type = 'followup.stage_changed' AND time_ns < %s
          AND %s
        GROUP BY tenant, subject
    )
    GROUP BY stage
    UNION ALL
    SELECT stage, toUInt64(0) AS cur, uniqExact(tenant, subject) AS entered
    FROM followup_facts
    WHERE type = 'followup.stage_changed' AND time_ns >= %s AND time_ns < %s
      AND %s
    GROUP BY stage
)
GROUP BY stage
ORDER BY %s`, end, and(conds), dayStartNs(fromDay), end, and(conds), stageOrder())
}

// poolChanges counts, per day, the assignee changes of the pool (claims
// from it, recycles into it) by reason: each assignee.changed once, on the
// day of its time (both sides of one event carry its reason).
func poolChanges(conds []string) string {
	return fmt.Sprintf(`SELECT %s AS time, reason, count() AS changes
FROM (
    SELECT tenant, id, source, reason, %s AS day
    FROM assignee_events
    WHERE type = 'assignee.changed' AND reason IN ('claim', 'recycle')
      AND %s
    GROUP BY tenant, id, source, reason
)
WHERE day >= %s AND day <= %s
GROUP BY time, reason
ORDER BY time, reason`, dayTime("day"), dayOf("min(time_ns)"), and(conds), fromDay, toDay)
}
