package followup_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/followup"
	"github.com/siyu-dev/siyu/internal/reference"
	"github.com/siyu-dev/siyu/internal/testenv"
	"github.com/siyu-dev/siyu/readmodel"
)

// TestRepStatsMemoryProperty: the rep statistics answered from memory
// equal those read from ClickHouse and the brute-force reference, for every
// scope and period, whatever the delivery order and however many
// redeliveries, for events before the memory loaded (the snapshot), after
// it (the tail names their reps' days) and both (a redelivery of a snapshot
// event); a memory loaded afresh (a restart) answers the same.
func TestRepStatsMemoryProperty(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	conn, _ := testenv.Database(t)
	_, broker := testenv.Kafka(t)
	const topic = "siyu.repstats"
	p := testenv.StartPipeline(t, ctx, conn, broker, topic)

	tenants := []string{"r0", "r1", "r2"}
	var all, first, second []event.Event
	for i, tn := range tenants {
		r := rand.New(rand.NewPCG(uint64(i), 99))
		evs := statEvents(r, tn, 300)
		all = append(all, evs...)
		sent := shuffledWithRepeats(r, evs)
		half := len(sent) / 2
		first, second = append(first, sent[:half]...), append(second, sent[half:]...)
		second = append(second, sent[r.IntN(half)]) // a redelivery of a snapshot event
	}
	p.Produce(ctx, first)
	p.WaitIngested(ctx, first)

	reg := prometheus.NewRegistry()
	stats, tail := startRepStats(t, ctx, conn, broker, topic, reg)
	waitLoaded(t, stats, tenants)
	p.Produce(ctx, second)
	p.WaitIngested(ctx, append(first, second...))
	cl := mustClient(t, broker)
	ends := testenv.EndPositions(t, ctx, cl, topic)
	require.True(t, tail.WaitPassed(ctx, ends))

	reader := followup.NewReader(conn)
	from, to := time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	scopes := []followup.Scope{{}, {StaffID: "s0"}, {StaffID: "s2"}, {StaffID: "nobody"}, {Team: []string{"s0", "s2", "x"}}, {Team: []string{}}}
	periods := [][2]time.Time{{from, to}, {day, day}, {to, to}, {from.AddDate(0, 0, -3), from}}
	check := func(t *testing.T, stats *followup.RepStats) {
		for _, tn := range tenants {
			require.NoError(t, stats.Refresh(ctx, tn))
			for _, scope := range scopes {
				for _, period := range periods {
					want, err := reader.Stats(ctx, tn, scope, period[0], period[1])
					require.NoError(t, err)
					got, err := stats.Stats(ctx, tn, scope, period[0], period[1])
					require.NoError(t, err)
					require.Equal(t, want, got, "%s %+v %v", tn, scope, period)
				}
			}
			got, err := stats.Stats(ctx, tn, followup.Scope{}, from, to)
			require.NoError(t, err)
			require.Equal(t, reference.RepStats(all, tn, "", from, to), got, tn)
			requireNonTrivial(t, got)
		}
	}
	t.Run("after the tail", func(t *testing.T) { check(t, stats) })
	require.Positive(t, counterOr0(t, reg, "siyu_rep_stats_reads_total", "source", "memory"))

	t.Run("loaded afresh", func(t *testing.T) {
		again, _ := startRepStats(t, ctx, conn, broker, topic, nil)
		waitLoaded(t, again, tenants)
		check(t, again)
	})

	t.Run("a period before the memory reads ClickHouse", func(t *testing.T) {
		old := time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC)
		got, err := stats.Stats(ctx, "r0", followup.Scope{}, old, to)
		require.NoError(t, err)
		want, err := reader.Stats(ctx, "r0", followup.Scope{}, old, to)
		require.NoError(t, err)
		require.Equal(t, want, got)
	})
}

// startRepStats runs a read-model tail of topic and the memory of rep
// statistics on it, its clock on the statistics' midnight.
func startRepStats(t *testing.T, ctx context.Context, conn driver.Conn, broker, topic string, reg prometheus.Registerer) (*followup.RepStats, *readmodel.Tail) {
	t.Helper()
	tail, _ := startTail(t, ctx, broker, topic, reg)
	stats := followup.NewRepStats(conn, followup.NewReader(conn), tail, reg, testenv.Logger())
	stats.SetClock(func() time.Time { return midnight.Add(12 * time.Hour) })
	return stats, tail
}

// waitLoaded registers tenants in stats by its first reads and waits until
// each is loaded.
func waitLoaded(t *testing.T, stats *followup.RepStats, tenants []string) {
	t.Helper()
	testenv.Eventually(t, 20*time.Second, func() error {
		for _, tn := range tenants {
			if !stats.Ready(tn) {
				return fmt.Errorf("%s: not loaded", tn)
			}
		}
		return nil
	})
}
