package cdp

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/kafka"
	"github.com/siyu-dev/siyu/readmodel"
	siyusql "github.com/siyu-dev/siyu/sql"
)

// The reads of a memory tenant: each customer's facts (whole tenant, or
// the chunk of customers whose events arrived since), identity links and
// the tag library.
var (
	qMemAcquisition = siyusql.Query("cdp_memory_acquisition")
	qMemRelations   = siyusql.Query("cdp_memory_relations")
	qMemTags        = siyusql.Query("cdp_memory_tags")
	qMemDays        = siyusql.Query("cdp_memory_days")
	qMemLinks       = siyusql.Query("cdp_memory_links")
	qMemLibrary     = siyusql.Query("cdp_memory_library")
)

// contactsMarker is where segment_filter_base and the cdp_memory_* queries
// take their contacts.
const contactsMarker = "/*contacts*/ 1"

// chunkContacts narrows a cdp_memory_* read to @ids (sorted; @lo and
// @hi their least and greatest): the range confines the read to the
// chunk's granules, the set to its rows.
const chunkContacts = "contact_id >= @lo AND contact_id <= @hi AND contact_id IN (SELECT arrayJoin(@ids))"

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
	if m.tenants.Tail() == nil {
		return nil
	}
	tick := time.NewTicker(memRefreshEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			m.refreshAll(ctx)
		}
	}
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

// load reads tenant's facts (the registry calls it once the ingest group
// has committed every event the tail had passed at registration): later
// events name their customers through take, and the first refresh reads
// those again.
func (m *Memory) load(ctx context.Context, name string, t *memTenant) error {
	lib, err := m.readLibrary(ctx, name)
	if err != nil {
		return err
	}
	facts, err := m.readFacts(ctx, name, nil)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.library = lib
	t.putAll(facts, nil)
	return nil
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

// refreshAll refreshes every loaded tenant with customers to read again.
func (m *Memory) refreshAll(ctx context.Context) {
	m.tenants.Loaded(func(name string, t *memTenant) {
		if !t.isBehind() {
			return
		}
		if err := m.refresh(ctx, name, t); err != nil && ctx.Err() == nil {
			m.log.Warn("memory CDP: refresh failed; retrying", "tenant", name, "err", err)
		}
	})
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

// libTag is a tag of the library as segments read it.
type libTag struct {
	name, group string
	deleted     bool
}

func (m *Memory) readLibrary(ctx context.Context, tenant string) (map[string]libTag, error) {
	rows, err := m.conn.Query(ctx, qMemLibrary, clickhouse.Named("tenant", tenant))
	if err != nil {
		return nil, fmt.Errorf("read tag library: %w", err)
	}
	defer rows.Close()
	out := map[string]libTag{}
	for rows.Next() {
		var id, name, group string
		var deleted uint8
		if err := rows.Scan(&id, &name, &group, &deleted); err != nil {
			return nil, fmt.Errorf("read tag library: %w", err)
		}
		out[id] = libTag{name: name, group: group, deleted: deleted == 1}
	}
	return out, rows.Err()
}

// memFacts is what one read gives: each customer's facts, before they go
// into memory, and the identity links of the ids asked.
type memFacts struct {
	rows  []*memFactRow
	links map[string]idPeers
}

// memFactRow is one customer's facts as read.
type memFactRow struct {
	row  memRow
	tags []string
}

// memDaysBack is how many days before today cdp_memory_days keeps each
// day's messages: the 30-day window and a day of margin for the time zone.
const memDaysBack = 31

// readFacts reads the facts of tenant's customers ids (sorted), or of
// every customer when ids is nil, and the identity links of those ids. A
// customer without a profile row has no facts (as in segment_filter_base).
func (m *Memory) readFacts(ctx context.Context, tenant string, ids []string) (*memFacts, error) {
	out := &memFacts{links: map[string]idPeers{}}
	args := []any{clickhouse.Named("tenant", tenant)}
	where := "1"
	if ids != nil {
		if len(ids) == 0 {
			return out, nil
		}
		where = chunkContacts
		args = append(args, clickhouse.Named("ids", ids), clickhouse.Named("lo", ids[0]), clickhouse.Named("hi", ids[len(ids)-1]))
		ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{
			"max_query_size": membersQueryBytes, "max_ast_elements": membersASTElements,
			"max_expanded_ast_elements": membersASTElements}))
	}
	byID := map[string]*memFactRow{}
	reads := []struct {
		what, query string
		args        []any
		scan        func(rows driver.Rows, f func(id string) *memFactRow) error
	}{
		{"profiles", qFilterBase, nil, func(rows driver.Rows, _ func(string) *memFactRow) error {
			f := &memFactRow{}
			r := &f.row
			if err := rows.Scan(&r.id, &r.firstNs, &r.lastNs, &r.name, &r.unionid, &r.corp, &r.msgsIn, &r.msgsOut,
				&r.lastInNs, &r.lastOutNs, &r.stage, &r.lastFollowupNs, &r.nextFollowupNs); err != nil {
				return err
			}
			byID[r.id] = f
			out.rows = append(out.rows, f)
			return nil
		}},
		{"acquisition", qMemAcquisition, nil, func(rows driver.Rows, of func(string) *memFactRow) error {
			var id, channel, addedBy string
			var addWay, addedNs int64
			if err := rows.Scan(&id, &addWay, &channel, &addedBy, &addedNs); err != nil {
				return err
			}
			if f := of(id); f != nil {
				f.row.addWay, f.row.channel, f.row.addedBy, f.row.addedNs = addWay, channel, addedBy, addedNs
			}
			return nil
		}},
		{"assignees", qAssigned, nil, func(rows driver.Rows, of func(string) *memFactRow) error {
			var id, assignee string
			if err := rows.Scan(&id, &assignee); err != nil {
				return err
			}
			if f := of(id); f != nil {
				f.row.assignee = assignee
			}
			return nil
		}},
		{"relations", qMemRelations, nil, func(rows driver.Rows, of func(string) *memFactRow) error {
			var id string
			var rel memRelation
			var live uint8
			if err := rows.Scan(&id, &rel.staff, &rel.lastID, &rel.lastSource, &rel.endedBy, &live, &rel.since, &rel.first); err != nil {
				return err
			}
			rel.live = live == 1
			if f := of(id); f != nil {
				f.row.relations = append(f.row.relations, rel)
			}
			return nil
		}},
		{"tags", qMemTags, nil, func(rows driver.Rows, of func(string) *memFactRow) error {
			var id string
			var tags []string
			var since []int64
			if err := rows.Scan(&id, &tags, &since); err != nil {
				return err
			}
			if f := of(id); f != nil {
				f.tags, f.row.tagSince = tags, since
			}
			return nil
		}},
		{"day facts", qMemDays, []any{clickhouse.Named("since", m.now().In(reportingZone).AddDate(0, 0, -memDaysBack).Format(time.DateOnly))},
			func(rows driver.Rows, of func(string) *memFactRow) error {
				var id, phone string
				var gender int64
				var followups uint64
				var days []uint16
				var ins, outs []uint64
				if err := rows.Scan(&id, &phone, &gender, &followups, &days, &ins, &outs); err != nil {
					return err
				}
				if f := of(id); f != nil {
					f.row.phone, f.row.gender, f.row.followups = phone, gender, followups
					f.row.days = make([]memDay, len(days))
					for i := range days {
						f.row.days[i] = memDay{day: days[i], in: uint32(ins[i]), out: uint32(outs[i])}
					}
				}
				return nil
			}},
		{"identity links", strings.ReplaceAll(qMemLinks, "/*contacts*/ 1", strings.ReplaceAll(where, "contact_id", "node")),
			[]any{clickhouse.Named("per_role", MaxSharers+1)}, func(rows driver.Rows, _ func(string) *memFactRow) error {
				var node, peer string
				var dir uint8
				if err := rows.Scan(&node, &peer, &dir); err != nil {
					return err
				}
				p := out.links[node]
				if dir == 1 {
					p.asSubject = append(p.asSubject, peer)
				} else {
					p.asValue = append(p.asValue, peer)
				}
				out.links[node] = p
				return nil
			}},
	}
	of := func(id string) *memFactRow { return byID[id] }
	for _, r := range reads {
		err := m.scan(ctx, r.what, r.query, where, append(slices.Clip(args), r.args...), func(rows driver.Rows) error {
			return r.scan(rows, of)
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// scan runs one segment_filter_base or cdp_memory_* query with its contacts and passes each row to fn.
func (m *Memory) scan(ctx context.Context, what, query, where string, args []any, fn func(driver.Rows) error) error {
	rows, err := m.conn.Query(ctx, strings.Replace(query, contactsMarker, where, 1), args...)
	if err != nil {
		return fmt.Errorf("read segment %s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return fmt.Errorf("read segment %s: %w", what, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read segment %s: %w", what, err)
	}
	return nil
}
