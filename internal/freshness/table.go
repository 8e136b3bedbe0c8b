// Package freshness keeps per-tenant results stored in ClickHouse exact: a
// read answers a tenant from its table only while the tenant is fresh (its
// latest finished computation started after its latest insert plus a
// margin), recomputes every other tenant first, and stores those whose
// inputs have settled; a refresher recomputes and stores the settled stale
// tenants in the background (docs/decisions.md, Metrics 32 and M9).
//
// The adoption series (metrics_results) and metering's daily changes
// (metering_changes) are two such tables: each brings its computation, its
// result rows and its finished-computation rows; the rule, the order of the
// writes and the one-refresh-at-a-time lock live here.
package freshness

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/siyu-dev/siyu/internal/flight"
	"github.com/siyu-dev/siyu/store"
)

// DefaultMargin covers an insert that is still committing: an insert's rows
// are visible within this long after the time metrics_inputs records for it
// (the server clock when its block went through the view).
const DefaultMargin = 15 * time.Second

// Done is a tenant's latest finished computation, as a table's
// finished-computation rows record it.
type Done interface {
	// StartedAt is when the computation started, by the server clock.
	StartedAt() time.Time
}

// Table is one table of stored per-tenant results, D its finished
// computations and B one computation of some tenants. Its fields are set
// once, before its first use.
type Table[D Done, B any] struct {
	Conn   driver.Conn
	Margin time.Duration // see DefaultMargin
	Name   string        // what errors call the computations: "metrics", "meter"

	// DoneQuery reads the finished computations of @tenant ("" = all);
	// ScanDone scans one of its rows.
	DoneQuery string
	ScanDone  func(rows driver.Rows) (tenant string, d D, err error)
	// Compute computes the results of tenants.
	Compute func(ctx context.Context, tenants []string) (B, error)
	// WriteResults writes the result rows of tenants from b.
	WriteResults func(ctx context.Context, b B, tenants []string) error
	// InsertDone writes the finished-computation rows, DoneRow makes one.
	InsertDone string
	DoneRow    func(b B, tenant string) []any

	// Test hooks: after a refresher's computation, before its writes; and
	// between the result rows and the finished-computation rows (an error
	// there is a crash).
	AfterCompute func()
	BeforeDone   func() error

	refreshMu  sync.Mutex  // one Refresh at a time per process
	refreshing atomic.Bool // a Refresh holds refreshMu
	states     flight.Group[State[D]]
}

// State is what decides which tenants the table may answer: the inputs and
// each tenant's latest finished computation.
type State[D Done] struct {
	Inputs
	Done map[string]D
}

// Stale lists, sorted, the tenants whose stored rows may not answer: never
// computed, or computed before an insert minus margin. A fresh tenant's rows
// answer any day.
func (s State[D]) Stale(margin time.Duration) []string {
	return s.Inputs.Stale(func(t string) (time.Time, bool) { d, ok := s.Done[t]; return d.StartedAt(), ok }, margin)
}

// State reads the inputs and finished computations of tenant ("" = all).
// Concurrent reads of one tenant's state share one read (several series of
// one page); the state is read only, by every caller. A read carrying the
// inputs a Memo decided by reads apart: no other caller gets inputs read
// before it arrived.
func (t *Table[D, B]) State(ctx context.Context, tenant string) (State[D], error) {
	if _, ok := carried(ctx, t.Conn, tenant); ok {
		return t.readState(ctx, tenant)
	}
	return t.states.Do(ctx, tenant, func(ctx context.Context) (State[D], error) { return t.readState(ctx, tenant) })
}

func (t *Table[D, B]) readState(ctx context.Context, tenant string) (State[D], error) {
	in, err := ReadInputs(ctx, t.Conn, tenant)
	s := State[D]{Inputs: in, Done: map[string]D{}}
	if err != nil {
		return s, err
	}
	rows, err := t.Conn.Query(ctx, t.DoneQuery, clickhouse.Named("tenant", tenant))
	if err != nil {
		return s, fmt.Errorf("read %s computations: %w", t.Name, err)
	}
	defer rows.Close()
	for rows.Next() {
		tn, d, err := t.ScanDone(rows)
		if err != nil {
			return s, fmt.Errorf("scan %s computations: %w", t.Name, err)
		}
		s.Done[tn] = d
	}
	if err := rows.Err(); err != nil {
		return s, fmt.Errorf("read %s computations: %w", t.Name, err)
	}
	return s, nil
}

// Store writes the result rows of tenants, then their finished-computation
// rows: a crash in between leaves them stale, never half-stored.
func (t *Table[D, B]) Store(ctx context.Context, b B, tenants []string) error {
	if len(tenants) == 0 {
		return nil
	}
	if err := t.WriteResults(ctx, b, tenants); err != nil {
		return err
	}
	if t.BeforeDone != nil {
		if err := t.BeforeDone(); err != nil {
			return err
		}
	}
	rows := make([][]any, 0, len(tenants))
	for _, tn := range tenants {
		rows = append(rows, t.DoneRow(b, tn))
	}
	if err := store.Insert(ctx, t.Conn, t.InsertDone, rows...); err != nil {
		return fmt.Errorf("write %s computations: %w", t.Name, err)
	}
	return nil
}

// Refresh recomputes and stores, in one batch, the stale tenants whose
// inputs have settled; it returns how many it stored.
func (t *Table[D, B]) Refresh(ctx context.Context) (int, error) {
	s, err := t.State(ctx, "")
	if err != nil {
		return 0, err
	}
	due := s.Due(s.Stale(t.Margin), t.Margin)
	if len(due) == 0 {
		return 0, nil
	}
	t.refreshMu.Lock()
	defer t.refreshMu.Unlock()
	t.refreshing.Store(true)
	defer t.refreshing.Store(false)
	b, err := t.Compute(ctx, due)
	if err != nil {
		return 0, err
	}
	if t.AfterCompute != nil {
		t.AfterCompute()
	}
	return len(due), t.Store(ctx, b, due)
}

// RunRefresher refreshes every interval until ctx ends; errors go to
// report (nil: ignored) and are retried on the next round.
func (t *Table[D, B]) RunRefresher(ctx context.Context, every time.Duration, report func(error)) {
	RefreshEvery(ctx, every, t.Refresh, report)
}

// RefreshEvery calls refresh now and then every interval until ctx ends;
// errors go to report (nil: ignored) and are retried on the next round.
func RefreshEvery(ctx context.Context, every time.Duration, refresh func(context.Context) (int, error), report func(error)) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if _, err := refresh(ctx); err != nil && report != nil && ctx.Err() == nil {
			report(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Answer answers tenant ("" = all): the fresh tenants from the table, by
// fromTable (called only when some tenant is fresh, with the state read and
// the stale tenants to skip), the stale ones from a computation of them, by
// fromComputed; it then stores the computed tenants whose inputs have
// settled. A refresh in progress is waited for rather than computing the
// same tenants twice.
func (t *Table[D, B]) Answer(ctx context.Context, tenant string,
	fromTable func(s State[D], stale map[string]bool) error, fromComputed func(b B, stale []string)) error {
	s, err := t.State(ctx, tenant)
	if err != nil {
		return err
	}
	stale := s.Stale(t.Margin)
	if len(stale) > 0 && t.refreshing.Load() {
		// A refresh is computing (after a bulk load, all tenants): wait
		// for it rather than compute the same tenants twice.
		t.refreshMu.Lock()
		t.refreshMu.Unlock() //nolint:staticcheck // only waits
		if s, err = t.State(ctx, tenant); err != nil {
			return err
		}
		stale = s.Stale(t.Margin)
	}
	isStale := make(map[string]bool, len(stale))
	for _, tn := range stale {
		isStale[tn] = true
	}
	if len(stale) < len(s.Inserted) {
		if err := fromTable(s, isStale); err != nil {
			return err
		}
	}
	if len(stale) == 0 {
		return nil
	}
	b, err := t.Compute(ctx, stale)
	if err != nil {
		return err
	}
	fromComputed(b, stale)
	return t.Store(ctx, b, s.Due(stale, t.Margin))
}

// Stamp identifies one computation: Started is its start by the server
// clock (what freshness compares inserts with); NS, that second plus the
// local clock's nanoseconds, versions its rows.
type Stamp struct {
	Started time.Time
	NS      uint64
}

// Begin stamps a computation that starts now.
func Begin(ctx context.Context, conn driver.Conn) (Stamp, error) {
	started, err := ServerClock(ctx, conn)
	if err != nil {
		return Stamp{}, err
	}
	return Stamp{Started: started, NS: uint64(started.Unix())*1e9 + uint64(time.Now().Nanosecond())}, nil
}

// Scope is how a computation of tenants (nil: all) reads its inputs: one
// tenant with a tenant-filtered query (filter), several with one query over
// all tenants whose rows keep filters here.
func Scope(tenants []string) (filter string, keep func(tenant string) bool) {
	want := make(map[string]bool, len(tenants))
	for _, t := range tenants {
		want[t] = true
	}
	if len(tenants) == 1 {
		filter = tenants[0]
	}
	return filter, func(t string) bool { return tenants == nil || want[t] }
}
