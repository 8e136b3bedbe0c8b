package followup

import (
	"context"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/kafka"
	"github.com/siyu-dev/siyu/readmodel"
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
			Help: "Board reads served (pages, reminders, digests), by source: memory, or clickhouse while a memory board loads or lags a write."},
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

// Due is Reader.Due, from the tenant's memory board once it is loaded and
// its tail has passed after (a read after writes); else from ClickHouse.
func (bs *Boards) Due(ctx context.Context, tenant, staff string, before, overdueBefore time.Time, after []kafka.Position) ([]DueEntry, error) {
	tb, ready := bs.boards.Get(tenant)
	if !ready || !bs.tail.WaitPassed(ctx, after) {
		bs.boards.Served(false)
		return bs.reader.Due(ctx, tenant, staff, before, overdueBefore)
	}
	bs.boards.Served(true)
	tb.mu.RLock()
	defer tb.mu.RUnlock()
	return tb.b.due(staff, before.UnixNano(), overdueBefore.UnixNano()), nil
}

// DailyDigest is Reader.DailyDigest over Due.
func (bs *Boards) DailyDigest(ctx context.Context, tenant string, scope Scope, date time.Time, after []kafka.Position) ([]RepDigest, error) {
	start := time.Unix(0, DayStart(date))
	due, err := bs.Due(ctx, tenant, scope.StaffID, start.AddDate(0, 0, 1), start, after)
	if err != nil {
		return nil, err
	}
	due = slices.DeleteFunc(due, func(e DueEntry) bool { return !scope.Covers(e.StaffID) })
	return Digest(due), nil
}
