package cdp

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/kafka"
	"github.com/siyu-dev/siyu/readmodel"
)

// Memory answers segments and profiles from memory (docs/decisions.md,
// "Segments and profiles from memory"): per tenant whose segments or
// profiles were read, every customer's facts — the columns of
// segment_filter_base, the acquisition, every relation, the tags on, the
// day facts — and the tenant's identity links and tag library, read from
// ClickHouse, with a bit set per tag. It never folds events itself: the
// tail only names the customers whose events arrived (apply), and once the
// ingest group has committed past those events their facts are read again
// from ClickHouse (Run). So a memory row is always a row ClickHouse gave,
// exactly, and a read is as fresh as a ClickHouse read a refresh ago (~the
// ingest commit). A read after a write waits until a refresh has covered
// the write. Until a tenant is loaded, and whenever the tail is not
// running, segments and profiles are read from ClickHouse. The registry
// (readmodel) registers, loads, counts reads, measures and drops tenants.
type Memory struct {
	conn    driver.Conn
	log     *slog.Logger
	now     func() time.Time // the day facts keep the days of the last memDaysBack before it
	tenants *readmodel.Registry[*memTenant]
}

// NewMemory returns the CDP's memory over conn, fed by tail (nil: none;
// only LoadNow puts tenants in memory). Run refreshes it. It counts
// profile and segment reads by source (memory, clickhouse) in reg, when
// not nil.
func NewMemory(conn driver.Conn, tail *readmodel.Tail, reg prometheus.Registerer, log *slog.Logger) *Memory {
	m := &Memory{conn: conn, log: log, now: time.Now}
	m.tenants = readmodel.NewRegistry(readmodel.Model[*memTenant]{
		Name: "cdp",
		Reads: prometheus.CounterOpts{Name: "siyu_cdp_reads_total",
			Help: "Profile reads and segment counts, pages, exports and job scans, by source: memory, or clickhouse while a tenant loads or a refresh lags a write."},
		New:        newMemTenant,
		Load:       m.load,
		Apply:      func(_ string, t *memTenant, ev *event.Event) { t.take(ev) },
		Bytes:      func(t *memTenant) int64 { t.mu.RLock(); defer t.mu.RUnlock(); return t.bytes() },
		CommitPoll: 20 * time.Millisecond,
	}, tail, reg, log)
	return m
}

// SetClock makes m read "now" from now (tests, replays); call it before use.
func (m *Memory) SetClock(now func() time.Time) { m.now = now }

// memRefreshEvery is how often the customers named by the tail are read
// again (once the ingest group has committed their events).
const memRefreshEvery = 100 * time.Millisecond

// Run refreshes the tenants in memory from the events the tail names until
// ctx ends (nil then; at once without a tail).
func (m *Memory) Run(ctx context.Context) error {
	return m.tenants.RunRefresh(ctx, memRefreshEvery, func(ctx context.Context, name string, t *memTenant) error {
		if !t.isBehind() {
			return nil
		}
		return m.refresh(ctx, name, t)
	})
}

// take notes an event of a tenant in memory (under the tail's lock): the
// customer it is about is read again once the ingest group has committed
// past it.
func (t *memTenant) take(ev *event.Event) {
	t.tailMu.Lock()
	defer t.tailMu.Unlock()
	t.behind = true // even an event no segment reads: a read after it waits for a refresh
	switch ev.Type {
	case event.TagDefined:
		t.libDirty = true
	case event.ContactAdded, event.ContactUpdated, event.ContactRemoved, event.ContactTransferred,
		event.ChatMessage, event.TagAdded, event.TagRemoved, event.FollowupLogged, event.FollowupStageChange,
		event.AssigneeChanged:
		t.mark(ev.Subject)
	}
	// An identifier links the subject and itself (identity_links).
	if ev.Data.Present.Has(event.FUnionID) && ev.Data.UnionID != "" {
		t.mark(ev.Subject)
		t.mark(ev.Data.UnionID)
	}
	if ev.Data.Present.Has(event.FPhone) {
		if phone := PhoneID(ev.Data.Phone); phone != "" {
			t.mark(ev.Subject)
			t.mark(phone)
		}
	}
}

// mark names an id to read again (t.tailMu held).
func (t *memTenant) mark(id string) {
	if _, ok := t.dirty[id]; !ok {
		t.dirty[strings.Clone(id)] = struct{}{}
	}
}

// Ready reports whether tenant is loaded in memory (for tests and the bench).
func (m *Memory) Ready(tenant string) bool { return m.tenants.Ready(tenant) }

// view returns tenant's memory when it may answer a read of ctx: loaded,
// and, for a read after a write (kafka.ReadAfter), refreshed past the
// write (waiting at most maxCoverWait). Nil means: read ClickHouse.
func (m *Memory) view(ctx context.Context, tenant string) *memTenant {
	if m == nil {
		return nil
	}
	t, ready := m.tenants.Get(tenant)
	if !ready {
		t = nil
	} else if ps := kafka.ReadAfter(ctx); len(ps) > 0 && !t.waitCovered(ctx, ps) {
		t = nil
	}
	m.tenants.Served(t != nil)
	return t
}

// maxCoverWait bounds how long a read after a write waits for a refresh
// before it reads ClickHouse instead (which the API has waited for).
const maxCoverWait = 2 * time.Second

func (t *memTenant) waitCovered(ctx context.Context, ps []kafka.Position) bool {
	return readmodel.Await(ctx, maxCoverWait, func() (bool, <-chan struct{}) { return t.coveredBy(ps) })
}

// coveredBy reports whether every event up to ps is in memory, and gives
// the channel closed when that moves.
func (t *memTenant) coveredBy(ps []kafka.Position) (bool, <-chan struct{}) {
	t.tailMu.Lock()
	defer t.tailMu.Unlock()
	for _, p := range ps {
		if t.covered[p.Partition] < p.Offset {
			return false, t.moved
		}
	}
	return true, t.moved
}

// LoadNow loads tenant into memory now, without a tail (tests and tools):
// it is not refreshed afterwards.
func (m *Memory) LoadNow(ctx context.Context, tenant string) error {
	t := newMemTenant(nil)
	if err := m.load(ctx, tenant, t); err != nil {
		return err
	}
	m.tenants.Put(tenant, t)
	return nil
}

func (t *memTenant) isBehind() bool {
	t.tailMu.Lock()
	defer t.tailMu.Unlock()
	return t.behind
}

// refreshChunk is how many customers one refresh read asks for.
const refreshChunk = 20000

// refresh reads again the customers the tail named, once the ingest group
// has committed past every record the tail had read when it took them (a
// cut: take runs under the tail's lock too); then everything up to there
// is covered.
func (m *Memory) refresh(ctx context.Context, name string, t *memTenant) (err error) {
	var dirty map[string]struct{}
	var lib bool
	var upTo []kafka.Position
	if !m.tenants.Tail().AtTail(func(read []kafka.Position) {
		t.tailMu.Lock()
		dirty, lib, upTo = t.dirty, t.libDirty, read
		t.dirty, t.libDirty, t.behind = map[string]struct{}{}, false, false
		t.tailMu.Unlock()
	}) {
		return nil
	}
	defer func() {
		if err == nil {
			return
		}
		t.tailMu.Lock()
		for id := range dirty { // read them again next time
			t.dirty[id] = struct{}{}
		}
		t.libDirty, t.behind = t.libDirty || lib, true
		t.tailMu.Unlock()
	}()
	if err := m.tenants.WaitCommitted(ctx, upTo); err != nil {
		return err
	}
	if lib {
		library, err := m.readLibrary(ctx, name)
		if err != nil {
			return err
		}
		t.mu.Lock()
		t.library = library
		t.mu.Unlock()
	}
	ids := make([]string, 0, len(dirty))
	for id := range dirty {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for start := 0; start < len(ids); start += refreshChunk {
		facts, err := m.readFacts(ctx, name, ids[start:min(start+refreshChunk, len(ids))])
		if err != nil {
			return err
		}
		t.mu.Lock()
		t.putAll(facts, ids[start:min(start+refreshChunk, len(ids))])
		t.mu.Unlock()
	}
	t.tailMu.Lock()
	for _, p := range upTo {
		t.covered[p.Partition] = max(t.covered[p.Partition], p.Offset)
	}
	close(t.moved)
	t.moved = make(chan struct{})
	t.tailMu.Unlock()
	return nil
}

// Covered reports whether every event up to ps is in tenant's memory
// (for tests and the bench).
func (m *Memory) Covered(tenant string, ps []kafka.Position) bool {
	t, ready := m.tenants.Peek(tenant)
	if !ready {
		return false
	}
	covered, _ := t.coveredBy(ps)
	return covered
}
