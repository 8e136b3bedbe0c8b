package metering

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/siyu-dev/siyu/adoption"
	"github.com/siyu-dev/siyu/internal/freshness"
	siyusql "github.com/siyu-dev/siyu/sql"
)

// Stored daily changes (docs/decisions.md, M9): the output of
// metering_daily_changes.sql over all of a tenant's relation events lives
// in metering_changes (migration 0014), recomputed only for tenants whose
// events changed. A read answers a tenant from the table only when its
// latest finished computation started after its latest insert
// (metrics_inputs, migration 0013) plus the margin; every other tenant is
// recomputed first (and stored when its inputs have settled). The rule and
// the refresher are internal/freshness's.

var (
	qSpan        = siyusql.Query("metering_span")
	qChangesDone = siyusql.Query("metering_changes_done")
	qChangesRead = siyusql.Query("metering_changes_read")
)

const (
	insertChanges = "INSERT INTO metering_changes (tenant, day, computed_ns, total_change, lost, added, linked)"
	insertDone    = "INSERT INTO metering_changes_done (tenant, computed_ns, started, first_ns)"
)

// noRelations is the first_ns of a tenant without relation events.
const noRelations = math.MaxInt64

// allTime is the day before which every relation event lies.
const allTime = adoption.Day(40000) // 2079-07-07

// done is a tenant's latest finished computation.
type done struct {
	started time.Time
	firstNs int64
}

// StartedAt is when the computation started (freshness.Done).
func (d done) StartedAt() time.Time { return d.started }

func scanDone(rows driver.Rows) (string, done, error) {
	var t string
	var d done
	var ns uint64
	err := rows.Scan(&t, &d.started, &d.firstNs, &ns)
	return t, d, err
}

// storedTable is the table of stored changes, computed by s.
func (s *Service) storedTable() *freshness.Table[done, *batch] {
	return &freshness.Table[done, *batch]{
		Conn: s.conn, Margin: freshness.DefaultMargin, Name: "meter",
		DoneQuery: qChangesDone, ScanDone: scanDone,
		Compute: s.compute, WriteResults: s.writeChanges,
		InsertDone: insertDone, DoneRow: doneRow,
	}
}

// batch is one computation of the daily changes of some tenants over all
// their relation events.
type batch struct {
	freshness.Stamp
	changes map[string][]Change
	span    map[string][2]int64 // first and last relation event
}

// compute folds all relation events of tenants: one query over all tenants
// filtered here when there are several, a tenant-filtered one for one.
func (s *Service) compute(ctx context.Context, tenants []string) (*batch, error) {
	stamp, err := freshness.Begin(ctx, s.conn)
	if err != nil {
		return nil, err
	}
	b := &batch{Stamp: stamp, changes: map[string][]Change{}, span: map[string][2]int64{}}
	filter, want := freshness.Scope(tenants)
	rows, err := s.conn.Query(ctx, qSpan, clickhouse.Named("tenant", filter))
	if err != nil {
		return nil, fmt.Errorf("read relation spans: %w", err)
	}
	for rows.Next() {
		var t string
		var lo, hi int64
		if err := rows.Scan(&t, &lo, &hi); err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan relation spans: %w", err)
		}
		if want(t) {
			b.span[t] = [2]int64{lo, hi}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read relation spans: %w", err)
	}
	changes, err := s.changes(ctx, filter, 1, allTime)
	if err != nil {
		return nil, err
	}
	for _, c := range changes {
		if want(c.Tenant) && c.Day >= 1 {
			b.changes[c.Tenant] = append(b.changes[c.Tenant], c)
		}
	}
	return b, nil
}

// writeChanges writes the dense rows of tenants (their finished
// computations follow: freshness.Table.Store).
func (s *Service) writeChanges(ctx context.Context, b *batch, tenants []string) error {
	var (
		tn          []string
		day         []time.Time
		ns          []uint64
		total       []int64
		lost, added []uint64
		linked      []uint64
	)
	for _, t := range tenants {
		sp, ok := b.span[t]
		if !ok {
			continue
		}
		first, last := dayOfNs(sp[0]), dayOfNs(sp[1])
		byDay := map[adoption.Day]Change{}
		for _, c := range b.changes[t] {
			byDay[c.Day] = c
		}
		for d := first; d <= last; d++ {
			c := byDay[d]
			tn, day, ns = append(tn, t), append(day, d.Date()), append(ns, b.NS)
			total, lost = append(total, c.TotalChange), append(lost, uint64(c.Lost))
			added, linked = append(added, uint64(c.New)), append(linked, uint64(c.Linked))
		}
	}
	if len(tn) > 0 {
		batch, err := s.conn.PrepareBatch(ctx, insertChanges)
		if err != nil {
			return fmt.Errorf("prepare meter changes: %w", err)
		}
		defer batch.Abort() //nolint:errcheck // no-op after Send
		for i, col := range []any{tn, day, ns, total, lost, added, linked} {
			if err := batch.Column(i).Append(col); err != nil {
				return fmt.Errorf("append meter changes: %w", err)
			}
		}
		if err := batch.Send(); err != nil {
			return fmt.Errorf("write meter changes: %w", err)
		}
	}
	return nil
}

// doneRow is t's finished-computation row of b.
func doneRow(b *batch, t string) []any {
	first := int64(noRelations)
	if sp, ok := b.span[t]; ok {
		first = sp[0]
	}
	return []any{t, b.NS, b.Started, first}
}

func dayOfNs(ns int64) adoption.Day { return adoption.DayOf(time.Unix(0, ns)) }

// Refresh recomputes and stores, in one batch, the stale tenants whose
// inputs have settled; it returns how many it stored.
func (s *Service) Refresh(ctx context.Context) (int, error) { return s.stored.Refresh(ctx) }

// RunRefresher refreshes every interval until ctx ends; errors go to
// report (nil: ignored) and are retried on the next round.
func (s *Service) RunRefresher(ctx context.Context, every time.Duration, report func(error)) {
	s.stored.RunRefresher(ctx, every, report)
}

// storedChanges are the changes up to `to` (days before from folded into
// from − 1) and the tenants with a relation event by the end of `to`: from
// the table for fresh tenants, from a computation for the others.
func (s *Service) storedChanges(ctx context.Context, tenant string, from, to adoption.Day) ([]Change, []string, error) {
	end := to.EndNs()
	var changes []Change
	var tenants []string
	err := s.stored.Answer(ctx, tenant, func(f freshness.State[done], stale map[string]bool) error {
		all, err := s.readStored(ctx, tenant, from, to)
		if err != nil {
			return err
		}
		for _, c := range all {
			if !stale[c.Tenant] {
				changes = append(changes, c)
			}
		}
		for t, d := range f.Done {
			if !stale[t] && d.firstNs < end && (tenant == "" || t == tenant) {
				tenants = append(tenants, t)
			}
		}
		return nil
	}, func(b *batch, stale []string) {
		for _, t := range stale {
			if sp, ok := b.span[t]; ok && sp[0] < end {
				tenants = append(tenants, t)
			}
			changes = append(changes, b.changes[t]...) // FromChanges folds the days before from
		}
	})
	if err != nil {
		return nil, nil, err
	}
	return changes, tenants, nil
}

func (s *Service) readStored(ctx context.Context, tenant string, from, to adoption.Day) ([]Change, error) {
	rows, err := s.conn.Query(ctx, qChangesRead, clickhouse.Named("tenant", tenant),
		clickhouse.Named("from", from.String()), clickhouse.Named("to", to.String()))
	if err != nil {
		return nil, fmt.Errorf("read stored meter changes: %w", err)
	}
	return scanChanges(rows)
}
