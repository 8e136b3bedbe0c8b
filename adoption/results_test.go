package adoption_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/adoption"
	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/internal/reference"
	"github.com/siyu-dev/siyu/internal/testenv"
)

// testMargin is the margin for inserts still committing in these tests
// (testenv.RefreshSettled waits it out): their inserts are small and local.
const testMargin = time.Second

// storedQueries are series over the stream in every scope the table serves.
func storedQueries() []adoption.Query {
	from := adoption.DayOf(start) - 2
	to := from + streamDays + 4
	var out []adoption.Query
	for _, m := range adoption.Metrics() {
		out = append(out, adoption.Query{Metric: m, From: from, To: to},
			adoption.Query{Metric: m, From: from, To: to, Tenant: "t0002"},
			adoption.Query{Metric: m, From: from, To: to, GroupBy: adoption.ByPlan})
	}
	return out
}

func checkSeries(t *testing.T, ctx context.Context, svc *adoption.Service, ref *reference.Metrics, why string) {
	t.Helper()
	// All at once first: right after a late event its tenant is stale here.
	from := adoption.DayOf(start) - 2
	checkSeriesSet(t, ctx, svc, ref, from, from+streamDays+4)
	for _, q := range storedQueries() {
		got, err := svc.Active(ctx, q)
		require.NoError(t, err)
		require.Equal(t, ref.Series(q), got, "%s: %+v", why, q)
	}
}

// lateActivity is staff activity of t0002 on an early day of the stream by
// a staff member never seen before: it changes dau, mau, new_dau, paid_*.
func lateActivity(id string, day int) []event.Event {
	at := start.AddDate(0, 0, day).Add(10 * time.Hour)
	return []event.Event{
		{ID: id, Source: "test", Type: event.StaffActive, Tenant: "t0002", Subject: "late-" + id, Time: at},
		{ID: id + "-c", Source: "test", Type: event.ChatMessage, Tenant: "t0002", Subject: "late-c-" + id, Time: at,
			Data: chatIn()},
	}
}

func chatIn() event.Data {
	var d event.Data
	d.Set(event.FDirection, "in")
	d.Set(event.FStaffID, "s-late")
	return d
}

// TestStoredResultsRaces: the stored results never answer for a tenant
// whose events changed after its computation began: an event inserted
// while a refresh computes, a late event for an old day, a crash between
// the result rows and the finished-computation rows, and a restart (a new
// Service on the same tables) all answer what the brute-force reference
// answers.
func TestStoredResultsRaces(t *testing.T) {
	all := generate(t)[:15_000]
	all = append(all, edgeEvents()...)
	ctx, conn, pipe := testenv.Ingest(t, 5*time.Minute, "metrics-results")
	pipe.Produce(ctx, all)
	pipe.WaitIngested(ctx, all)

	svc := adoption.NewService(conn, nil).WithMargin(testMargin)
	testenv.RefreshSettled(t, ctx, testMargin, svc.Refresh)
	checkSeries(t, ctx, svc, reference.NewMetrics(all), "stored")

	t.Run("event inserted during a recomputation", func(t *testing.T) {
		late := lateActivity("race-1", 3)
		require.NoError(t, markStale(ctx, conn, "t0002")) // its refresh will miss the insert
		time.Sleep(testMargin + 2*time.Second)
		svc.SetHooks(func() {
			pipe.Produce(ctx, late)
			pipe.WaitIngested(ctx, late)
		}, nil)
		n, err := svc.Refresh(ctx)
		svc.SetHooks(nil, nil)
		require.NoError(t, err)
		require.Positive(t, n)
		all = append(all, late...)
		checkSeries(t, ctx, svc, reference.NewMetrics(all), "after a refresh that missed an insert")
	})

	t.Run("late event for an old day", func(t *testing.T) {
		testenv.RefreshSettled(t, ctx, testMargin, svc.Refresh)
		late := lateActivity("late-1", 1)
		pipe.Produce(ctx, late)
		pipe.WaitIngested(ctx, late)
		all = append(all, late...)
		checkSeries(t, ctx, svc, reference.NewMetrics(all), "right after a late event")
		testenv.RefreshSettled(t, ctx, testMargin, svc.Refresh)
		checkSeries(t, ctx, svc, reference.NewMetrics(all), "after the late event was stored")
	})

	t.Run("crash between rows and completion, then restart", func(t *testing.T) {
		late := lateActivity("crash-1", 5)
		pipe.Produce(ctx, late)
		pipe.WaitIngested(ctx, late)
		all = append(all, late...)
		time.Sleep(testMargin + 2*time.Second)
		svc.SetHooks(nil, func() error { return errors.New("crash") })
		_, err := svc.Refresh(ctx)
		svc.SetHooks(nil, nil)
		require.Error(t, err)
		restarted := adoption.NewService(conn, nil).WithMargin(testMargin)
		checkSeries(t, ctx, restarted, reference.NewMetrics(all), "after a crashed refresh")
		n, err := restarted.Refresh(ctx)
		require.NoError(t, err)
		require.Zero(t, n, "the read stored the settled tenant it recomputed")
		checkSeries(t, ctx, restarted, reference.NewMetrics(all), "restarted, answered from the table")
	})
}

// markStale records an insert for tenant now, as the view on events does.
func markStale(ctx context.Context, conn driver.Conn, tenant string) error {
	return conn.Exec(ctx, "INSERT INTO metrics_inputs (tenant, inserted_at) SELECT '"+tenant+"', now()")
}
