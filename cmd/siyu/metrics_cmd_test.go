package main

import (
	"context"
	"github.com/siyu-dev/siyu/internal/reporting"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/adoption"
	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/internal/reference"
	"github.com/siyu-dev/siyu/internal/testenv"
	"github.com/siyu-dev/siyu/loadgen"
)

// TestMetricsRebuild: events stored while the day rollups' views were
// detached are missing from every answer; `siyu metrics rebuild` re-derives
// the rollups from `events`, after which every series and the cohorts equal
// the brute-force reference, and a second rebuild changes nothing.
func TestMetricsRebuild(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary against ClickHouse")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	conn, dsn := testenv.Database(t)
	views := []string{"staff_active_days_grouped_mv", "customer_active_days_grouped_mv", "staff_active_bits_mv", "customer_active_bits_mv"}
	for _, v := range views {
		require.NoError(t, conn.Exec(ctx, "DETACH TABLE "+v))
	}
	start := time.Date(2026, time.August, 20, 0, 0, 0, 0, reporting.Zone)
	g, err := loadgen.New(loadgen.Config{Seed: 3, Tenants: 2, StaffPerTenant: 10, ContactsPerTenant: 200,
		Events: 5_000, PaidShare: 0.5, Start: start, Days: 60})
	require.NoError(t, err)
	var evs []event.Event
	var e event.Event
	for g.Next(&e) {
		evs = append(evs, e.Clone())
	}
	insertEvents(t, ctx, conn, evs...)
	for _, v := range views {
		require.NoError(t, conn.Exec(ctx, "ATTACH TABLE "+v))
	}

	svc := adoption.NewService(conn, nil)
	ref := reference.NewMetrics(evs)
	from, to := adoption.DayOf(start), adoption.DayOf(start)+59
	q := adoption.Query{Metric: adoption.MAU, From: from, To: to}
	before, err := svc.Active(ctx, q)
	require.NoError(t, err)
	require.NotEqual(t, ref.Series(q), before, "without the views the rollups miss the events")

	rebuild := func() {
		out, err := exec.Command(siyuBin, "metrics", "rebuild", "--clickhouse-dsn", dsn).CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.Contains(t, string(out), "metrics rebuild (months)", "progress on stderr")
	}
	check := func() {
		for _, m := range adoption.Metrics() {
			for _, tenant := range []string{"", "t0001"} {
				q := adoption.Query{Metric: m, From: from, To: to, Tenant: tenant}
				got, err := svc.Active(ctx, q)
				require.NoError(t, err)
				require.Equal(t, ref.Series(q), got, "%+v", q)
			}
		}
		for _, customers := range []bool{false, true} {
			rq := adoption.RetentionQuery{From: from, To: to, Days: adoption.RetentionDays, Customers: customers}
			got, err := svc.Retention(ctx, rq)
			require.NoError(t, err)
			require.Equal(t, ref.Retention(rq, adoption.DayOf(time.Now())), got)
		}
	}
	rebuild()
	check()
	rebuild()
	check()
}
