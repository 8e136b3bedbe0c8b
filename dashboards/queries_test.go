package dashboards_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/adoption"
	"github.com/siyu-dev/siyu/dashboards"
	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/internal/chdb"
	"github.com/siyu-dev/siyu/internal/reporting"
	"github.com/siyu-dev/siyu/internal/testenv"
	"github.com/siyu-dev/siyu/loadgen"
	"github.com/siyu-dev/siyu/sql"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var cst = reporting.Zone

// start is the first day of the generated stream.
var start = time.Date(2026, time.September, 1, 0, 0, 0, 0, cst)

const streamDays = 40

var tenants = []string{"t0001", "t0002"}

// requests are the panel requests every query is run with: one tenant and
// All, over a range from before the stream to its end, as Grafana sends
// them (from midnight to the last second of the last day).
func requests(from, to adoption.Day) map[string]dashboards.Request {
	at := func(d adoption.Day) time.Time {
		y, m, dd := d.Date().Date()
		return time.Date(y, m, dd, 0, 0, 0, 0, cst)
	}
	r := dashboards.Request{From: at(from), To: at(to + 1).Add(-time.Second), Interval: 24 * time.Hour}
	one, all := r, r
	one.Vars = map[string]dashboards.Value{"tenant": {Values: []string{"t0001"}},
		"plan": {All: true, Values: []string{"basic", "pro"}}}
	all.Vars = map[string]dashboards.Value{"tenant": {All: true, Values: tenants},
		"plan": {All: true, Values: []string{"basic", "pro"}}}
	return map[string]dashboards.Request{"t0001": one, "": all}
}

// panelMetric is the adoption.Service series each panel must equal.
var panelMetric = map[string]adoption.Metric{
	"DAU": adoption.DAU, "WAU": adoption.WAU, "MAU": adoption.MAU, "New DAU": adoption.NewDAU, "Paid DAU": adoption.PaidDAU,
	"Stickiness": adoption.Stickiness, "Customer DAU": adoption.CustomerDAU, "Customer MAU": adoption.CustomerMAU,
}

// TestPanelsOnClickHouse runs every panel's SQL, expanded as the plugin
// does, on ClickHouse 18.16 after a loadgen stream went through the real
// pipeline, and compares each series with adoption.Service.
func TestPanelsOnClickHouse(t *testing.T) {
	evs := generate(t)
	ctx, conn, pipe := testenv.Ingest(t, 4*time.Minute, "dashboards")
	pipe.Produce(ctx, evs)
	pipe.WaitIngested(ctx, evs)
	svc := adoption.NewService(conn, nil)

	from := adoption.DayOf(start) - 2
	to := from + streamDays
	nonZero := 0
	for _, d := range dashboards.All() {
		for _, p := range d.Panels {
			if _, ok := panelMetric[p.Title]; !ok {
				continue // the contact panels: checkContactPanels
			}
			for tenant, req := range requests(from, to) {
				t.Run(d.UID+"/"+p.Title+"/"+tenant, func(t *testing.T) {
					q, err := dashboards.Expand(p.Targets[0].RawSQL, req)
					require.NoError(t, err)
					got := series(t, ctx, conn, q)
					want, err := svc.Active(ctx, adoption.Query{Metric: panelMetric[p.Title], From: from, To: to, Tenant: tenant})
					require.NoError(t, err)
					for _, pt := range want.Series {
						g, ok := got[pt.Day]
						if pt.Value == nil {
							require.False(t, ok, "day %s: want no value\n%s", pt.Day, q)
							continue
						}
						require.InDelta(t, *pt.Value, g, 1e-9, "day %s\n%s", pt.Day, q)
						if g != 0 {
							nonZero++
						}
					}
				})
			}
		}
	}
	require.Greater(t, nonZero, 200, "the comparison must not be vacuous")

	t.Run("retention", func(t *testing.T) { checkRetentionPanels(t, ctx, conn, svc, from, to) })

	t.Run("contacts", func(t *testing.T) { checkContactPanels(t, ctx, conn, evs, from, to) })

	t.Run("followup", func(t *testing.T) { checkFollowupPanels(t, ctx, conn, evs, from, to) })

	t.Run("preview", func(t *testing.T) {
		all := requests(from, to)[""]
		checkPreview(t, ctx, conn, all.From, all.To)
	})

	// A chosen plan filters tenants by their latest plan; that SQL must run
	// too (its figures differ from the API's per-day plan by design).
	for _, p := range dashboards.Adoption().Panels {
		q, err := dashboards.Expand(p.Targets[0].RawSQL, planRequest(from, to))
		require.NoError(t, err)
		if p.Title == "Retention" {
			retentionRows(t, ctx, conn, q)
			continue
		}
		series(t, ctx, conn, q)
	}
}

// checkRetentionPanels compares the retention panel's columns with the
// retention API's cohorts, for every tenant and for all.
func checkRetentionPanels(t *testing.T, ctx context.Context, conn driver.Conn, svc *adoption.Service, from, to adoption.Day) {
	var panel dashboards.Panel
	for _, p := range dashboards.Adoption().Panels {
		if p.Title == "Retention" {
			panel = p
		}
	}
	require.Equal(t, "Retention", panel.Title)
	compared := 0
	for tenant, req := range requests(from, to) {
		q, err := dashboards.Expand(panel.Targets[0].RawSQL, req)
		require.NoError(t, err)
		got := retentionRows(t, ctx, conn, q)
		cohorts, err := svc.Retention(ctx, adoption.RetentionQuery{From: from, To: to, Tenant: tenant, Days: dashboards.RetentionDays})
		require.NoError(t, err)
		for _, c := range cohorts {
			for i, want := range c.Retained {
				if c.Size == 0 || want == nil {
					continue
				}
				g := got[c.Day]
				require.NotNil(t, g, "tenant %q: cohort %s has no row\n%s", tenant, c.Day, q)
				require.NotNil(t, g[i], "tenant %q: cohort %s day %d is NULL\n%s", tenant, c.Day, dashboards.RetentionDays[i], q)
				require.InDelta(t, *want, *g[i], 1e-9, "tenant %q, cohort %s, day %d\n%s", tenant, c.Day, dashboards.RetentionDays[i], q)
				compared++
			}
		}
	}
	require.Greater(t, compared, 0, "the retention comparison must not be vacuous")
}

// retentionRows reads (time, day_30, day_60, ...) rows per cohort day.
func retentionRows(t *testing.T, ctx context.Context, conn driver.Conn, q string) map[adoption.Day][]*float64 {
	rows, err := conn.Query(ctx, q)
	require.NoError(t, err, q)
	defer rows.Close()
	out := map[adoption.Day][]*float64{}
	for rows.Next() {
		var tm time.Time
		vals := make([]*float64, len(dashboards.RetentionDays))
		dest := []any{&tm}
		for i := range vals {
			dest = append(dest, &vals[i])
		}
		require.NoError(t, rows.Scan(dest...))
		out[adoption.DayOf(tm)] = vals
	}
	require.NoError(t, rows.Err())
	return out
}

// planRequest asks for every tenant on plan pro.
func planRequest(from, to adoption.Day) dashboards.Request {
	r := requests(from, to)[""]
	r.Vars = map[string]dashboards.Value{"tenant": {All: true, Values: tenants}, "plan": {Values: []string{"pro"}}}
	return r
}

// series reads a (time, value) result into values per reporting day.
func series(t *testing.T, ctx context.Context, conn driver.Conn, q string) map[adoption.Day]float64 {
	rows, err := conn.Query(ctx, q)
	require.NoError(t, err, q)
	defer rows.Close()
	cts := rows.ColumnTypes()
	require.Len(t, cts, 2)
	out := map[adoption.Day]float64{}
	for rows.Next() {
		tm, v := reflect.New(cts[0].ScanType()), reflect.New(cts[1].ScanType())
		require.NoError(t, rows.Scan(tm.Interface(), v.Interface()))
		day := adoption.DayOf(tm.Elem().Interface().(time.Time))
		switch e := v.Elem(); {
		case e.CanUint():
			out[day] = float64(e.Uint())
		case e.CanFloat():
			out[day] = e.Float()
		default:
			t.Fatalf("value column of type %s", e.Type())
		}
	}
	require.NoError(t, rows.Err())
	return out
}

func generate(t *testing.T) []event.Event {
	cfg := loadgen.Config{Seed: 3, Tenants: len(tenants), StaffPerTenant: 12, ContactsPerTenant: 200, Events: 6000,
		PaidShare: 0.5, Start: start, Days: streamDays - 5}
	out := testenv.Generate(t, cfg)
	// A cap below t0001's contacts from day 20, so that contacts over cap
	// are not all zero (the generator's caps are generous).
	c := event.Event{ID: "cap-20", Source: "test", Type: event.SubscriptionChanged, Tenant: "t0001", Subject: "t0001",
		Time: start.AddDate(0, 0, 20)}
	c.Data.Set(event.FPlan, "pro")
	c.Data.SetBool(event.FPaid, true)
	c.Data.SetInt(event.FContactCap, 20)
	return append(append(out, c), poolEvents(out)...)
}

// seedContacts writes a few contact rollup rows: on 09-01 t0001 adds c1
// through a link (state qr) and c2, under a cap of 1 set on 08-31; on 09-02
// c2's customer removes the rep, and s1 answers c1 five minutes after its
// message; t0002 adds c1 through a link on 09-02.
func seedContacts(run func(string) string) {
	at := func(day, hour, minute int) int64 {
		return time.Date(2026, time.September, day, hour, minute, 0, 0, cst).UnixNano()
	}
	run(fmt.Sprintf(`INSERT INTO relation_events VALUES
		('t0001', 'c1', 's1', %d, 'e1', 'test', 'contact.added', 1, '', 16),
		('t0001', 'c2', 's1', %d, 'e2', 'test', 'contact.added', 1, '', 0),
		('t0001', 'c2', 's1', %d, 'e3', 'test', 'contact.removed', 0, 'customer', 0),
		('t0002', 'c1', 's1', %d, 'e4', 'test', 'contact.added', 1, '', 16)`, at(1, 10, 0), at(1, 11, 0), at(2, 10, 0), at(2, 9, 0)))
	run(fmt.Sprintf(`INSERT INTO subscription_changes VALUES ('t0001', %d, 'y', 'test', 'pro', 1, 1, 0)`, at(0, 12, 0)))
	run(fmt.Sprintf(`INSERT INTO rep_chat_days SELECT 't0001', 's1', toDate('2026-09-02'), 'c1',
		minIfState(toInt64(%d), toUInt8(1)), minIfState(toInt64(%d), toUInt8(1)),
		argMinIfState('in', (toInt64(%d), 'm1', 'test'), toUInt8(1)), uniqExactIfState('test', 'm2', toUInt8(1)),
		maxState(toUInt8(0)), maxState(toUInt8(0))`, at(2, 10, 0), at(2, 10, 5), at(2, 10, 0)))
	seedFollowups(run, at)
	for _, c := range []struct {
		contact, state string
		way, ns        int64
	}{{"c1", "qr", 16, at(1, 10, 0)}, {"c2", "", 0, at(1, 11, 0)}} {
		run(fmt.Sprintf(`INSERT INTO acquisition_state SELECT 't0001', '%s', argMinState(toInt64(%d), (toInt64(%d), 'e', 'test')),
			argMinState('%s', (toInt64(%d), 'e', 'test')), argMinState('s1', (toInt64(%d), 'e', 'test')), minState(toInt64(%d))`,
			c.contact, c.way, c.ns, c.state, c.ns, c.ns, c.ns))
	}
}

// seedFollowups writes a few follow-up rollup rows: s1 follows c1 up on
// 09-01 with the next follow-up on 09-02 09:00 (overdue on 09-03), moves c2
// to new on 08-31 and c1 to contacted on 09-02, claims c1 on 09-02 and c2 is
// recycled on 09-03.
func seedFollowups(run func(string) string, at func(day, hour, minute int) int64) {
	run(fmt.Sprintf(`INSERT INTO followup_logs VALUES ('t0001', 'c1', %d, 'f1', 'test', 's1', %d)`, at(1, 15, 0), at(2, 9, 0)))
	run(fmt.Sprintf(`INSERT INTO followup_facts VALUES
		('t0001', 'followup.stage_changed', 'c2', %d, 'g1', 'test', 's1', 'new', '', 0),
		('t0001', 'followup.stage_changed', 'c1', %d, 'g2', 'test', 's1', 'contacted', '', 0)`, at(0, 12, 0), at(2, 12, 0)))
	run(fmt.Sprintf(`INSERT INTO assignee_events VALUES
		('t0001', 's1', 'c1', %d, 'a1', 'test', 'assignee.changed', 'claim', 1),
		('t0001', 's1', 'c2', %d, 'a2', 'test', 'assignee.changed', 'recycle', 0)`, at(2, 11, 0), at(3, 9, 0)))
}

// TestPanelsOnChDB runs every panel's SQL, expanded for one tenant and for
// All, on current ClickHouse (chDB) over the migrated schema with a few
// rollup rows, and checks DAU and MAU of those rows.
func TestPanelsOnChDB(t *testing.T) {
	e := chdb.OpenForTest(t)
	run := func(q string) string {
		out, err := e.Query(q, "TSV")
		require.NoError(t, err, q)
		return out
	}
	run("CREATE DATABASE dash")
	run("USE dash")
	ms, err := sql.Migrations()
	require.NoError(t, err)
	for _, m := range ms {
		for _, stmt := range m.Statements {
			run(stmt)
		}
	}
	// s1 active 09-01 and 09-03, s2 on 09-03; t0002's s1 on 09-02.
	run(`INSERT INTO staff_active_days VALUES ('t0001', '2026-09-01', 's1'), ('t0001', '2026-09-03', 's1'),
		('t0001', '2026-09-03', 's2'), ('t0002', '2026-09-02', 's1')`)
	run(`INSERT INTO customer_active_days VALUES ('t0001', '2026-09-02', 'c1'), ('t0002', '2026-09-02', 'c1')`)
	run(`INSERT INTO subscription_changes VALUES ('t0001', 1, 'x', 'test', 'pro', 1, 0, 0)`)
	seedContacts(run)

	day, err := adoption.ParseDay("2026-09-01")
	require.NoError(t, err)
	want := map[string]map[string]string{
		"t0001": {"DAU": "2026-09-01 00:00:00\t1\n2026-09-03 00:00:00\t2\n",
			"MAU":                      "2026-09-01 00:00:00\t1\n2026-09-02 00:00:00\t1\n2026-09-03 00:00:00\t2\n",
			"Customer DAU":             "2026-09-02 00:00:00\t1\n",
			"New contacts by channel":  "2026-09-01 00:00:00\t(no state) / add_way 0\t1\n2026-09-01 00:00:00\tqr / add_way 16\t1\n",
			"Lost contacts":            "2026-09-02 00:00:00\t1\n",
			"Reply percentage":         "2026-09-02 00:00:00\t100\n",
			"Average reply time":       "2026-09-02 00:00:00\t5\n",
			"Follow-ups per rep":       "t0001\ts1\t1\t1\n",
			"Overdue follow-ups":       "t0001\ts1\t1\t2026-09-02 09:00:00\n",
			"Stage funnel":             "new\t1\t0\ncontacted\t1\t1\n",
			"Pool claims and recycles": "2026-09-02 00:00:00\tclaim\t1\n2026-09-03 00:00:00\trecycle\t1\n",
			"Contacts":                 "2026-09-01 00:00:00\t2\n2026-09-02 00:00:00\t1\n2026-09-03 00:00:00\t1\n",
			"Contacts now":             "2026-09-01 00:00:00\t2\n2026-09-02 00:00:00\t1\n2026-09-03 00:00:00\t1\n",
			"Contacts over cap":        "2026-09-01 00:00:00\t1\n2026-09-02 00:00:00\t0\n2026-09-03 00:00:00\t0\n",
			"Link acquisitions":        "2026-09-01 00:00:00\t1\n",
			"Contacts against cap":     "t0001\t1\t1\t0\n",
			"Month-to-date usage":      "t0001\t2\t1\t1\n"},
		"": {"DAU": "2026-09-01 00:00:00\t1\n2026-09-02 00:00:00\t1\n2026-09-03 00:00:00\t2\n",
			"MAU":          "2026-09-01 00:00:00\t1\n2026-09-02 00:00:00\t2\n2026-09-03 00:00:00\t3\n",
			"Customer DAU": "2026-09-02 00:00:00\t2\n"},
	}
	for _, d := range dashboards.All() {
		for _, p := range d.Panels {
			for tenant, req := range requests(day, day+2) {
				t.Run(fmt.Sprintf("%s/%s/%s", d.UID, p.Title, tenant), func(t *testing.T) {
					q, err := dashboards.Expand(p.Targets[0].RawSQL, req)
					require.NoError(t, err)
					// Times print in the session zone: read them as reporting days.
					out := run(q)
					if p.Type != "table" {
						out = run("SELECT toString(time, 'Asia/Shanghai'), * EXCEPT time FROM (" + q + ")")
					}
					require.NotEmpty(t, strings.TrimSpace(out))
					if w, ok := want[tenant][p.Title]; ok {
						require.Equal(t, w, out)
					}
				})
			}
		}
	}
	t.Run("plan pro", func(t *testing.T) {
		// Only t0001 is on pro: its DAU, alone.
		q, err := dashboards.Expand(dashboards.Adoption().Panels[0].Targets[0].RawSQL, planRequest(day, day+2))
		require.NoError(t, err)
		out := run("SELECT toString(time, 'Asia/Shanghai'), * EXCEPT time FROM (" + q + ")")
		require.Equal(t, want["t0001"]["DAU"], out)
	})
}
