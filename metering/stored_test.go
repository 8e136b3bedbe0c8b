package metering_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/internal/reference"
	"github.com/siyu-dev/siyu/internal/testenv"
	"github.com/siyu-dev/siyu/metering"
)

// testMargin is the margin for inserts still committing in these tests
// (testenv.RefreshSettled waits it out).
const testMargin = time.Second

// TestStoredChangesRaces: the stored daily changes never answer for a
// tenant whose events changed after its computation began: an event
// inserted while a refresh computes, a late event for an old day, a crash
// between the rows and the finished-computation rows, and a restart all
// answer what the brute-force reference answers.
func TestStoredChangesRaces(t *testing.T) {
	all := deliveries(t)
	ctx, conn, pipe := testenv.Ingest(t, 5*time.Minute, "metering-stored")
	now := time.Date(2026, time.December, 1, 0, 0, 0, 0, time.UTC)
	svc := metering.NewService(conn, func() time.Time { return now }).WithMargin(testMargin)
	pipe.Produce(ctx, all)
	pipe.WaitIngested(ctx, all)
	testenv.RefreshSettled(t, ctx, testMargin, svc.Refresh)
	checkDaily(t, ctx, svc, reference.NewMetering(all))

	produce := func(evs ...event.Event) {
		pipe.Produce(ctx, evs)
		all = append(all, evs...)
		pipe.WaitIngested(ctx, all)
	}

	t.Run("event inserted during a recomputation", func(t *testing.T) {
		produce(added("race-0", "t0002", "race-c0", "s1", "2026-09-03T09:00:00+08:00", metering.LinkAddWay))
		time.Sleep(testMargin + 2*time.Second)
		svc.SetBeforeDone(func() error {
			produce(added("race-1", "t0002", "race-c1", "s1", "2026-09-04T09:00:00+08:00", metering.LinkAddWay))
			return nil
		})
		n, err := svc.Refresh(ctx)
		svc.SetBeforeDone(nil)
		require.NoError(t, err)
		require.Positive(t, n)
		checkDaily(t, ctx, svc, reference.NewMetering(all))
	})

	t.Run("late event for an old day", func(t *testing.T) {
		testenv.RefreshSettled(t, ctx, testMargin, svc.Refresh)
		produce(added("late-old", "t0001", "late-c", "s2", "2026-09-02T10:00:00+08:00", 0))
		checkDaily(t, ctx, svc, reference.NewMetering(all))
		testenv.RefreshSettled(t, ctx, testMargin, svc.Refresh)
		checkDaily(t, ctx, svc, reference.NewMetering(all))
	})

	t.Run("crash between rows and completion, then restart", func(t *testing.T) {
		produce(added("crash-1", "t0003", "crash-c", "s2", "2026-09-05T10:00:00+08:00", 0))
		time.Sleep(testMargin + 2*time.Second)
		svc.SetBeforeDone(func() error { return errors.New("crash") })
		_, err := svc.Refresh(ctx)
		svc.SetBeforeDone(nil)
		require.Error(t, err)
		restarted := metering.NewService(conn, func() time.Time { return now }).WithMargin(testMargin)
		checkDaily(t, ctx, restarted, reference.NewMetering(all))
		n, err := restarted.Refresh(ctx)
		require.NoError(t, err)
		require.Zero(t, n, "the read stored the settled tenant it recomputed")
		checkDaily(t, ctx, restarted, reference.NewMetering(all))
	})
}
