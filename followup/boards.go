package followup

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/kafka"
	"github.com/siyu-dev/siyu/readmodel"
	siyusql "github.com/siyu-dev/siyu/sql"
)

var (
	qMemFacts     = siyusql.Query("board_memory_facts")
	qMemStages    = siyusql.Query("board_memory_stages")
	qMemNames     = siyusql.Query("board_memory_names")
	qMemInbound   = siyusql.Query("board_memory_inbound")
	qMemRelations = siyusql.Query("board_memory_relations")
)

// Boards serves boards from memory (docs/decisions.md, "Board", B8): the
// first board read of a tenant registers the tenant's memory board in a
// read-model registry, which from then on folds every event of the tenant
// from the process's Kafka tail and, once the ingest group has committed
// past where the tail stood at registration, joins a snapshot of the
// tenant's facts from ClickHouse. Until the memory board is complete, and
// whenever the tail is not running, boards are read from ClickHouse
// (Reader.Board): the same pages.
type Boards struct {
	conn   driver.Conn
	reader *Reader
	tail   *readmodel.Tail // nil: every board is read from ClickHouse
	boards *readmodel.Registry[*tenantBoard]

	pages    *timelineCache // first timeline pages of memory-board tenants
	timeline *prometheus.CounterVec
}

// tenantBoard is one tenant's memory board and its lock.
type tenantBoard struct {
	mu sync.RWMutex
	b  *memBoard
}

// NewBoards returns boards in memory over conn, fed by tail (nil: none,
// every board is read through reader) and reading through reader until a
// tenant's memory board is complete. It counts board reads by source
// (memory, clickhouse) and timeline first pages by cache result in reg,
// when not nil.
func NewBoards(conn driver.Conn, reader *Reader, tail *readmodel.Tail, reg prometheus.Registerer, log *slog.Logger) *Boards {
	timeline := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "siyu_timeline_first_pages_total",
		Help: "Timeline first pages served, by cache result: hit, miss (read from ClickHouse), bypass (not cacheable)."},
		[]string{"result"})
	if reg != nil {
		reg.MustRegister(timeline)
	}
	bs := &Boards{conn: conn, reader: reader, tail: tail, timeline: timeline, pages: newTimelineCache(maxCachedPages)}
	bs.boards = readmodel.NewRegistry(readmodel.Model[*tenantBoard]{
		Name: "boards",
		Reads: prometheus.CounterOpts{Name: "siyu_board_reads_total",
			Help: "Board pages served, by source: memory, or clickhouse while a memory board loads or lags a write."},
		New:        func([]kafka.Position) *tenantBoard { return &tenantBoard{b: newMemBoard()} },
		Load:       bs.load,
		Apply:      bs.apply,
		Bytes:      func(tb *tenantBoard) int64 { tb.mu.RLock(); defer tb.mu.RUnlock(); return tb.b.bytes() },
		Dropped:    bs.pages.purgeTenant, // the tail no longer keeps them fresh
		CommitPoll: 50 * time.Millisecond,
	}, tail, reg, log)
	return bs
}

// apply folds an event of a tenant with a memory board (under the tail's
// lock): its customer's cached timeline pages go, its board fact is joined.
func (bs *Boards) apply(tenant string, tb *tenantBoard, ev *event.Event) {
	bs.pages.invalidate(tenant, ev.Subject)
	f, ok := eventFact(ev)
	if !ok {
		return
	}
	tb.mu.Lock()
	tb.b.apply(f)
	tb.mu.Unlock()
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
	tb, ready := bs.boards.Get(q.Tenant)
	if !ready || !bs.tail.WaitPassed(ctx, q.After) {
		bs.boards.Served(false)
		return bs.reader.Board(ctx, q)
	}
	bs.boards.Served(true)
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
	tb, ready := bs.boards.Get(tenant)
	if !ready {
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
	tb, ready := bs.boards.Get(tenant)
	if !ready {
		return false
	}
	tb.mu.RLock()
	defer tb.mu.RUnlock()
	return tb.b.mayRead(contact, staff)
}

// Ready reports whether tenant's memory board is complete (for tests and the bench).
func (bs *Boards) Ready(tenant string) bool {
	_, ready := bs.boards.Get(tenant)
	return ready
}

// EvictIdle drops the memory boards not read since now-idle, and their
// cached timeline pages; it returns how many it dropped. A later read
// loads the tenant again.
func (bs *Boards) EvictIdle(now time.Time, idle time.Duration) int {
	return bs.boards.EvictIdle(now, idle)
}

// WaitPassed waits (at most a second) until the tail has read past every
// position; it reports whether it did (false without a tail).
func (bs *Boards) WaitPassed(ctx context.Context, ps []kafka.Position) bool {
	return bs.tail.WaitPassed(ctx, ps)
}

// Passed reports whether the tail has read past every position.
func (bs *Boards) Passed(ps []kafka.Position) bool { return bs.tail.Passed(ps) }

// load joins the tenant's snapshot into its memory board (the registry
// calls it once the ingest group has committed past the board's
// registration): events before it come from ClickHouse, events after it
// from the tail, and overlap is harmless. Then the shelves are built.
func (bs *Boards) load(ctx context.Context, tenant string, tb *tenantBoard) error {
	batch := &factBatch{tb: tb, facts: make([]fact, 0, 4096)}
	for _, sr := range snapshotReads {
		if err := bs.readSnapshot(ctx, tenant, sr, batch); err != nil {
			return err
		}
	}
	tb.mu.Lock()
	tb.b.shelveAll()
	tb.mu.Unlock()
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
