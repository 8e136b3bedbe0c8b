package adoption_test

import (
	"context"
	"hash/crc32"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/adoption"
	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/internal/reference"
	"github.com/siyu-dev/siyu/internal/reporting"
	"github.com/siyu-dev/siyu/internal/testenv"
	"github.com/siyu-dev/siyu/loadgen"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var cst = reporting.Zone

// start is the first day of the generated stream.
var start = time.Date(2026, time.September, 1, 0, 0, 0, 0, cst)

const streamDays = 45

// TestMetricsExact is the exactness property of the metrics: a loadgen
// stream delivered shuffled, with 20% duplicates, and a part of it days
// late, through the real pipeline into ClickHouse 18.16, gives every series
// and cohort value, for every day, tenant, plan and the whole platform,
// equal to a brute-force computation from the events (internal/reference),
// both before and after the late events arrive.
func TestMetricsExact(t *testing.T) {
	deliveries := append(generate(t), edgeEvents()...)
	early, late := splitLate(deliveries)
	require.NotEmpty(t, late)

	ctx, conn, pipe := testenv.Ingest(t, 5*time.Minute, "metrics")
	svc := adoption.NewService(conn, nil)

	stored := adoption.NewService(conn, nil).WithMargin(testMargin)

	pipe.Produce(ctx, early)
	pipe.WaitIngested(ctx, early)
	checkAll(t, ctx, svc, reference.NewMetrics(early))
	testenv.RefreshSettled(t, ctx, testMargin, stored.Refresh)
	checkAll(t, ctx, stored, reference.NewMetrics(early))

	pipe.Produce(ctx, late)
	all := append(append([]event.Event{}, early...), late...)
	pipe.WaitIngested(ctx, all)
	checkAll(t, ctx, stored, reference.NewMetrics(all)) // stale rows: recomputed on read
	testenv.RefreshSettled(t, ctx, testMargin, stored.Refresh)
	checkAll(t, ctx, stored, reference.NewMetrics(all))
	checkAll(t, ctx, svc, reference.NewMetrics(all))
	q := adoption.Query{Metric: adoption.DAU, From: adoption.DayOf(start), To: adoption.DayOf(start) + streamDays}
	require.NotEqual(t, reference.NewMetrics(early).Series(q), reference.NewMetrics(all).Series(q),
		"the late events must change the answer, or the second check proves nothing")

	t.Run("time reporting.Zone edges", func(t *testing.T) {
		rows, err := conn.Query(ctx, "SELECT DISTINCT toString(day) FROM staff_active_days WHERE staff_id = 'tz-edge' ORDER BY 1")
		require.NoError(t, err)
		var days []string
		for rows.Next() {
			var d string
			require.NoError(t, rows.Scan(&d))
			days = append(days, d)
		}
		require.NoError(t, rows.Err())
		require.Equal(t, []string{"2026-09-20", "2026-09-21"}, days,
			"23:59:59 and 00:00:00 Asia/Shanghai are different reporting days")
		day := func(s string) adoption.Day { d, err := adoption.ParseDay(s); require.NoError(t, err); return d }
		res, err := svc.Active(ctx, adoption.Query{Metric: adoption.PaidDAU, From: day("2026-09-15"), To: day("2026-09-16"), Tenant: "t0002"})
		require.NoError(t, err)
		require.Zero(t, *res.Series[0].Value, "t0002 is not paid on 09-15: its change at 00:00:00 is the next day's")
		require.NotZero(t, *res.Series[1].Value, "t0002 is paid on 09-16")
	})
}

// checkAll compares every metric, in every scope, and the cohorts.
func checkAll(t *testing.T, ctx context.Context, svc *adoption.Service, ref *reference.Metrics) {
	t.Helper()
	from := adoption.DayOf(start) - 2
	to := from + streamDays + 4
	var queries []adoption.Query
	for _, m := range adoption.Metrics() {
		base := adoption.Query{Metric: m, From: from, To: to}
		queries = append(queries, base)
		for _, tn := range []string{"t0001", "t0002", "t0003"} {
			q := base
			q.Tenant = tn
			queries = append(queries, q)
		}
		for _, g := range []adoption.GroupBy{adoption.ByTenant, adoption.ByPlan} {
			q := base
			q.GroupBy = g
			queries = append(queries, q)
		}
		for _, p := range []string{"pro", "basic"} {
			q := base
			q.Plan = p
			queries = append(queries, q)
		}
	}
	checkSeriesSet(t, ctx, svc, ref, from, to) // first: stale tenants are recomputed for it
	nonZero := 0
	for _, q := range queries {
		got, err := svc.Active(ctx, q)
		require.NoError(t, err)
		want := ref.Series(q)
		require.Equal(t, want, got, "%+v", q)
		for _, p := range got.Series {
			if p.Value != nil && *p.Value != 0 {
				nonZero++
			}
		}
	}
	require.Greater(t, nonZero, 1000, "the comparison must not be vacuous")

	today := adoption.DayOf(time.Now())
	for _, tn := range []string{"", "t0001", "t0002"} {
		for _, customers := range []bool{false, true} {
			q := adoption.RetentionQuery{From: from, To: to, Tenant: tn, Days: adoption.RetentionDays, Customers: customers}
			got, err := svc.Retention(ctx, q)
			require.NoError(t, err)
			require.Equal(t, ref.Retention(q, today), got, "retention %+v", q)
		}
	}
}

// checkSeriesSet asks every metric at once (Series, in an order unlike
// Metrics') in every scope without a breakdown: each series equals the
// reference and Active's answer for it alone.
func checkSeriesSet(t *testing.T, ctx context.Context, svc *adoption.Service, ref *reference.Metrics, from, to adoption.Day) {
	t.Helper()
	metrics := adoption.Metrics()
	slices.Reverse(metrics)
	for _, scope := range []adoption.SeriesQuery{{}, {Tenant: "t0001"}, {Tenant: "t0002"}, {Tenant: "t0003"}, {Plan: "pro"}, {Plan: "basic"}} {
		q := scope
		q.Metrics, q.From, q.To = metrics, from, to
		got, err := svc.Series(ctx, q)
		require.NoError(t, err)
		require.Len(t, got, len(metrics))
		for i, m := range metrics {
			one := adoption.Query{Metric: m, From: from, To: to, Tenant: q.Tenant, Plan: q.Plan}
			require.Equal(t, ref.Series(one), got[i], "series of %+v", one)
			alone, err := svc.Active(ctx, one)
			require.NoError(t, err)
			require.Equal(t, alone, got[i], "alone: %+v", one)
		}
	}
}

// generate is the loadgen stream as delivered: shuffled, 20% duplicates.
func generate(t *testing.T) []event.Event {
	cfg := loadgen.Config{Seed: 7, Tenants: 3, StaffPerTenant: 30, ContactsPerTenant: 600, Events: 40_000,
		PaidShare: 0.5, Start: start, Days: streamDays, Shuffle: true, DuplicateShare: 0.2}
	return testenv.Generate(t, cfg)
}

// edgeEvents are hand-made: a staff member active at 23:59:59 and at
// 00:00:00 the next day (Asia/Shanghai), subscription changes on either side
// of midnight, and two changes at the same instant (the greater id wins).
func edgeEvents() []event.Event {
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			panic(err)
		}
		return tm
	}
	active := func(id, ts string) event.Event {
		return event.Event{ID: id, Source: "test", Type: event.StaffActive, Tenant: "t0001", Subject: "tz-edge", Time: at(ts)}
	}
	sub := func(id, tenant, ts, plan string, paid bool) event.Event {
		e := event.Event{ID: id, Source: "test", Type: event.SubscriptionChanged, Tenant: tenant, Subject: tenant, Time: at(ts)}
		e.Data.Set(event.FPlan, plan)
		e.Data.SetBool(event.FPaid, paid)
		return e
	}
	return []event.Event{
		active("edge-1", "2026-09-20T23:59:59+08:00"),
		active("edge-2", "2026-09-21T00:00:00+08:00"),
		sub("sub-t1", "t0001", "2026-09-10T23:59:59+08:00", "basic", false),
		sub("sub-t2-off", "t0002", "2026-09-02T12:00:00+08:00", "basic", false),
		sub("sub-t2-on", "t0002", "2026-09-16T00:00:00+08:00", "pro", true),
		sub("sub-t3-a", "t0003", "2026-09-25T10:00:00+08:00", "pro", true),
		sub("sub-t3-b", "t0003", "2026-09-25T10:00:00+08:00", "basic", false),
	}
}

// splitLate holds back about half the deliveries dated in the stream's
// second week: they arrive after everything else, days late.
func splitLate(all []event.Event) (early, late []event.Event) {
	lo, hi := start.AddDate(0, 0, 7), start.AddDate(0, 0, 14)
	for _, e := range all {
		if !e.Time.Before(lo) && e.Time.Before(hi) && crc32.ChecksumIEEE([]byte(e.ID))%2 == 0 {
			late = append(late, e)
		} else {
			early = append(early, e)
		}
	}
	return early, late
}
