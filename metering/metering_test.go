package metering_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/adoption"
	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/internal/reference"
	"github.com/siyu-dev/siyu/internal/reporting"
	"github.com/siyu-dev/siyu/internal/testenv"
	"github.com/siyu-dev/siyu/loadgen"
	"github.com/siyu-dev/siyu/metering"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var start = time.Date(2026, time.September, 1, 0, 0, 0, 0, reporting.Zone)

const streamDays = 45

// TestMeteringExact: a loadgen stream plus the hand-made edge cases,
// delivered shuffled with 20% duplicates through the real pipeline into
// ClickHouse 18.16, gives every meter of every day and tenant equal to the
// brute-force reference; a closed period exports byte-identically twice,
// and late events add adjustment lines without changing the original ones.
func TestMeteringExact(t *testing.T) {
	evs := deliveries(t)
	ctx, conn, pipe := testenv.Ingest(t, 5*time.Minute, "metering")
	now := time.Date(2026, time.December, 1, 0, 0, 0, 0, time.UTC)
	svc := metering.NewService(conn, func() time.Time { return now })

	stored := metering.NewService(conn, func() time.Time { return now }).WithMargin(testMargin)

	pipe.Produce(ctx, evs)
	pipe.WaitIngested(ctx, evs)
	checkDaily(t, ctx, svc, reference.NewMetering(evs))
	testenv.RefreshSettled(t, ctx, testMargin, stored.Refresh)
	checkDaily(t, ctx, stored, reference.NewMetering(evs))

	sep, err := metering.ParsePeriod("2026-09")
	require.NoError(t, err)
	first := export(t, ctx, svc, sep)
	require.Equal(t, first, export(t, ctx, svc, sep), "a closed period exports byte for byte the same")
	require.Contains(t, first, "t0009:2026-09:link_acquisitions,t0009,2026-09,link_acquisitions,3\n")
	require.NotContains(t, first, "adjustment")

	late := []event.Event{
		added("late-1", edgeTenant, "c9", "s1", "2026-09-01T09:00:00+08:00", metering.LinkAddWay),
		added("late-2", edgeTenant, "c10", "s1", "2026-09-01T09:00:00+08:00", metering.LinkAddWay),
	}
	pipe.Produce(ctx, late)
	all := append(append([]event.Event{}, evs...), late...)
	pipe.WaitIngested(ctx, all)
	checkDaily(t, ctx, stored, reference.NewMetering(all)) // stale rows: recomputed on read
	testenv.RefreshSettled(t, ctx, testMargin, stored.Refresh)
	checkDaily(t, ctx, stored, reference.NewMetering(all))
	checkDaily(t, ctx, svc, reference.NewMetering(all))
	after := export(t, ctx, svc, sep)
	require.Equal(t, after, export(t, ctx, svc, sep), "adjustments are recorded once")
	require.Contains(t, after, "t0009:2026-09:link_acquisitions:adjustment:1,t0009,2026-09,link_acquisitions_adjustment,2\n")
	require.Contains(t, after, "t0009:2026-09:peak_contacts:adjustment:1,t0009,2026-09,peak_contacts_adjustment,2\n")
	for _, l := range bytes.SplitAfter([]byte(first), []byte("\n")) {
		require.Contains(t, after, string(l), "every original line stays as exported")
	}

	oct, err := metering.ParsePeriod("2026-10")
	require.NoError(t, err)
	pts, err := svc.Series(ctx, metering.ContactsTotal, metering.Month, "", sep.From, oct.To)
	require.NoError(t, err)
	require.Len(t, pts, 2)
	require.Positive(t, pts[0].Value)

	t.Run("meters asked at once", func(t *testing.T) {
		// As a page asks them: concurrent reads share one read of the days,
		// which no caller may change (the race detector watches).
		from, to := adoption.DayOf(start), adoption.DayOf(start)+streamDays
		want := map[metering.Meter][]metering.Point{}
		for _, m := range metering.Meters() {
			want[m], err = svc.Series(ctx, m, metering.Day, "t0001", from, to)
			require.NoError(t, err)
		}
		got := make([][]metering.Point, 2*len(metering.Meters()))
		var wg sync.WaitGroup
		for i := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[i], _ = svc.Series(ctx, metering.Meters()[i%len(metering.Meters())], metering.Day, "t0001", from, to)
			}()
		}
		wg.Wait()
		for i, pts := range got {
			m := metering.Meters()[i%len(metering.Meters())]
			require.Equal(t, want[m], pts, m)
		}
	})
}

func export(t *testing.T, ctx context.Context, svc *metering.Service, p metering.Period) string {
	t.Helper()
	u, err := svc.Usage(ctx, "", p)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, metering.WriteCSV(&buf, u))
	return buf.String()
}

// checkDaily compares every meter of every day and tenant with the reference.
func checkDaily(t *testing.T, ctx context.Context, svc *metering.Service, ref *reference.Metering) {
	t.Helper()
	from := adoption.DayOf(start) - 2
	to := from + streamDays + 4
	got, err := svc.Daily(ctx, "", from, to)
	require.NoError(t, err)
	require.Len(t, got, len(ref.Tenants()))
	nonZero := map[metering.Meter]int{}
	for tn := range ref.Tenants() {
		require.Len(t, got[tn], int(to-from)+1, tn)
		for _, d := range got[tn] {
			require.Equal(t, ref.Day(tn, d.Day), d, "tenant %s day %s", tn, d.Day)
			for _, m := range metering.Meters() {
				if m.Of(d) != 0 {
					nonZero[m]++
				}
			}
		}
		one, err := svc.Daily(ctx, tn, from, to)
		require.NoError(t, err)
		require.Equal(t, got[tn], one[tn], "one tenant reads the same as all")
	}
	for _, m := range metering.Meters() {
		require.Greater(t, nonZero[m], 3, "meter %s must not be vacuous", m)
	}
}

// deliveries are the loadgen stream (shuffled, 20% duplicates) and the edge
// cases, each repeated with 20% chance, all shuffled.
func deliveries(t *testing.T) []event.Event {
	cfg := loadgen.Config{Seed: 11, Tenants: 3, StaffPerTenant: 20, ContactsPerTenant: 400, Events: 20_000,
		PaidShare: 0.5, Start: start, Days: streamDays, Shuffle: true, DuplicateShare: 0.2}
	out := testenv.Generate(t, cfg)
	r := rand.New(rand.NewPCG(3, 4))
	for _, e := range edgeEvents() {
		out = append(out, e)
		if r.Float64() < 0.2 {
			out = append(out, e)
		}
	}
	// t0001 gets a small cap so that contacts_over_cap is exercised on the stream too.
	out = append(out, capped("cap-t0001", "t0001", "2026-09-20T12:00:00+08:00", 50))
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}
