package dashboards

import (
	"fmt"
	"strings"

	"github.com/siyu-dev/siyu/internal/reporting"
)

// zone is the reporting time zone of the rollups (fixed at install by
// sql/migrations/0005_activity.sql), as an SQL string.
const zone = "'" + reporting.ZoneName + "'"

// The target days of a panel: the reporting days of the dashboard's range.
const (
	fromDay = "toDate($__fromTime, " + zone + ")"
	toDay   = "toDate($__toTime, " + zone + ")"
)

// dayTime is the time column of a day: its midnight in the reporting zone.
// toDateTime(String, zone) parses the same way on 18.16 and current
// ClickHouse, given the time of day (18.16 refuses a bare date).
func dayTime(col string) string {
	return "toDateTime(concat(toString(" + col + "), ' 00:00:00'), " + zone + ")"
}

// tenantCond keeps the selected tenants; planCond those whose latest plan
// is selected (the plan now, not the plan of each day: see Adoption).
const (
	tenantCond = "$__conditionalAll(tenant IN (${tenant:singlequote}), $tenant)"
	planCond   = "$__conditionalAll(tenant GLOBAL IN (SELECT tenant FROM subscription_changes GROUP BY tenant " +
		"HAVING argMax(plan, time_ns) IN (${plan:singlequote})), $plan)"
)

// windowed counts, for each target day D, the distinct (tenant, actor)
// pairs active in the w days ending on D, exactly: every active day a is
// spread over the target days a … a+w−1 it covers. countExpr picks the
// figure from uniqExact(If) over the offset i = D − a.
func windowed(table, actor string, w int, conds []string, value string) string {
	return fmt.Sprintf(`SELECT %s AS time, %s
FROM (
    SELECT tenant, %s AS actor, arrayJoin(range(%d)) AS i, day + i AS target
    FROM %s
    WHERE day >= %s - %d AND day <= %s
      AND %s
)
WHERE target >= %s AND target <= %s
GROUP BY time
ORDER BY time`, dayTime("target"), value, actor, w, table, fromDay, w-1, toDay,
		strings.Join(conds, "\n      AND "), fromDay, toDay)
}

// paidActive counts, per day, the staff active that day whose tenant was
// paid on it: the latest subscription.changed by (time, id, source) with its
// day (Asia/Shanghai) on or before the day has paid = 1.
func paidActive(conds []string) string {
	return fmt.Sprintf(`SELECT %s AS time, uniqExact(tenant, staff_id) AS paid_dau
FROM staff_active_days
WHERE day >= %s AND day <= %s
  AND %s
  AND (tenant, day) GLOBAL IN (
    SELECT tenant, d
    FROM (
        SELECT tenant, %s + arrayJoin(range(toUInt32(%s - %s + 1))) AS d,
            argMax(paid, (time_ns, id, source)) AS p
        FROM subscription_changes
        WHERE toDate(toDateTime(intDiv(time_ns, 1000000000)), %s) <= d
        GROUP BY tenant, d
    )
    WHERE p = 1
  )
GROUP BY time
ORDER BY time`, dayTime("day"), fromDay, toDay, strings.Join(conds, "\n  AND "), fromDay, toDay, fromDay, zone)
}

// retention is, per cohort day D0 (the first active day of its staff), the
// share of the cohort active on D0+N for each N of RetentionDays: one column
// each, NULL until day D0+N has come (cohorts appear once D0+30 has).
func retention(conds []string) string {
	cols := make([]string, len(RetentionDays))
	for i, n := range RetentionDays {
		cols[i] = fmt.Sprintf("if(first + %d <= toDate(now(), %s), countIf(has(days, first + %d)) / count(), NULL) AS day_%d",
			n, zone, n, n)
	}
	return fmt.Sprintf(`SELECT %s AS time, %s
FROM (
    SELECT tenant, staff_id, min(day) AS first, groupArray(day) AS days
    FROM staff_active_days
    WHERE %s
    GROUP BY tenant, staff_id
)
WHERE first >= %s AND first <= %s AND first + %d <= toDate(now(), %s)
GROUP BY time, first
ORDER BY time`, dayTime("first"), strings.Join(cols, ",\n       "), strings.Join(conds, "\n      AND "),
		fromDay, toDay, RetentionDays[0], zone)
}

// RetentionDays are the day-N retentions the Adoption dashboard shows.
var RetentionDays = []int{30, 60, 90, 120}

// newActors counts, per day, the staff whose first-ever active day it is.
func newActors(conds []string) string {
	return fmt.Sprintf(`SELECT %s AS time, count() AS new_dau
FROM (
    SELECT tenant, staff_id, min(day) AS first
    FROM staff_active_days
    WHERE %s
    GROUP BY tenant, staff_id
)
WHERE first >= %s AND first <= %s
GROUP BY time
ORDER BY time`, dayTime("first"), strings.Join(conds, "\n      AND "), fromDay, toDay)
}

func tenantVar() Variable {
	return queryVar("tenant", "Tenant", "SELECT DISTINCT tenant FROM staff_active_days ORDER BY tenant")
}

func queryVar(name, label, query string) Variable {
	return Variable{Type: "query", Name: name, Label: label, Datasource: Datasource, Query: query,
		Definition: query, Refresh: 1, Sort: 1, Multi: true, IncludeAll: true,
		Current: Option{Text: "All", Value: "$__all"}}
}

// timeseries is a time-series panel with one SQL target.
func timeseries(title, description, unit, sql string) Panel {
	p := Panel{Type: "timeseries", Title: title, Description: description, Datasource: Datasource,
		Targets: []Target{{RefID: "A", Datasource: Datasource, EditorType: "sql", PluginVersion: PluginVersion,
			QueryType: TimeSeries, Format: TimeSeries.format(), RawSQL: sql}}}
	p.FieldConfig.Defaults.Unit = unit
	p.FieldConfig.Overrides = []any{}
	return p
}

// bars is a time-series panel drawn as bars: daily counts of a flow.
func bars(title, description, unit, sql string) Panel {
	p := timeseries(title, description, unit, sql)
	p.FieldConfig.Defaults.Custom = &Custom{DrawStyle: "bars"}
	return p
}

// stat is a stat panel: the last value of a daily series, in large type.
func stat(title, description, unit, sql string) Panel {
	p := timeseries(title, description, unit, sql)
	p.Type = "stat"
	p.Options = &PanelOptions{ColorMode: "value", GraphMode: "area"}
	p.Options.ReduceOptions.Calcs = []string{"lastNotNull"}
	return p
}

// table is a table panel with one SQL target.
func table(title, description, unit, sql string) Panel {
	p := timeseries(title, description, unit, sql)
	p.Type = "table"
	p.Targets[0].QueryType, p.Targets[0].Format = Table, Table.format()
	return p
}

// layout numbers the panels and places them two per row.
func layout(d Dashboard) Dashboard {
	for i := range d.Panels {
		d.Panels[i].ID = i + 1
		d.Panels[i].GridPos = GridPos{H: 8, W: 12, X: 12 * (i % 2), Y: 8 * (i / 2)}
	}
	return d
}

func base(uid, title, description string, vars ...Variable) Dashboard {
	return Dashboard{UID: uid, Title: title, Description: description, Tags: []string{"siyu"},
		Timezone: reporting.ZoneName, Editable: true, Time: TimeRange{From: "now-30d", To: "now"},
		Templating: Templating{List: vars}, SchemaVersion: SchemaVersion, Version: 1}
}

// Adoption is the staff adoption dashboard: DAU, WAU, MAU, new DAU and
// stickiness (shared/spec/metrics.md). Its plan filter keeps tenants by
// their latest plan, where the API classifies a tenant by its plan on each
// day; with plan = All both agree exactly.
func Adoption() Dashboard {
	staff := []string{tenantCond, planCond}
	d := base("siyu-adoption", "Siyu · Adoption",
		"Staff adoption of Siyu: daily, weekly and monthly active staff (exact distinct counts over the day rollups).",
		tenantVar(), queryVar("plan", "Plan", "SELECT DISTINCT plan FROM subscription_changes ORDER BY plan"))
	d.Panels = []Panel{
		timeseries("DAU", "Distinct staff active on each day (Asia/Shanghai days).", "short",
			windowed("staff_active_days", "staff_id", 1, staff, "uniqExact(tenant, actor) AS dau")),
		timeseries("WAU", "Distinct staff active in the 7 days ending on each day.", "short",
			windowed("staff_active_days", "staff_id", 7, staff, "uniqExact(tenant, actor) AS wau")),
		timeseries("MAU", "Distinct staff active in the 30 days ending on each day.", "short",
			windowed("staff_active_days", "staff_id", 30, staff, "uniqExact(tenant, actor) AS mau")),
		timeseries("New DAU", "Staff whose first-ever active day is this day.", "short", newActors(staff)),
		timeseries("Stickiness", "DAU / MAU of each day: the share of monthly active staff active that day.", "percentunit",
			windowed("staff_active_days", "staff_id", 30, staff,
				"uniqExactIf(tenant, actor, i = 0) / uniqExact(tenant, actor) AS stickiness")),
		timeseries("Paid DAU", "Distinct staff active on each day whose tenant was paid that day (its latest "+
			"subscription.changed up to the end of the day has paid = true).", "short", paidActive(staff)),
	}
	d.Panels = append(d.Panels, timeseries("Retention",
		"Day-30, 60, 90 and 120 retention: of the staff whose first active day is D0 (the cohort day on the axis), "+
			"the share active on D0+N; a line starts once its day D0+N has come.", "percentunit", retention(staff)))
	return layout(d)
}

// Engagement is the private-domain engagement dashboard: customers who
// sent a message, per day and per 30 days.
func Engagement() Dashboard {
	cust := []string{tenantCond}
	d := base("siyu-engagement", "Siyu · Private-domain engagement",
		"Customer engagement: distinct customers who sent at least one message (exact distinct counts over the day rollups).",
		tenantVar())
	d.Panels = []Panel{
		timeseries("Customer DAU", "Distinct customers who sent a message on each day (Asia/Shanghai days).", "short",
			windowed("customer_active_days", "contact_id", 1, cust, "uniqExact(tenant, actor) AS customer_dau")),
		timeseries("Customer MAU", "Distinct customers who sent a message in the 30 days ending on each day.", "short",
			windowed("customer_active_days", "contact_id", 30, cust, "uniqExact(tenant, actor) AS customer_mau")),
		bars("New contacts by channel", "Contacts whose first contact.added is on this day, by its state (channel code) and add_way.",
			"short", newContactsByChannel(cust)),
		bars("Lost contacts", "Contacts left without any live relation on this day by a customer's removal (metering's contacts_lost).",
			"short", lostContacts(cust)),
		timeseries("Reply percentage", "WeCom's reply_percentage over every rep: of the customer-initiated chats "+
			"(a rep and a customer on a day, the first message inbound), the percent the rep answered the same day "+
			"(GET /v1/followups/stats, summed over reps before dividing).", "percent",
			replies(cust, "1", "100 * countIf(first_out > 0) / count() AS reply_percentage")),
		timeseries("Average reply time", "WeCom's avg_reply_time over every rep: mean minutes from the first inbound "+
			"message to the rep's first reply, over the customer-initiated chats answered that day.", "m",
			replies(cust, "first_out > 0", "avg((first_out - first_in) / 60e9) AS avg_reply_minutes")),
	}
	return layout(d)
}

// Metering is the contact metering dashboard: what billing charges for
// (metering.Service, shared/spec/metrics.md "Contact metering").
func Metering() Dashboard {
	cust := []string{tenantCond}
	d := base("siyu-metering", "Siyu · Contact metering",
		"Contacts against each tenant's cap, link acquisitions and month-to-date usage, as billing computes them.",
		tenantVar())
	d.Panels = []Panel{
		stat("Contacts now", "Contacts with at least one live relation at the end of the range's last day, summed over tenants.",
			"short", contactLevels(cust, "sum(contacts) AS contacts")),
		stat("Over cap now", "Contacts beyond the tenants' caps at the end of the range's last day, summed over tenants.",
			"short", contactLevels(cust, "sum(over) AS over_cap")),
		timeseries("Contacts", "Contacts with at least one live relation at the end of each day (contacts_total), summed over tenants.",
			"short", contactLevels(cust, "sum(contacts) AS contacts")),
		timeseries("Contacts over cap", "Contacts beyond each tenant's contact cap at the end of each day (contacts_over_cap), summed over tenants.",
			"short", contactLevels(cust, "sum(over) AS over_cap")),
		bars("Link acquisitions", "Contacts whose first add through an acquisition link (add_way 16) is on this day.",
			"short", linkAcquisitions(cust)),
		table("Contacts against cap", "Each tenant's contacts, contact cap (0: none) and contacts over it at the end of the range's last day.",
			"short", capTable(cust)),
		table("Month-to-date usage", "Each tenant's billed figures for the month of the range's last day, up to that day: "+
			"peak contacts, peak over cap, link acquisitions.", "short", monthToDate(cust)),
	}
	return layout(d)
}

// FollowUp is the sales follow-up dashboard: follow-ups per rep, overdue
// follow-ups, the stage funnel, pool claims and recycles, and WeCom's rep
// statistics (followup.Reader; docs/decisions.md, "Dashboards" D8).
func FollowUp() Dashboard {
	cust := []string{tenantCond}
	d := base("siyu-followup", "Siyu · Sales follow-up",
		"Sales reps' follow-ups, overdue follow-ups, the stage funnel and the customer pool, as the follow-up API computes them.",
		tenantVar())
	d.Panels = []Panel{
		table("Follow-ups per rep", "Follow-ups each rep logged in the range (followup.logged) and the distinct customers "+
			"they were about.", "short", followupsPerRep(cust)),
		table("Overdue follow-ups", "Per rep, the customers overdue on the range's last day D, as the daily digest of D counts "+
			"them: the rep holds a live relation with the customer at the end of D and the next follow-up time set by the "+
			"customer's latest follow-up is before D's start (none logged since).", "short", overdue(cust)),
		table("Stage funnel", "Per stage: customers at it at the end of the range (latest stage change) and customers "+
			"with a change into it in the range (the funnel's current and entered, every rep).", "short", funnel(cust)),
		bars("Pool claims and recycles", "Customers claimed from the pool and recycled into it, per day "+
			"(assignee.changed with reason claim or recycle).", "short", poolChanges(cust)),
	}
	return layout(d)
}

// All lists the dashboards export writes.
func All() []Dashboard { return []Dashboard{Adoption(), Engagement(), Metering(), FollowUp()} }
