package metering

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/siyu-dev/siyu/metrics"
	siyusql "github.com/siyu-dev/siyu/sql"
	"github.com/siyu-dev/siyu/store"
)

// Stored daily changes (docs/decisions.md, M9): the output of
// metering_daily_changes.sql over all of a tenant's relation events lives
// in metering_changes (migration 0014), recomputed only for tenants whose
// events changed. A read answers a tenant from the table only when its
// latest finished computation started after its latest insert
// (metrics_inputs, migration 0013) plus the margin; every other tenant is
// recomputed first (and stored when its inputs have settled).

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
const allTime = metrics.Day(40000) // 2079-07-07

type done struct {
	started time.Time
	firstNs int64
}

// freshness is what decides which tenants the stored changes may answer
// (the rule of metrics' stored series: docs/decisions.md, M9).
type freshness struct {
	metrics.Inputs
	done map[string]done
}

// stale lists, sorted, the tenants never computed or computed before an
// insert minus margin.
func (f freshness) stale(margin time.Duration) []string {
	return f.Stale(func(t string) (time.Time, bool) { d, ok := f.done[t]; return d.started, ok }, margin)
}

func (s *Service) freshness(ctx context.Context, tenant string) (freshness, error) {
	in, err := metrics.ReadInputs(ctx, s.conn, tenant)
	f := freshness{Inputs: in, done: map[string]done{}}
	if err != nil {
		return f, err
	}
	rows, err := s.conn.Query(ctx, qChangesDone, clickhouse.Named("tenant", tenant))
	if err != nil {
		return f, fmt.Errorf("read meter computations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t string
		var d done
		var ns uint64
		if err := rows.Scan(&t, &d.started, &d.firstNs, &ns); err != nil {
			return f, fmt.Errorf("scan meter computations: %w", err)
		}
		f.done[t] = d
	}
	if err := rows.Err(); err != nil {
		return f, fmt.Errorf("read meter computations: %w", err)
	}
	return f, nil
}

// batch is one computation of the daily changes of some tenants over all
// their relation events.
type batch struct {
	started time.Time
	ns      uint64
	changes map[string][]Change
	span    map[string][2]int64 // first and last relation event
}

// compute folds all relation events of tenants: one query over all tenants
// filtered here when there are several, a tenant-filtered one for one.
func (s *Service) compute(ctx context.Context, tenants []string) (*batch, error) {
	started, err := metrics.ServerClock(ctx, s.conn)
	if err != nil {
		return nil, err
	}
	b := &batch{started: started, ns: uint64(started.Unix())*1e9 + uint64(time.Now().Nanosecond()),
		changes: map[string][]Change{}, span: map[string][2]int64{}}
	filter, want := "", map[string]bool{}
	for _, t := range tenants {
		want[t] = true
	}
	if len(tenants) == 1 {
		filter = tenants[0]
	}
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
		if want[t] {
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
		if want[c.Tenant] && c.Day >= 1 {
			b.changes[c.Tenant] = append(b.changes[c.Tenant], c)
		}
	}
	return b, nil
}

// store writes the dense rows of tenants, then their finished-computation
// rows: a crash in between leaves them stale, never half-stored.
func (s *Service) store(ctx context.Context, b *batch, tenants []string) error {
	if len(tenants) == 0 {
		return nil
	}
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
		byDay := map[metrics.Day]Change{}
		for _, c := range b.changes[t] {
			byDay[c.Day] = c
		}
		for d := first; d <= last; d++ {
			c := byDay[d]
			tn, day, ns = append(tn, t), append(day, d.Date()), append(ns, b.ns)
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
	if s.beforeDone != nil {
		if err := s.beforeDone(); err != nil {
			return err
		}
	}
	rows := make([][]any, 0, len(tenants))
	for _, t := range tenants {
		first := int64(noRelations)
		if sp, ok := b.span[t]; ok {
			first = sp[0]
		}
		rows = append(rows, []any{t, b.ns, b.started, first})
	}
	if err := store.Insert(ctx, s.conn, insertDone, rows...); err != nil {
		return fmt.Errorf("write meter computations: %w", err)
	}
	return nil
}

func dayOfNs(ns int64) metrics.Day { return metrics.DayOf(time.Unix(0, ns)) }

// Refresh recomputes and stores, in one batch, the stale tenants whose
// inputs have settled; it returns how many it stored.
func (s *Service) Refresh(ctx context.Context) (int, error) {
	f, err := s.freshness(ctx, "")
	if err != nil {
		return 0, err
	}
	due := f.Due(f.stale(s.margin), s.margin)
	if len(due) == 0 {
		return 0, nil
	}
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	s.refreshing.Store(true)
	defer s.refreshing.Store(false)
	b, err := s.compute(ctx, due)
	if err != nil {
		return 0, err
	}
	return len(due), s.store(ctx, b, due)
}

// RunRefresher refreshes every interval until ctx ends; errors go to
// report (nil: ignored) and are retried on the next round.
func (s *Service) RunRefresher(ctx context.Context, every time.Duration, report func(error)) {
	metrics.RefreshEvery(ctx, every, s.Refresh, report)
}

// storedChanges are the changes up to `to` (days before from folded into
// from − 1) and the tenants with a relation event by the end of `to`: from
// the table for fresh tenants, from a computation for the others.
func (s *Service) storedChanges(ctx context.Context, tenant string, from, to metrics.Day) ([]Change, []string, error) {
	f, err := s.freshness(ctx, tenant)
	if err != nil {
		return nil, nil, err
	}
	stale := f.stale(s.margin)
	if len(stale) > 0 && s.refreshing.Load() {
		// A refresh is computing (after a bulk load, all tenants): wait
		// for it rather than compute the same tenants twice.
		s.refreshMu.Lock()
		s.refreshMu.Unlock() //nolint:staticcheck // only waits
		if f, err = s.freshness(ctx, tenant); err != nil {
			return nil, nil, err
		}
		stale = f.stale(s.margin)
	}
	isStale := map[string]bool{}
	for _, t := range stale {
		isStale[t] = true
	}
	end := to.EndNs()
	var changes []Change
	var tenants []string
	if len(stale) < len(f.Inserted) {
		all, err := s.readStored(ctx, tenant, from, to)
		if err != nil {
			return nil, nil, err
		}
		for _, c := range all {
			if !isStale[c.Tenant] {
				changes = append(changes, c)
			}
		}
		for t, d := range f.done {
			if !isStale[t] && d.firstNs < end && (tenant == "" || t == tenant) {
				tenants = append(tenants, t)
			}
		}
	}
	if len(stale) > 0 {
		b, err := s.compute(ctx, stale)
		if err != nil {
			return nil, nil, err
		}
		settled := f.Due(stale, s.margin)
		for _, t := range stale {
			if sp, ok := b.span[t]; ok && sp[0] < end {
				tenants = append(tenants, t)
			}
			changes = append(changes, b.changes[t]...) // FromChanges folds the days before from
		}
		if err := s.store(ctx, b, settled); err != nil {
			return nil, nil, err
		}
	}
	return changes, tenants, nil
}

func (s *Service) readStored(ctx context.Context, tenant string, from, to metrics.Day) ([]Change, error) {
	rows, err := s.conn.Query(ctx, qChangesRead, clickhouse.Named("tenant", tenant),
		clickhouse.Named("from", from.String()), clickhouse.Named("to", to.String()))
	if err != nil {
		return nil, fmt.Errorf("read stored meter changes: %w", err)
	}
	return scanChanges(rows)
}
