package followup

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/errkind"
	"github.com/siyu-dev/siyu/kafka"
	"github.com/siyu-dev/siyu/publish"
	"github.com/siyu-dev/siyu/readmodel"
	siyusql "github.com/siyu-dev/siyu/sql"
)

// queryer is the part of a ClickHouse connection the pool reads with.
type queryer interface {
	Query(ctx context.Context, query string, args ...any) (driver.Rows, error)
}

// Errors of pool writes that decided nothing.
var (
	// ErrUnavailable wraps a failure to store or to read what decisions
	// need: nothing was decided, retry.
	ErrUnavailable = errkind.New(errkind.Unavailable, "pool decisions not stored, retry")
	// ErrNotDecider refuses a pool write on a replica that is not the
	// deployment's decider (see Election).
	ErrNotDecider error = &errkind.Error{Kind: errkind.Unavailable, Code: "not_decider",
		Msg: "another siyu serve decides pool changes: send pool writes (claims, releases, " +
			"assignments, transfers, departures, rules) to the deciding replica, or run one siyu serve for them"}
)

// PoolConfig tunes the claim decider.
type PoolConfig struct {
	// Source is the source of the events the decider writes.
	Source string
	// ReloadEvery is how old a tenant's state may get before the decider
	// reads it again from ClickHouse (its own decisions are laid over it).
	ReloadEvery time.Duration
	// PendingFor is how long the decider keeps its own decisions to lay
	// over ClickHouse's state: longer than the pipeline's worst lag.
	PendingFor time.Duration
	// MaxBatch is the most requests decided and written together.
	MaxBatch int
	// FreshWait bounds how long a batch waits for the ingest pipeline to
	// commit what its state must include (FreshFrom) before it is answered
	// ErrUnavailable: long enough for the pipeline's usual lag (0.1–0.5 s),
	// short enough that a client is not held by a stalled pipeline.
	FreshWait time.Duration
}

// DefaultPoolConfig is the configuration of `siyu serve`.
func DefaultPoolConfig() PoolConfig {
	return PoolConfig{Source: "siyu-api", ReloadEvery: 5 * time.Minute, PendingFor: 10 * time.Minute, MaxBatch: 256,
		FreshWait: 2 * time.Second}
}

// Pool is the customer pool and the one place where assignees change: a
// decider per tenant serializes claims, assignments, releases, transfers,
// hand-overs and recycling, so that no rule is broken by concurrent
// requests and no customer gets two assignees. With ElectedBy, only the
// deployment's elected process decides; see docs/decisions.md, "Customer
// pool".
type Pool struct {
	conn     queryer
	pub      *publish.Publisher
	cfg      PoolConfig
	log      *slog.Logger
	ingest   IngestOffsets   // nil: no freshness cut (the book is reread by age only)
	tail     *readmodel.Tail // nil: no tail; a book behind the cut is reread
	election *Election       // nil: this process decides alone
	metrics  poolMetrics

	mu       sync.RWMutex
	deciders map[string]*decider
	ctx      context.Context
	stop     context.CancelFunc
	wg       sync.WaitGroup
	closed   chan struct{} // closed once every decider has stopped

	// term is read-held by every batch while it decides and writes, so
	// that losing the election waits for the batch in flight (Election).
	term  sync.RWMutex
	epoch atomic.Uint64 // counts the terms this process was elected for

	errMu   sync.Mutex
	lastErr error // of the last load or write; nil once one succeeds
}

// PoolOption adds a dependency to a Pool.
type PoolOption func(*Pool)

// FreshFrom makes every decision include every event the ingest pipeline
// committed before the request (ingest; required), and, with a tail (the
// process's read-model tail, may be nil), keeps a busy tenant's state
// fresh from the events the tail reads rather than from rereads of
// ClickHouse. Without it a decision sees what ClickHouse had when the
// tenant's state was last read (up to ReloadEvery ago) plus this
// process's own decisions.
func FreshFrom(ingest IngestOffsets, tail *readmodel.Tail) PoolOption {
	return func(p *Pool) {
		p.ingest, p.tail = ingest, tail
		if tail != nil {
			tail.Follow(p)
		}
	}
}

// ElectedBy makes the pool decide only while e has elected this process
// (one decider per deployment); run e.Run alongside. Without it the pool
// decides alone: right for one process, wrong for two (docs/decisions.md,
// "Customer pool", P5).
func ElectedBy(e *Election) PoolOption {
	return func(p *Pool) {
		p.election = e
		e.pool = p
	}
}

// PoolMetrics registers the pool's metrics with reg.
func PoolMetrics(reg prometheus.Registerer) PoolOption {
	return func(p *Pool) { p.metrics.register(reg, p) }
}

// NewPool returns a pool over conn that writes with pub. Close stops
// its deciders.
func NewPool(conn queryer, pub *publish.Publisher, cfg PoolConfig, log *slog.Logger, opts ...PoolOption) *Pool {
	ctx, stop := context.WithCancel(context.Background())
	p := &Pool{conn: conn, pub: pub, cfg: cfg, log: log, deciders: map[string]*decider{}, ctx: ctx, stop: stop,
		closed: make(chan struct{}), metrics: newPoolMetrics()}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Close stops the deciders: the batch being decided is finished, requests
// still queued are answered ErrUnavailable. Call it once.
func (p *Pool) Close() {
	p.stop()
	p.wg.Wait()
	close(p.closed)
}

// Role is "decider" when this process decides pool changes (always, without
// ElectedBy), else "standby": it refuses pool writes with ErrNotDecider
// and does not sweep. For /readyz and the logs.
func (p *Pool) Role() string {
	if p.election == nil || p.election.deciding() {
		return "decider"
	}
	return "standby"
}

// Ready is nil when this process decides and its last read of state and
// write of decisions succeeded, or when it is a standby and another member
// of the election decides; otherwise the reason pool writes fail here (no
// decider elected, the group coordinator out of reach, ClickHouse or Kafka
// failing the decider). For /readyz.
func (p *Pool) Ready() error {
	if p.election != nil {
		if err := p.election.ready(); err != nil {
			return err
		}
		if !p.election.deciding() {
			return nil
		}
	}
	p.errMu.Lock()
	defer p.errMu.Unlock()
	return p.lastErr
}

func (p *Pool) setErr(err error) {
	p.errMu.Lock()
	p.lastErr = err
	p.errMu.Unlock()
}

// decider owns one tenant's book; only its goroutine touches it, but for
// the inbox, which the tail fills.
type decider struct {
	tenant  string
	reqs    chan *request
	book    *book
	pending []pendingChange
	epoch   uint64 // the term the book belongs to
	// needEnds: the next cut includes the topic's end, not only the
	// group's commits (a new term, or a write that failed ambiguously).
	needEnds  bool
	committed offsets // the group's commits as the last cut read them

	following atomic.Bool // the tail queues the tenant's facts in inbox
	inboxMu   sync.Mutex
	inbox     []poolFact
	tailFrom  offsets   // the tail's next offsets when following began
	kept      []factGen // drained facts ClickHouse may not have yet
}

type pendingChange struct {
	ch change
	at time.Time
}

type request struct {
	ctx    context.Context
	reload bool
	decide func(*decision) error
	done   chan reply
}

type reply struct {
	out Outcome
	err error
}

// do runs decide in tenant's decider, writes what it accepted and returns
// the outcome. reload reads the tenant's state from ClickHouse first.
func (p *Pool) do(ctx context.Context, tenant string, reload bool, decide func(*decision) error) (Outcome, error) {
	if p.election != nil {
		if err := p.election.await(ctx); err != nil {
			return Outcome{}, err
		}
	}
	r := &request{ctx: ctx, reload: reload, decide: decide, done: make(chan reply, 1)}
	select {
	case p.deciderOf(tenant).reqs <- r:
	case <-ctx.Done():
		return Outcome{}, ctx.Err()
	case <-p.ctx.Done():
		return Outcome{}, ErrUnavailable
	}
	select {
	case rep := <-r.done:
		return rep.out, rep.err
	case <-ctx.Done():
		return Outcome{}, ctx.Err() // it may still be decided: the outcome stands
	case <-p.closed:
		return Outcome{}, ErrUnavailable
	}
}

func (p *Pool) deciderOf(tenant string) *decider {
	p.mu.RLock()
	d := p.deciders[tenant]
	p.mu.RUnlock()
	if d != nil {
		return d
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if d = p.deciders[tenant]; d == nil {
		d = &decider{tenant: tenant, reqs: make(chan *request, p.cfg.MaxBatch)}
		p.deciders[tenant] = d
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.run(d)
		}()
	}
	return d
}

// run decides d's requests in batches: every request of a batch sees the
// decisions before it, and the batch's events are written together before
// any request is answered.
func (p *Pool) run(d *decider) {
	for {
		var first *request
		idle := time.NewTimer(p.cfg.ReloadEvery)
		select {
		case first = <-d.reqs:
			idle.Stop()
		case <-idle.C:
			d.book = nil // an idle tenant's customers need not stay in memory
			p.unfollow(d)
			continue
		case <-p.ctx.Done():
			idle.Stop()
			return
		}
		batch := []*request{first}
	drain:
		for len(batch) < p.cfg.MaxBatch {
			select {
			case r := <-d.reqs:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		p.decideBatch(d, batch)
	}
}

// decideBatch decides a batch on state that includes the cut taken after
// its requests arrived, checks each request's events on its own (a request
// the contract refuses is rolled back and answered its error; the others
// are written), writes the batch's events at once and answers every
// request.
func (p *Pool) decideBatch(d *decider, batch []*request) {
	start := time.Now()
	p.term.RLock()
	defer p.term.RUnlock()
	if err := p.mayDecide(d); err != nil {
		answerAll(batch, err)
		return
	}
	reload := false
	for _, r := range batch {
		reload = reload || r.reload
	}
	if err := p.ensureBook(p.ctx, d, start, reload); err != nil {
		p.setErr(err)
		answerAll(batch, err)
		return
	}
	outs, recs, changes := p.decideEach(d, batch)
	if len(recs) > 0 {
		p.write(d, outs, recs, changes)
	}
	for i, r := range batch {
		r.done <- outs[i]
	}
}

// mayDecide refuses when another process decides; a new term drops the
// tenant's state of an earlier one.
func (p *Pool) mayDecide(d *decider) error {
	if p.election == nil {
		return nil
	}
	if err := p.election.decides(); err != nil {
		return err
	}
	if epoch := p.epoch.Load(); d.epoch != epoch {
		d.epoch, d.book, d.pending, d.needEnds = epoch, nil, nil, true
		p.unfollow(d)
	}
	return nil
}

// decideEach decides the batch's requests in order on d's book.
func (p *Pool) decideEach(d *decider, batch []*request) ([]reply, []*kgo.Record, []change) {
	now := time.Now()
	outs := make([]reply, len(batch))
	var recs []*kgo.Record
	var changes []change
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			outs[i].err = err
			continue
		}
		dn := &decision{b: d.book, now: now, source: p.cfg.Source, ctx: r.ctx, pool: p,
			rules0: d.book.rules, rulesKey0: d.book.rulesKey}
		err := r.decide(dn)
		var rs []*kgo.Record
		if err == nil {
			rs, err = dn.check(p.pub)
		}
		if err != nil {
			dn.rollback()
			outs[i].err = err
			continue
		}
		outs[i].out = dn.out
		recs = append(recs, rs...)
		changes = append(changes, dn.changes...)
	}
	return outs, recs, changes
}

// write produces the batch's records; on failure every request decided in
// the batch is answered ErrUnavailable (each saw the others' changes) and
// the tenant's state is read again, up to the topic's end (the write may
// have been stored).
func (p *Pool) write(d *decider, outs []reply, recs []*kgo.Record, changes []change) {
	ctx, cancel := p.writeContext()
	defer cancel()
	err := p.mayWrite()
	var ps []kafka.Position
	if err == nil {
		res := p.pub.Produce(ctx, recs...)
		ps, err = res.Token(), res.Err()
	}
	if err != nil {
		d.book, d.needEnds = nil, true
		if !errors.Is(err, ErrNotDecider) {
			p.setErr(err)
			p.log.Error("pool decisions not written", "tenant", d.tenant, "events", len(recs), "err", err)
			err = fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		for i := range outs {
			if outs[i].err == nil {
				outs[i] = reply{err: err}
			}
		}
		return
	}
	p.setErr(nil)
	now := time.Now()
	for _, ch := range changes {
		d.pending = append(d.pending, pendingChange{ch: ch, at: now})
	}
	for i := range outs {
		if outs[i].err == nil {
			outs[i].out.Written = ps
		}
	}
}

// mayWrite refuses to write once the election's lease has run out.
func (p *Pool) mayWrite() error {
	if p.election == nil {
		return nil
	}
	return p.election.decides()
}

// writeContext bounds a write by the election's lease: a deposed decider's
// write must not land after the next decider has read the log's end.
func (p *Pool) writeContext() (context.Context, context.CancelFunc) {
	if p.election == nil {
		return context.WithCancel(p.ctx)
	}
	return context.WithDeadline(p.ctx, p.election.leaseEnd())
}

func answerAll(batch []*request, err error) {
	for _, r := range batch {
		r.done <- reply{err: err}
	}
}

// ensureBook makes d's book include the batch's cut: as it is, from the
// tail's facts, or read again from ClickHouse (when there is none, it is
// older than ReloadEvery, reload is asked, or it lags the cut).
func (p *Pool) ensureBook(ctx context.Context, d *decider, start time.Time, reload bool) error {
	cut, err := p.cut(ctx, d, start)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	var reason string
	switch {
	case d.book == nil:
		reason = "none"
	case reload:
		reason = "asked"
	case time.Since(d.book.loadedAt) >= p.cfg.ReloadEvery:
		reason = "age"
	case p.caughtUp(ctx, d, cut):
		d.needEnds = false
		return nil
	default:
		reason = "behind"
	}
	if err := p.load(ctx, d, cut); err != nil {
		return err
	}
	p.metrics.loads.WithLabelValues(reason).Inc()
	d.needEnds = false
	return nil
}

// errBehind means the pipeline has not stored what a decision must see.
var errBehind = errors.New("the ingest pipeline has not stored the events before this request yet")

// load reads d's book from ClickHouse once the ingest group has committed
// past cut (waiting at most FreshWait), and lays over it the tail's facts
// and the decider's own decisions that ClickHouse may lack.
func (p *Pool) load(ctx context.Context, d *decider, cut offsets) error {
	p.follow(d)
	asOf, err := p.committedPast(ctx, cut.union(d.tailFrom))
	if err == nil && !offsets(asOf).covers(cut) {
		err = errBehind
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	now := time.Now()
	b, err := p.loadBook(ctx, d.tenant, now)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	b.asOf = asOf
	d.book = b
	d.forget(asOf)
	for _, g := range d.kept {
		for _, f := range g.facts {
			b.take(f)
		}
	}
	if d.following.Load() {
		p.drain(d)
	}
	keep := d.pending[:0]
	for _, pc := range d.pending {
		if now.Sub(pc.at) < p.cfg.PendingFor {
			b.apply(pc.ch)
			keep = append(keep, pc)
		}
	}
	d.pending = keep
	return nil
}

var (
	qAssigneeRecent = siyusql.Query("assignee_recent")
	qPoolRules      = siyusql.Query("pool_rules")
	qPoolPage       = siyusql.Query("pool_page")
	qDepartures     = siyusql.Query("staff_departures")
	qSweepTenants   = siyusql.Query("sweep_tenants")
)

// loadBook reads a tenant's rules, assignee state and recent claims,
// releases and transfers from ClickHouse.
func (p *Pool) loadBook(ctx context.Context, tenant string, now time.Time) (*book, error) {
	b := newBook(tenant)
	b.loadedAt = now
	rules, err := readRules(ctx, p.conn, tenant)
	if err != nil {
		return nil, err
	}
	b.rules = rules
	states, err := readStates(ctx, p.conn, tenant, "")
	if err != nil {
		return nil, err
	}
	for _, s := range states {
		b.setCustomer(s.contact, s.holding, s.lastFollowupNs)
	}
	window := max(TransferWindow, time.Duration(days(rules.CooldownDays)), 48*time.Hour)
	return b, readRecent(ctx, p.conn, b, now.Add(-window).UnixNano())
}

func readRecent(ctx context.Context, conn queryer, b *book, sinceNs int64) error {
	rows, err := conn.Query(ctx, qAssigneeRecent, clickhouse.Named("tenant", b.tenant), clickhouse.Named("since_ns", sinceNs))
	if err != nil {
		return fmt.Errorf("read recent assignments: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var staff, contact, reason string
		var key EventKey
		var holds uint8
		if err := rows.Scan(&staff, &contact, &key.TimeNs, &key.ID, &key.Source, &reason, &holds); err != nil {
			return fmt.Errorf("read recent assignments: %w", err)
		}
		ch := change{contact: contact, reason: reason, key: key}
		if holds == 1 {
			ch.to = staff
		} else {
			ch.from = staff
		}
		if (reason == "release") == (holds == 0) {
			b.count(ch)
		}
	}
	return rows.Err()
}

type rulesData struct {
	ContactCap      int64 `json:"contact_cap"`
	MaxClaimsPerDay int64 `json:"max_claims_per_day"`
	RecycleDays     int64 `json:"recycle_days"`
	CooldownDays    int64 `json:"cooldown_days"`
}

func readRules(ctx context.Context, conn queryer, tenant string) (Rules, error) {
	rows, err := conn.Query(ctx, qPoolRules, clickhouse.Named("tenant", tenant))
	if err != nil {
		return Rules{}, fmt.Errorf("read pool rules: %w", err)
	}
	defer rows.Close()
	var data string
	var n uint64
	for rows.Next() {
		if err := rows.Scan(&data, &n); err != nil {
			return Rules{}, fmt.Errorf("read pool rules: %w", err)
		}
	}
	if err := rows.Err(); err != nil || n == 0 {
		return Rules{}, err
	}
	var d rulesData
	if err := json.Unmarshal([]byte(data), &d); err != nil {
		return Rules{}, fmt.Errorf("read pool rules: %w", err)
	}
	return Rules{MaxHold: d.ContactCap, MaxClaimsPerDay: d.MaxClaimsPerDay, RecycleDays: d.RecycleDays, CooldownDays: d.CooldownDays}, nil
}

// known makes sure the book has the given customers, reading those it
// lacks (added since the book was read) from ClickHouse.
func (d *decision) known(ids []string) error {
	for _, id := range ids {
		if d.b.customers[id] != nil {
			continue
		}
		rows, err := readStates(d.ctx, d.pool.conn, d.b.tenant, id)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		for _, s := range rows {
			d.b.setCustomer(s.contact, s.holding, s.lastFollowupNs)
		}
	}
	return nil
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "siyu-api-" + hex.EncodeToString(b[:])
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return itoa(n) + " " + unit + "s"
}
