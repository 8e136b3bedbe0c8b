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
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/kafka"
	siyusql "github.com/siyu-dev/siyu/sql"
)

// queryer is the part of a ClickHouse connection the pool reads with.
type queryer interface {
	Query(ctx context.Context, query string, args ...any) (driver.Rows, error)
}

// Publish writes events to the log and returns once Kafka acknowledged
// them all.
type Publish func(ctx context.Context, evs []event.Event) ([]kafka.Position, error)

// ErrUnavailable wraps a failure to store decisions: nothing was decided.
var ErrUnavailable = errors.New("pool decisions not stored, retry")

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
}

// DefaultPoolConfig is the configuration of `siyu serve`.
func DefaultPoolConfig() PoolConfig {
	return PoolConfig{Source: "siyu-api", ReloadEvery: 5 * time.Minute, PendingFor: 10 * time.Minute, MaxBatch: 256}
}

// Pool is the customer pool and the one place where assignees change: a
// decider per tenant serializes claims, assignments, releases, transfers,
// hand-overs and recycling, so that no rule is broken by concurrent
// requests and no customer gets two assignees. See docs/decisions.md,
// "Customer pool": one serving process per tenant decides.
type Pool struct {
	conn    queryer
	publish Publish
	cfg     PoolConfig
	log     *slog.Logger

	mu       sync.Mutex
	deciders map[string]*decider
	ctx      context.Context
	stop     context.CancelFunc
	wg       sync.WaitGroup
	closed   chan struct{} // closed once every decider has stopped
}

// NewPool returns a pool over conn that writes with publish. Close stops
// its deciders.
func NewPool(conn queryer, publish Publish, cfg PoolConfig, log *slog.Logger) *Pool {
	ctx, stop := context.WithCancel(context.Background())
	return &Pool{conn: conn, publish: publish, cfg: cfg, log: log, deciders: map[string]*decider{}, ctx: ctx, stop: stop,
		closed: make(chan struct{})}
}

// Close stops the deciders: the batch being decided is finished, requests
// still queued are answered ErrUnavailable. Call it once.
func (p *Pool) Close() {
	p.stop()
	p.wg.Wait()
	close(p.closed)
}

// KafkaPublisher publishes events to topic with cl, each checked with the
// contract's decoder first.
func KafkaPublisher(cl *kgo.Client, topic string) Publish {
	return func(ctx context.Context, evs []event.Event) ([]kafka.Position, error) {
		dec := event.NewDecoder(nil)
		recs := make([]*kgo.Record, len(evs))
		for i := range evs {
			b := event.AppendJSON(nil, &evs[i])
			if _, err := dec.Decode(b); err != nil {
				return nil, fmt.Errorf("encode %s event: %v", evs[i].Type, err)
			}
			recs[i] = &kgo.Record{Topic: topic, Key: []byte(evs[i].Key()), Value: b}
		}
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		res := cl.ProduceSync(ctx, recs...)
		if err := res.FirstErr(); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		last := map[int32]int64{}
		for _, r := range res {
			last[r.Record.Partition] = max(last[r.Record.Partition], r.Record.Offset)
		}
		ps := make([]kafka.Position, 0, len(last))
		for p, o := range last {
			ps = append(ps, kafka.Position{Partition: p, Offset: o})
		}
		return ps, nil
	}
}

// decider owns one tenant's book; only its goroutine touches it.
type decider struct {
	tenant  string
	reqs    chan *request
	book    *book
	pending []pendingChange
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
	p.mu.Lock()
	defer p.mu.Unlock()
	d := p.deciders[tenant]
	if d == nil {
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

func (p *Pool) decideBatch(d *decider, batch []*request) {
	reload := false
	for _, r := range batch {
		reload = reload || r.reload
	}
	now := time.Now()
	if err := p.ensureBook(d, now, reload); err != nil {
		for _, r := range batch {
			r.done <- reply{err: err}
		}
		return
	}
	outs := make([]reply, len(batch))
	var evs []event.Event
	var changes []change
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			outs[i].err = err
			continue
		}
		dec := &decision{b: d.book, now: now, source: p.cfg.Source, ctx: r.ctx, pool: p}
		if err := r.decide(dec); err != nil {
			outs[i].err = err
		}
		outs[i].out = dec.out
		evs = append(evs, dec.events...)
		changes = append(changes, dec.changes...)
	}
	if len(evs) > 0 {
		ps, err := p.publish(p.ctx, evs)
		if err != nil {
			// The book already holds the batch's changes: drop it, so the
			// next batch reads ClickHouse and what was really written.
			d.book = nil
			p.log.Error("pool decisions not written", "tenant", d.tenant, "events", len(evs), "err", err)
			for i := range outs {
				outs[i] = reply{err: fmt.Errorf("%w: %v", ErrUnavailable, err)}
			}
		} else {
			for _, ch := range changes {
				d.pending = append(d.pending, pendingChange{ch: ch, at: now})
			}
			for i := range outs {
				outs[i].out.Written = ps
			}
		}
	}
	for i, r := range batch {
		r.done <- outs[i]
	}
}

// ensureBook (re)reads the tenant's state when there is none, it is older
// than ReloadEvery or reload is asked; the pending changes of this decider
// are laid over it.
func (p *Pool) ensureBook(d *decider, now time.Time, reload bool) error {
	if d.book != nil && !reload && now.Sub(d.book.loadedAt) < p.cfg.ReloadEvery {
		return nil
	}
	b, err := p.loadBook(p.ctx, d.tenant, now)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	keep := d.pending[:0]
	for _, pc := range d.pending {
		if now.Sub(pc.at) < p.cfg.PendingFor {
			b.apply(pc.ch)
			keep = append(keep, pc)
		}
	}
	d.pending, d.book = keep, b
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
