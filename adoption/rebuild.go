package adoption

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	siyusql "github.com/siyu-dev/siyu/sql"
)

// RebuildQueries re-derive the day rollups, one table each, from the events
// of a time slice (sql/queries/rebuild_*.sql).
var RebuildQueries = []string{
	"rebuild_staff_active_days", "rebuild_customer_active_days",
	"rebuild_staff_active_bits", "rebuild_customer_active_bits",
}

// Rebuild re-derives the day rollups from `events`, a calendar month (UTC)
// at a time, calling step first and after each month with the months done
// and their total. The rollups are idempotent, so it is safe while ingest runs and
// when repeated: it restores rows a rollup lacks (a table restored from an
// old backup, a view that was missing) and never doubles one. It cannot
// remove rows; see docs/decisions.md (M-metrics rebuild) for a zone change.
func Rebuild(ctx context.Context, conn driver.Conn, step func(done, total int)) error {
	var minNs, maxNs int64
	if err := conn.QueryRow(ctx, siyusql.Query("metrics_event_span")).Scan(&minNs, &maxNs); err != nil {
		return fmt.Errorf("read the span of events: %w", err)
	}
	if minNs == 0 && maxNs == 0 {
		return nil
	}
	months := monthSlices(time.Unix(0, minNs).UTC(), time.Unix(0, maxNs).UTC())
	step(0, len(months))
	for i, m := range months {
		for _, name := range RebuildQueries {
			err := conn.Exec(ctx, siyusql.Query(name),
				clickhouse.Named("from_ns", m[0]), clickhouse.Named("to_ns", m[1]))
			if err != nil {
				return fmt.Errorf("rebuild %s for %s: %w", name, time.Unix(0, m[0]).UTC().Format("2006-01"), err)
			}
		}
		step(i+1, len(months))
	}
	// The rollups changed without events: the stored results must follow.
	if err := conn.Exec(ctx, siyusql.Query("metrics_mark_changed")); err != nil {
		return fmt.Errorf("mark stored metrics results stale: %w", err)
	}
	return nil
}

// monthSlices are the [start, end) Unix ns of each UTC calendar month from
// first's to last's.
func monthSlices(first, last time.Time) [][2]int64 {
	var out [][2]int64
	m := time.Date(first.Year(), first.Month(), 1, 0, 0, 0, 0, time.UTC)
	for !m.After(last) {
		next := m.AddDate(0, 1, 0)
		out = append(out, [2]int64{m.UnixNano(), next.UnixNano()})
		m = next
	}
	return out
}
