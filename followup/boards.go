package followup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/kafka"
	siyusql "github.com/siyu-dev/siyu/sql"
)

var (
	qMemFacts     = siyusql.Query("board_memory_facts")
	qMemStages    = siyusql.Query("board_memory_stages")
	qMemNames     = siyusql.Query("board_memory_names")
	qMemInbound   = siyusql.Query("board_memory_inbound")
	qMemRelations = siyusql.Query("board_memory_relations")
)

// Committer tells whether the ingest group has committed past positions
// (kafka.Committed).
type Committer = kafka.Passer

// Boards serves boards from memory (docs/decisions.md, "Board", B8): the
// first board read of a tenant registers the tenant's memory board, which from then
// on takes every event of the tenant from the Kafka tail (Run) and, once the
// ingest group has committed past where the tail stood at registration,
// joins a snapshot of the tenant's facts from ClickHouse. Until the memory board is
// complete, and whenever the tail is not running, boards are read from
// ClickHouse (Reader.Board): the same pages.
type Boards struct {
	conn      driver.Conn
	reader    *Reader
	committed Committer
	log       *slog.Logger
	reads     *prometheus.CounterVec // board reads by where they were served from

	mu      sync.Mutex
	running bool
	ctx     context.Context // Run's: loads end with it
	pos     map[int32]int64 // the next offset the tail reads, per partition
	moved   chan struct{}   // closed and replaced whenever pos moves
	tenants map[string]*tenantBoard

	pages    *timelineCache // first timeline pages of memory-board tenants
	timeline *prometheus.CounterVec

	followers []Follower // other memory views the tail feeds
}

// Follower is another memory view this process's tail feeds (cdp's memory
// segments). Follows tells whether a tenant's events go to it, before the
// record is decoded; Take receives every decoded event that passed the
// filter of any follower (it ignores tenants it does not follow). Both are
// called under the tail's lock, Follows for every record: they must be quick.
type Follower interface {
	Follows(tenant []byte) bool
	Take(ev *event.Event)
}

// Follow adds f to the views the tail feeds; call it before Run.
func (bs *Boards) Follow(f Follower) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	bs.followers = append(bs.followers, f)
}

// AtTail runs fn under the tail's lock with the last record the tail has
// read of each partition: a view registering there sees every later event
// through Take and every earlier one once the ingest group has committed
// past those positions. It reports false (fn not run) when the tail is not
// running.
func (bs *Boards) AtTail(fn func(read []kafka.Position)) bool {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if !bs.running {
		return false
	}
	fn(bs.readLocked())
	return true
}

// follows reports whether a follower takes tenant's events (bs.mu held).
func (bs *Boards) follows(tenant []byte) bool {
	for _, f := range bs.followers {
		if f.Follows(tenant) {
			return true
		}
	}
	return false
}

// tenantBoard is one tenant's memory board and its lock.
type tenantBoard struct {
	mu       sync.RWMutex
	b        *memBoard
	ready    chan struct{} // closed once the snapshot is joined
	lastUsed time.Time     // the last read that asked for it (under Boards.mu)
}

// idleEviction is how long a memory board stays without reads before it
// is dropped (its memory freed; the next read loads it again).
const idleEviction = time.Hour

// NewBoards returns boards in memory over conn, reading through reader until
// a tenant's memory board is complete; committed watches the ingest group.
// It counts board reads by source (memory, clickhouse) in reg, when not nil.
func NewBoards(conn driver.Conn, reader *Reader, committed Committer, reg prometheus.Registerer, log *slog.Logger) *Boards {
	reads := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "siyu_board_reads_total",
		Help: "Board pages served, by source: memory, or clickhouse while a memory board loads or lags a write."},
		[]string{"source"})
	timeline := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "siyu_timeline_first_pages_total",
		Help: "Timeline first pages served, by cache result: hit, miss (read from ClickHouse), bypass (not cacheable)."},
		[]string{"result"})
	if reg != nil {
		reg.MustRegister(reads, timeline)
	}
	return &Boards{conn: conn, reader: reader, committed: committed, log: log, reads: reads, timeline: timeline,
		tenants: map[string]*tenantBoard{}, moved: make(chan struct{}), pages: newTimelineCache(maxCachedPages)}
}

// Run tails the events topic with cl, which consumes it from start (the
// next offset of each partition, e.g. kafka.Tail's), until ctx ends.
func (bs *Boards) Run(ctx context.Context, cl *kgo.Client, start map[int32]int64) error {
	bs.mu.Lock()
	bs.running, bs.ctx, bs.pos = true, ctx, map[int32]int64{}
	for p, o := range start {
		bs.pos[p] = o
	}
	bs.mu.Unlock()
	defer func() {
		bs.mu.Lock()
		bs.running = false
		bs.mu.Unlock()
	}()
	go bs.evictEvery(ctx, time.Minute)
	var at time.Time // the record time: the decoder's 24 h future check, as the pipeline's
	dec := event.NewDecoder(func() time.Time { return at })
	for {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		failed := false
		fetches.EachError(func(topic string, p int32, err error) {
			bs.log.Warn("board tail: fetch failed; retrying", "topic", topic, "partition", p, "err", err)
			failed = true
		})
		bs.take(dec, &at, fetches)
		if failed {
			select { // the client retries by itself; don't spin on a broker that is down
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

// take applies one fetch's events to the memory boards of their tenants and moves
// the tail's positions past it, atomically with respect to registration.
func (bs *Boards) take(dec *event.Decoder, at *time.Time, fetches kgo.Fetches) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	fetches.EachRecord(func(r *kgo.Record) {
		bs.pos[r.Partition] = r.Offset + 1
		if t, _, ok := bytes.Cut(r.Key, []byte("/")); ok && bs.tenants[string(t)] == nil && !bs.follows(t) { // no allocation
			return // not a tenant with a memory view: no need to decode
		}
		*at = r.Timestamp
		ev, err := dec.Decode(r.Value)
		if err != nil {
			return // the pipeline dead-letters it: it is in no rollup either
		}
		for _, f := range bs.followers {
			f.Take(ev)
		}
		tb := bs.tenants[ev.Tenant]
		if tb == nil {
			return
		}
		bs.pages.invalidate(ev.Tenant, ev.Subject)
		f, ok := eventFact(ev)
		if !ok {
			return
		}
		tb.mu.Lock()
		tb.b.apply(f)
		tb.mu.Unlock()
	})
	close(bs.moved)
	bs.moved = make(chan struct{})
}

// lastNsTypes are the event types that count toward a customer's last
// event time (contact_facts.last_ns, as profile_state.last_ns).
var lastNsTypes = map[event.Type]bool{
	event.ContactAdded: true, event.ContactUpdated: true, event.ContactRemoved: true,
	event.ContactTransferred: true, event.ChatMessage: true, event.TagAdded: true, event.TagRemoved: true,
	event.FollowupLogged: true, event.FollowupStageChange: true,
}

// eventFact is the board fact of ev, as the contact_facts and
// followup_facts views read it; ok is false for events no board reads.
func eventFact(ev *event.Event) (fact, bool) {
	key := EventKey{TimeNs: ev.TimeNs(), ID: strings.Clone(ev.ID), Source: strings.Clone(ev.Source)}
	f := fact{contact: strings.Clone(ev.Subject), key: key}
	if lastNsTypes[ev.Type] {
		f.lastNs = key.TimeNs
	}
	switch ev.Type {
	case event.ContactAdded:
		f.kind, f.staff = factAdded, strings.Clone(ev.Data.StaffID)
		f.relations = []relationFact{{staff: f.staff, live: true}}
	case event.ContactRemoved:
		f.relations = []relationFact{{staff: strings.Clone(ev.Data.StaffID)}}
	case event.ContactTransferred: // relation_events: the new side, and the old unless the same
		f.relations = []relationFact{{staff: strings.Clone(ev.Data.ToStaffID), live: true}}
		if ev.Data.FromStaffID != ev.Data.ToStaffID {
			f.relations = append(f.relations, relationFact{staff: strings.Clone(ev.Data.FromStaffID)})
		}
	case event.AssigneeChanged:
		f.kind, f.staff = factAssigned, strings.Clone(ev.Data.ToStaffID)
	case event.FollowupLogged:
		f.kind, f.nextNs = factFollowup, ev.Data.NextAtNs
	case event.FollowupStageChange:
		f.kind, f.stage = factStaged, strings.Clone(ev.Data.Stage)
	case event.ChatMessage:
		if ev.Data.Direction == "in" {
			f.inNs = key.TimeNs
		}
	}
	if f.lastNs == 0 && f.kind == factTouch {
		return fact{}, false
	}
	if f.lastNs != 0 && ev.Data.Present.Has(event.FName) { // profile_state.name: the profile's event types
		f.named, f.name = true, strings.Clone(ev.Data.Name)
	}
	return f, true
}

// Board returns a page of a rep's board: from the tenant's memory board when it is
// complete and, for a read after a write (q.After), when the tail has passed
// the write; otherwise from ClickHouse.
func (bs *Boards) Board(ctx context.Context, q BoardQuery) (*BoardPage, error) {
	tb := bs.tenant(q.Tenant)
	if tb == nil || !isClosed(tb.ready) || !bs.waitPassed(ctx, q.After) {
		bs.reads.WithLabelValues("clickhouse").Inc()
		return bs.reader.Board(ctx, q)
	}
	bs.reads.WithLabelValues("memory").Inc()
	pos := boardCursor{Key: -math.MaxInt64}
	if q.Cursor != "" {
		if err := decodeCursor(q.Cursor, &pos); err != nil {
			return nil, err
		}
	}
	tb.mu.RLock()
	rows := tb.b.page(q, pos, q.Limit+1)
	tb.mu.RUnlock()
	return assemblePage(q, rows), nil
}

// Assignee is a customer's assignee from the tenant's memory board ("" =
// the pool or no such customer, as Reader.Assignee); ok is false when the
// memory board is not complete (ask ClickHouse).
func (bs *Boards) Assignee(tenant, contact string) (staff string, ok bool) {
	tb := bs.tenant(tenant)
	if tb == nil || !isClosed(tb.ready) {
		return "", false
	}
	tb.mu.RLock()
	defer tb.mu.RUnlock()
	return tb.b.assignee(contact), true
}

// MayRead reports whether tenant's memory board shows that the customer
// exists and, when staff is not empty, that staff is its assignee or holds
// a live relation with it. False means "ask ClickHouse": the memory board
// may not be loaded, and it knows relations by contact id only, not those
// of the customer's other ids (cdp.Profiles.GetHolders).
func (bs *Boards) MayRead(tenant, contact, staff string) bool {
	tb := bs.tenant(tenant)
	if tb == nil || !isClosed(tb.ready) {
		return false
	}
	tb.mu.RLock()
	defer tb.mu.RUnlock()
	return tb.b.mayRead(contact, staff)
}

// Ready reports whether tenant's memory board is complete (for tests and the bench).
func (bs *Boards) Ready(tenant string) bool {
	tb := bs.tenant(tenant)
	return tb != nil && isClosed(tb.ready)
}

// evictEvery drops idle memory boards every period until ctx ends.
func (bs *Boards) evictEvery(ctx context.Context, period time.Duration) {
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-time.After(period):
			if n := bs.EvictIdle(now, idleEviction); n > 0 {
				bs.log.Info("memory boards dropped after an idle hour", "tenants", n)
			}
		}
	}
}

// EvictIdle drops the memory boards not read since now-idle, and their
// cached timeline pages (the tail no longer keeps them fresh); it returns
// how many it dropped. A later read loads the tenant again.
func (bs *Boards) EvictIdle(now time.Time, idle time.Duration) int {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	n := 0
	for t, tb := range bs.tenants {
		if now.Sub(tb.lastUsed) >= idle {
			delete(bs.tenants, t)
			bs.pages.purgeTenant(t)
			n++
		}
	}
	return n
}

// registered reports whether tb is still tenant's memory board.
func (bs *Boards) registered(tenant string, tb *tenantBoard) bool {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	return bs.tenants[tenant] == tb
}

// tenant returns tenant's memory board, registering it when the tail runs; nil when
// it does not.
func (bs *Boards) tenant(tenant string) *tenantBoard {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if tb := bs.tenants[tenant]; tb != nil || !bs.running {
		if tb != nil {
			tb.lastUsed = time.Now()
		}
		return tb
	}
	tb := &tenantBoard{b: newMemBoard(), ready: make(chan struct{}), lastUsed: time.Now()}
	bs.tenants[tenant] = tb
	go bs.load(bs.ctx, tenant, tb, bs.readLocked())
	return tb
}

// readLocked are the last records the tail has read, per partition (bs.mu
// held).
func (bs *Boards) readLocked() []kafka.Position {
	out := make([]kafka.Position, 0, len(bs.pos))
	for p, o := range bs.pos {
		if o > 0 {
			out = append(out, kafka.Position{Partition: p, Offset: o - 1})
		}
	}
	return out
}

// load joins the tenant's snapshot into its memory board once the ingest group has
// committed every event the tail had passed at registration (at): events
// before it come from ClickHouse, events after it from the tail, and
// overlap is harmless. It retries until it succeeds or ctx ends.
func (bs *Boards) load(ctx context.Context, tenant string, tb *tenantBoard, at []kafka.Position) {
	start := time.Now()
	for attempt := 0; ctx.Err() == nil; attempt++ {
		err := bs.loadOnce(ctx, tenant, tb, at)
		if err == nil {
			tb.mu.Lock()
			tb.b.shelveAll()
			tb.mu.Unlock()
			close(tb.ready)
			debug.FreeOSMemory() // the snapshot's garbage: a load is rare and large
			tb.mu.RLock()
			n := len(tb.b.cards)
			tb.mu.RUnlock()
			bs.log.Info("memory board loaded", "tenant", tenant, "customers", n, "took", time.Since(start).Round(time.Millisecond))
			return
		}
		if ctx.Err() != nil {
			return
		}
		bs.log.Warn("memory board: load failed; boards are read from ClickHouse meanwhile", "tenant", tenant, "attempt", attempt+1, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// errNotCommitted means the ingest group has not yet committed what the
// tail had passed; the load waits.
var errNotCommitted = errors.New("the ingest group has not committed the events before the memory board yet")

func (bs *Boards) loadOnce(ctx context.Context, tenant string, tb *tenantBoard, at []kafka.Position) error {
	if err := bs.waitCommitted(ctx, at); err != nil {
		return err
	}
	batch := &factBatch{tb: tb, facts: make([]fact, 0, 4096)}
	for _, sr := range snapshotReads {
		if err := bs.readSnapshot(ctx, tenant, sr, batch); err != nil {
			return err
		}
	}
	return nil
}

// snapshotRead is one query of a tenant's snapshot and how a row of it
// becomes a fact.
type snapshotRead struct {
	what  string
	query string
	scan  func(driver.Rows) (fact, error)
}

// snapshotReads are the rows a memory board is loaded from: the board facts
// (contact_facts kinds 0-3), stage changes, relation events, named events
// and each customer's last inbound message.
var snapshotReads = []snapshotRead{
	{"facts", qMemFacts, func(rows driver.Rows) (fact, error) {
		var f fact
		var kind uint8
		var lastNs uint64
		err := rows.Scan(&f.contact, &kind, &f.key.TimeNs, &f.key.ID, &f.key.Source, &f.staff, &f.nextNs, &lastNs)
		f.kind, f.lastNs = snapshotKind(kind), int64(lastNs)
		return f, err
	}},
	{"stages", qMemStages, func(rows driver.Rows) (fact, error) {
		f := fact{kind: factStaged}
		return f, rows.Scan(&f.contact, &f.key.TimeNs, &f.key.ID, &f.key.Source, &f.stage)
	}},
	{"relations", qMemRelations, func(rows driver.Rows) (fact, error) {
		var f fact
		var r relationFact
		var live uint8
		err := rows.Scan(&f.contact, &r.staff, &f.key.TimeNs, &f.key.ID, &f.key.Source, &live)
		r.live = live == 1
		f.relations = []relationFact{r}
		return f, err
	}},
	{"names", qMemNames, func(rows driver.Rows) (fact, error) {
		f := fact{named: true}
		err := rows.Scan(&f.contact, &f.key.TimeNs, &f.key.ID, &f.key.Source, &f.name)
		f.lastNs = f.key.TimeNs // a named event is one of the profile's
		return f, err
	}},
	{"last inbound", qMemInbound, func(rows driver.Rows) (fact, error) {
		var f fact
		err := rows.Scan(&f.contact, &f.inNs)
		f.lastNs = f.inNs
		return f, err
	}},
}

// readSnapshot joins the rows of one snapshot query into batch's board.
func (bs *Boards) readSnapshot(ctx context.Context, tenant string, sr snapshotRead, batch *factBatch) error {
	rows, err := bs.conn.Query(ctx, sr.query, clickhouse.Named("tenant", tenant))
	if err != nil {
		return fmt.Errorf("read board %s: %w", sr.what, err)
	}
	defer rows.Close()
	for rows.Next() {
		f, err := sr.scan(rows)
		if err != nil {
			return fmt.Errorf("read board %s: %w", sr.what, err)
		}
		batch.add(f)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read board %s: %w", sr.what, err)
	}
	batch.flush()
	return nil
}

// factBatch applies snapshot facts to a memory board a few thousand at a
// time, so that the tail and readers wait only briefly for its lock.
type factBatch struct {
	tb    *tenantBoard
	facts []fact
}

func (fb *factBatch) add(f fact) {
	if fb.facts = append(fb.facts, f); len(fb.facts) == cap(fb.facts) {
		fb.flush()
	}
}

func (fb *factBatch) flush() {
	fb.tb.mu.Lock()
	for _, f := range fb.facts {
		fb.tb.b.apply(f)
	}
	fb.tb.mu.Unlock()
	fb.facts = fb.facts[:0]
}

// snapshotKind maps a contact_facts kind (0 last event, 1 added, 2
// assigned, 3 follow-up) to a fact kind.
func snapshotKind(kind uint8) factKind {
	switch kind {
	case 1:
		return factAdded
	case 2:
		return factAssigned
	case 3:
		return factFollowup
	}
	return factTouch
}

// waitCommitted polls until the ingest group has committed past at.
func (bs *Boards) waitCommitted(ctx context.Context, at []kafka.Position) error {
	return kafka.AwaitPassed(ctx, bs.committed, at, 50*time.Millisecond, func() {
		bs.log.Warn("memory board waits for the ingest group", "err", errNotCommitted)
	})
}

// maxTailWait bounds how long a read after a write waits for the tail
// before it reads ClickHouse instead (which the API has waited for).
const maxTailWait = time.Second

// waitPassed waits (bounded) until the tail has read past every position;
// it reports whether it did.
func (bs *Boards) waitPassed(ctx context.Context, ps []kafka.Position) bool {
	if len(ps) == 0 {
		return true
	}
	deadline := time.NewTimer(maxTailWait)
	defer deadline.Stop()
	for {
		passed, moved := bs.passed(ps)
		if passed {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-deadline.C:
			return false
		case <-moved:
		}
	}
}

// WaitPassed waits (at most a second) until the tail has read past every
// position; it reports whether it did.
func (bs *Boards) WaitPassed(ctx context.Context, ps []kafka.Position) bool {
	return bs.waitPassed(ctx, ps)
}

// Passed reports whether the tail has read past every position.
func (bs *Boards) Passed(ps []kafka.Position) bool {
	ok, _ := bs.passed(ps)
	return ok
}

// passed reports whether the tail has read past ps, and gives the channel
// closed at its next move.
func (bs *Boards) passed(ps []kafka.Position) (bool, <-chan struct{}) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	for _, p := range ps {
		if bs.pos[p.Partition] <= p.Offset {
			return false, bs.moved
		}
	}
	return true, bs.moved
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
