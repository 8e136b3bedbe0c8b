package dashboards

import (
	"fmt"
	"strings"
)

// The SQL of the contact panels (engagement and metering). Each reads the
// rollups of sql/migrations (acquisition_state, relation_events,
// subscription_changes) and gives the numbers of
// metering.Compute exactly: relations are replayed per pair in
// (time_ns, id, source) order, as there (docs/decisions.md, M1–M2).

// dayOf is the reporting day of a time_ns column.
func dayOf(ns string) string {
	return "toDate(toDateTime(intDiv(" + ns + ", 1000000000)), " + zone + ")"
}

// endNs is the first instant after a day, in Unix nanoseconds.
func endNs(day string) string {
	return "toInt64(toUInt32(" + dayTime("("+day+") + 1") + ")) * 1000000000"
}

func and(conds []string) string { return strings.Join(conds, "\n      AND ") }

// newContactsByChannel counts contacts on the day of their first
// contact.added, by the state (channel code) and add_way of that add, in
// the long form (time, channel, contacts) the plugin turns into one series
// per channel.
func newContactsByChannel(conds []string) string {
	return fmt.Sprintf(`SELECT %s AS time, concat(if(state = '', '(no state)', state), ' / add_way ', toString(way)) AS channel,
    count() AS contacts
FROM (
    SELECT tenant, contact_id, argMinMerge(channel) AS state, argMinMerge(add_way) AS way,
        %s AS day
    FROM acquisition_state
    WHERE %s
    GROUP BY tenant, contact_id
)
WHERE day >= %s AND day <= %s
GROUP BY time, channel
ORDER BY time, channel`, dayTime("day"), dayOf("minMerge(added_ns)"), and(conds), fromDay, toDay)
}

// lostContacts counts, per day D, the contacts lost on D (decision M2): at
// the end of D the contact has no live relation, and the event that last
// took it from some live relation to none is on D and is a contact.removed
// by the customer. Per contact, r is its relation rows in (time_ns, id,
// source, staff) order, live_after[i] the number of live pairs after row i,
// steps the last row of each event (the sides of a transfer apply
// together). Contacts without a removal by the customer in the range are
// skipped early; the rest cost O(rows³) each, and contacts have few rows.
// All of it is one SELECT: ClickHouse 18.16 prunes a subquery's columns
// that the outer query reads only inside lambdas ("Unknown identifier").
func lostContacts(conds []string) string {
	return fmt.Sprintf(`SELECT %s AS time, count() AS lost
FROM (
    SELECT arrayJoin(lost_days) AS day
    FROM (
        SELECT arraySort(groupUniqArray((time_ns, id, source, staff_id, live, type, removed_by))) AS r,
            arrayEnumerate(r) AS idx,
            arrayMap(i -> arrayCount(j -> j <= i AND tupleElement(r[j], 5) = 1
                AND NOT arrayExists(k -> k > j AND k <= i AND tupleElement(r[k], 4) = tupleElement(r[j], 4), idx), idx), idx) AS live_after,
            arrayFilter(i -> i = length(r) OR tupleElement(r[i + 1], 1) != tupleElement(r[i], 1)
                OR tupleElement(r[i + 1], 2) != tupleElement(r[i], 2) OR tupleElement(r[i + 1], 3) != tupleElement(r[i], 3), idx) AS steps,
            arrayMap(i -> live_after[i], steps) AS step_live,
            arrayMap(i -> %s, steps) AS step_day,
            arrayMap(i -> tupleElement(r[i], 6) = 'contact.removed' AND tupleElement(r[i], 7) = 'customer', steps) AS step_by_customer,
            arrayMap(s -> step_day[s], arrayFilter(s -> s > 1 AND step_live[s - 1] > 0 AND step_live[s] = 0 AND step_by_customer[s]
                AND arrayAll(s2 -> s2 <= s OR step_day[s2] != step_day[s] OR step_live[s2] = 0, arrayEnumerate(steps)),
                arrayEnumerate(steps))) AS lost_days
        FROM relation_events
        WHERE time_ns < %s
          AND %s
        GROUP BY tenant, contact_id
        HAVING countIf(type = 'contact.removed' AND removed_by = 'customer' AND %s >= %s) > 0
    )
)
WHERE day >= %s AND day <= %s
GROUP BY time
ORDER BY time`, dayTime("day"), dayOf("tupleElement(r[i], 1)"), endNs(toDay), and(conds), dayOf("time_ns"), fromDay,
		fromDay, toDay)
}

// targets spreads each row of a day-stamped history over the target days
// from its own day (or from, if later) to to, so a state "at the end of
// each day" is an argMax per target.
func targets(ns, from, to string) string {
	return fmt.Sprintf("greatest(%s, %s) + arrayJoin(range(toUInt32(%s - greatest(%s, %s) + 1))) AS target",
		dayOf(ns), from, to, dayOf(ns), from)
}

// tenantContacts gives (tenant, target, contacts, cap, over) for each day
// of [from, to] on which the tenant has live contacts: a contact counts when
// at least one of its (contact, staff) pairs is live at the end of the day
// (the pair's latest row by (time_ns, id, source)); cap is the latest
// subscription change's contact_cap before the end of the day.
func tenantContacts(conds []string, from, to string) string {
	return fmt.Sprintf(`SELECT tenant, target, contacts, cap, if(cap > 0, greatest(toInt64(contacts) - cap, toInt64(0)), toInt64(0)) AS over
    FROM (
        SELECT tenant, target, uniqExact(contact_id) AS contacts
        FROM (
            SELECT tenant, contact_id, staff_id, target, argMax(live, (time_ns, id, source)) AS l
            FROM (
                SELECT tenant, contact_id, staff_id, live, time_ns, id, source, %s
                FROM relation_events
                WHERE time_ns < %s
                  AND %s
            )
            GROUP BY tenant, contact_id, staff_id, target
        )
        WHERE l = 1
        GROUP BY tenant, target
    ) AS live
    ANY LEFT JOIN (
        SELECT tenant, target, argMax(contact_cap, (time_ns, id, source)) AS cap
        FROM (
            SELECT tenant, contact_cap, time_ns, id, source, %s
            FROM subscription_changes
            WHERE time_ns < %s
              AND %s
        )
        GROUP BY tenant, target
    ) AS caps USING (tenant, target)`, targets("time_ns", from, to), endNs(to), and(conds),
		targets("time_ns", from, to), endNs(to), and(conds))
}

// contactLevels sums a level of tenantContacts over the tenants, per day.
func contactLevels(conds []string, value string) string {
	return fmt.Sprintf(`SELECT %s AS time, %s
FROM (
    %s
)
GROUP BY time
ORDER BY time`, dayTime("target"), value, tenantContacts(conds, fromDay, toDay))
}

// linkAcquisitions counts contacts on the day of their first contact.added
// with add_way 16 (an acquisition link), whatever came before (M2).
func linkAcquisitions(conds []string) string {
	return fmt.Sprintf(`SELECT %s AS time, count() AS link_acquisitions
FROM (
    SELECT tenant, contact_id, %s AS day
    FROM relation_events
    WHERE type = 'contact.added' AND add_way = 16
      AND %s
    GROUP BY tenant, contact_id
)
WHERE day >= %s AND day <= %s
GROUP BY time
ORDER BY time`, dayTime("day"), dayOf("min(time_ns)"), and(conds), fromDay, toDay)
}

// capTable lists each tenant's contacts, cap and contacts over it at the
// end of the range's last day.
func capTable(conds []string) string {
	return fmt.Sprintf(`SELECT tenant, contacts, cap AS contact_cap, over AS over_cap
FROM (
    %s
)
ORDER BY tenant`, tenantContacts(conds, toDay, toDay))
}

// monthToDate is each tenant's usage in the month of the range's last day,
// up to that day, as billing figures it (metering usage lines): the peak
// of contacts and of contacts over cap, and the link acquisitions.
func monthToDate(conds []string) string {
	month := "toStartOfMonth(" + toDay + ")"
	return fmt.Sprintf(`SELECT tenant, peak_contacts, peak_over_cap, link_acquisitions
FROM (
    SELECT tenant, max(contacts) AS peak_contacts, max(over) AS peak_over_cap
    FROM (
        %s
    )
    GROUP BY tenant
) AS peaks
ANY LEFT JOIN (
    SELECT tenant, count() AS link_acquisitions
    FROM (
        SELECT tenant, contact_id, %s AS day
        FROM relation_events
        WHERE type = 'contact.added' AND add_way = 16
          AND %s
        GROUP BY tenant, contact_id
    )
    WHERE day >= %s AND day <= %s
    GROUP BY tenant
) AS links USING (tenant)
ORDER BY tenant`, tenantContacts(conds, month, toDay), dayOf("min(time_ns)"), and(conds), month, toDay)
}
