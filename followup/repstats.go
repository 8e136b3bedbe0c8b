package followup

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/siyu-dev/siyu/adoption"
	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/kafka"
	"github.com/siyu-dev/siyu/readmodel"
)

// RepStats answers WeCom's rep statistics (Reader.Stats) from memory
// (docs/decisions.md, "Console and sidebar (#15)" 9): per tenant whose
// statistics were read, the exact tally of every (rep, day) from
// RepStatsDays before the tenant's load on, summed in ClickHouse over the
// day's customers as Reader.Stats does (followup_rep_stats.sql).
// Like the CDP's memory it never folds events: the tail names the reps and
// days whose events arrived, and once the ingest group has committed past
// them their tallies are read again. So every tally in memory is one
// ClickHouse gave, and a read is as fresh as a ClickHouse read a refresh
// ago. Until a tenant is loaded, for a period that starts before its
// memory, and whenever the tail is not running, the statistics are read
// from ClickHouse.
type RepStats struct {
	conn    driver.Conn
	reader  *Reader
	log     *slog.Logger
	now     func() time.Time // what "today" is when a tenant registers
	tenants *readmodel.Registry[*statsTenant]
}

// RepStatsDays is how many days before its load a tenant's memory holds:
// a period of the longest the API allows (92 days) ending on the load day
// or later is answered from memory.
const RepStatsDays = 92

// repStatsRefreshEvery is how often the reps and days the tail named are
// read again (once the ingest group has committed their events).
const repStatsRefreshEvery = 250 * time.Millisecond

// statsKey is one rep's day (its Asia/Shanghai date, as ClickHouse's Date).
type statsKey struct {
	staff string
	day   adoption.Day
}

// statsTenant is one tenant's memory of rep statistics.
type statsTenant struct {
	first adoption.Day // the first day held (set when registered)

	tailMu sync.Mutex
	dirty  map[statsKey]struct{} // (rep, day) whose events the tail passed since their last read

	mu    sync.RWMutex
	days  map[statsKey]dayTally // only days with at least one customer
	staff map[string]string     // interned rep ids
}

// NewRepStats returns the memory of rep statistics over conn, fed by tail
// (nil: none; every read goes to reader). Run refreshes it. It counts
// reads by source in reg, when not nil.
func NewRepStats(conn driver.Conn, reader *Reader, tail *readmodel.Tail, reg prometheus.Registerer, log *slog.Logger) *RepStats {
	rs := &RepStats{conn: conn, reader: reader, log: log, now: time.Now}
	rs.tenants = readmodel.NewRegistry(readmodel.Model[*statsTenant]{
		Name: "repstats",
		Reads: prometheus.CounterOpts{Name: "siyu_rep_stats_reads_total",
			Help: "Rep statistics reads (GET /v1/followups/stats), by source: memory, or clickhouse while a tenant loads or for a period before its memory."},
		New: func([]kafka.Position) *statsTenant {
			return &statsTenant{first: adoption.DayOf(rs.now()) - RepStatsDays, dirty: map[statsKey]struct{}{},
				days: map[statsKey]dayTally{}, staff: map[string]string{}}
		},
		Load:       rs.load,
		Apply:      func(_ string, t *statsTenant, ev *event.Event) { t.take(ev) },
		Bytes:      func(t *statsTenant) int64 { t.mu.RLock(); defer t.mu.RUnlock(); return t.bytes() },
		CommitPoll: 50 * time.Millisecond,
	}, tail, reg, log)
	return rs
}

// SetClock makes rs read "now" from now (tests); call it before use.
func (rs *RepStats) SetClock(now func() time.Time) { rs.now = now }

// take notes an event (under the tail's lock): the rep's day it counts in
// is read again once the ingest group has committed past it. It names the
// events rep_chat_days_mv reads (and a contact.removed by the rep, which
// reads again a day that has not changed).
func (t *statsTenant) take(ev *event.Event) {
	switch ev.Type {
	case event.ChatMessage, event.ContactAdded, event.ContactRemoved:
	default:
		return
	}
	day := adoption.DayOf(ev.Time)
	if day < t.first {
		return
	}
	t.tailMu.Lock()
	k := statsKey{staff: ev.Data.StaffID, day: day}
	if _, ok := t.dirty[k]; !ok {
		k.staff = strings.Clone(k.staff)
		t.dirty[k] = struct{}{}
	}
	t.tailMu.Unlock()
}

// Stats is Reader.Stats, from memory when tenant is loaded and the period
// starts on or after the first day its memory holds.
func (rs *RepStats) Stats(ctx context.Context, tenant string, scope Scope, from, to time.Time) ([]RepDay, error) {
	t, ready := rs.tenants.Get(tenant)
	if !ready || adoption.DateDay(from) < t.first {
		rs.tenants.Served(false)
		return rs.reader.Stats(ctx, tenant, scope, from, to)
	}
	rs.tenants.Served(true)
	t.mu.RLock()
	defer t.mu.RUnlock()
	return statsFrom(t.days, scope, from, to), nil
}

// Ready reports whether tenant's memory is loaded (for tests and the bench);
// the first call registers it.
func (rs *RepStats) Ready(tenant string) bool {
	_, ready := rs.tenants.Get(tenant)
	return ready
}

// Run reads again, every repStatsRefreshEvery until ctx ends, the reps'
// days the tail named (nil then; at once without a tail).
func (rs *RepStats) Run(ctx context.Context) error {
	return rs.tenants.RunRefresh(ctx, repStatsRefreshEvery, rs.refresh)
}

// Refresh reads again at once the reps' days of tenant the tail has named
// (for tests; Run does it every repStatsRefreshEvery).
func (rs *RepStats) Refresh(ctx context.Context, tenant string) error {
	t, ready := rs.tenants.Peek(tenant)
	if !ready {
		return fmt.Errorf("rep statistics of %s are not in memory", tenant)
	}
	return rs.refresh(ctx, tenant, t)
}

// load reads tenant's tallies from its first day on (the registry calls it
// once the ingest group has committed every event the tail had passed at
// registration): later events name their reps' days through take, and the
// next refresh reads those again.
func (rs *RepStats) load(ctx context.Context, tenant string, t *statsTenant) error {
	days, err := rs.reader.tallies(ctx, tenant, t.first, adoption.DayOf(rs.now())+maxFutureDays, nil)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.put(days, nil, 0, 0)
	return nil
}

// maxFutureDays bounds the days after today a load reads: the API refuses
// event times further ahead (a later event's day is named by the tail).
const maxFutureDays = 400

// refresh reads again the days of the reps the tail named, once the ingest
// group has committed past every record the tail had read when it took
// them (a cut: take runs under the tail's lock too): the days from the
// earliest to the latest named, of every rep named.
func (rs *RepStats) refresh(ctx context.Context, tenant string, t *statsTenant) (err error) {
	var dirty map[statsKey]struct{}
	var upTo []kafka.Position
	if !rs.tenants.Tail().AtTail(func(read []kafka.Position) {
		t.tailMu.Lock()
		dirty, upTo = t.dirty, read
		t.dirty = map[statsKey]struct{}{}
		t.tailMu.Unlock()
	}) || len(dirty) == 0 {
		return nil
	}
	defer func() {
		if err == nil {
			return
		}
		t.tailMu.Lock()
		for k := range dirty { // read them again next time
			t.dirty[k] = struct{}{}
		}
		t.tailMu.Unlock()
	}()
	if err := rs.tenants.WaitCommitted(ctx, upTo); err != nil {
		return err
	}
	staff := map[string]bool{}
	lo, hi := adoption.Day(math.MaxInt32), adoption.Day(math.MinInt32)
	for k := range dirty {
		staff[k.staff] = true
		lo, hi = min(lo, k.day), max(hi, k.day)
	}
	reps := slices.Sorted(maps.Keys(staff))
	days, err := rs.reader.tallies(ctx, tenant, lo, hi, reps)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.put(days, staff, lo, hi)
	return nil
}

// put replaces, with days, the tallies of the reps of staff (nil: every
// rep) from lo to hi (nil staff: every day); a (rep, day) ClickHouse no
// longer has goes (t.mu held).
func (t *statsTenant) put(days map[statsKey]dayTally, staff map[string]bool, lo, hi adoption.Day) {
	if staff != nil {
		for k := range t.days {
			if staff[k.staff] && k.day >= lo && k.day <= hi {
				delete(t.days, k)
			}
		}
	}
	for k, d := range days {
		s, ok := t.staff[k.staff]
		if !ok {
			s = k.staff
			t.staff[s] = s
		}
		t.days[statsKey{staff: s, day: k.day}] = d
	}
}

// bytes estimates the heap bytes t holds (t.mu held).
func (t *statsTenant) bytes() int64 {
	n := readmodel.Map(len(t.days), 16+8, 8*8) + readmodel.Map(len(t.staff), 16, 16)
	for s := range t.staff {
		n += readmodel.String(s)
	}
	return n
}
