package readmodel

import (
	"context"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/kafka"
)

// Model is what a read model keeps of its own: how a tenant's state S
// (a pointer, guarded by its own lock) is made, loaded from a ClickHouse
// snapshot, folded with an event and measured. The registry does the rest.
type Model[S comparable] struct {
	// Name labels the model in logs and in siyu_readmodel_bytes.
	Name string
	// Reads names the counter of reads by source (memory, clickhouse); its
	// Name must be unique in the registerer (siyu_board_reads_total...).
	Reads prometheus.CounterOpts
	// New makes an empty state registered at the tail's positions at.
	New func(at []kafka.Position) S
	// Load joins tenant's snapshot into s; it runs once the ingest group has
	// committed past the positions s was registered at, and again after a
	// failure. Apply may run meanwhile.
	Load func(ctx context.Context, tenant string, s S) error
	// Apply folds an event of tenant into s, under the tail's lock: it must
	// be quick. Nil: the model reads only snapshots.
	Apply func(tenant string, s S, ev *event.Event)
	// Bytes estimates the heap bytes s holds (siyu_readmodel_bytes).
	Bytes func(s S) int64
	// Dropped is called when tenant's state is dropped (idle); may be nil.
	Dropped func(tenant string)
	// CommitPoll is how often a load polls the ingest group's commits.
	CommitPoll time.Duration
}

// IdleEviction is how long a tenant stays in a registry without a read
// before it is dropped (its memory freed; the next read loads it again).
const IdleEviction = time.Hour

// Registry keeps a model's loaded tenants. The first read of a tenant
// (Get) registers it under the tail's lock and loads its snapshot once the
// ingest group has committed everything the tail had read then: events
// before those positions come from the snapshot, later ones from the tail
// (Apply), and the overlap is harmless because a model's fold is a join or
// a re-read. Until a tenant is ready, and whenever the tail is not
// running, the model reads ClickHouse.
type Registry[S comparable] struct {
	m     Model[S]
	tail  *Tail // nil: tenants come only from Put
	log   *slog.Logger
	reads *prometheus.CounterVec

	mu      sync.Mutex
	tenants map[string]*entry[S]
}

// entry is one registered tenant.
type entry[S comparable] struct {
	state    S
	ready    chan struct{} // closed once loaded
	lastUsed time.Time     // the last read that asked for it (under Registry.mu)
}

// NewRegistry returns m's registry fed by tail (nil: none; tenants come
// only from Put). It counts reads by source in reg, when not nil.
func NewRegistry[S comparable](m Model[S], tail *Tail, reg prometheus.Registerer, log *slog.Logger) *Registry[S] {
	reads := prometheus.NewCounterVec(m.Reads, []string{"source"})
	if reg != nil {
		reg.MustRegister(reads)
	}
	r := &Registry[S]{m: m, tail: tail, log: log, reads: reads, tenants: map[string]*entry[S]{}}
	if tail != nil {
		tail.Follow(r)
	}
	return r
}

// Tail is the tail feeding the registry (nil: none).
func (r *Registry[S]) Tail() *Tail { return r.tail }

// Get returns tenant's state, registering it (and starting its load) when
// the tail runs, and whether it is loaded; the zero S when the tenant is
// not registered and the tail does not run.
func (r *Registry[S]) Get(tenant string) (s S, ready bool) {
	r.mu.Lock()
	e := r.tenants[tenant]
	if e != nil {
		e.lastUsed = time.Now()
	}
	r.mu.Unlock()
	if e == nil {
		e = r.register(tenant)
	}
	if e == nil {
		return s, false
	}
	return e.state, isClosed(e.ready)
}

// register adds tenant under the tail's lock, at its positions; nil when
// the tail does not run.
func (r *Registry[S]) register(tenant string) *entry[S] {
	var e *entry[S]
	r.tail.atTail(func(ctx context.Context, read []kafka.Position) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if e = r.tenants[tenant]; e != nil {
			return
		}
		e = &entry[S]{state: r.m.New(read), ready: make(chan struct{}), lastUsed: time.Now()}
		r.tenants[tenant] = e
		go r.load(ctx, tenant, e, read)
	})
	return e
}

// Peek returns tenant's state and whether it is loaded, without
// registering it or counting as a read.
func (r *Registry[S]) Peek(tenant string) (s S, ready bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.tenants[tenant]; e != nil {
		return e.state, isClosed(e.ready)
	}
	return s, false
}

// Put registers tenant's state s as loaded (a load without a tail: tests
// and tools). Nothing refreshes it.
func (r *Registry[S]) Put(tenant string, s S) {
	e := &entry[S]{state: s, ready: make(chan struct{}), lastUsed: time.Now()}
	close(e.ready)
	r.mu.Lock()
	r.tenants[tenant] = e
	r.mu.Unlock()
	r.measure(tenant, s)
}

// Ready reports whether tenant is loaded (for tests and the bench); it
// does not register it.
func (r *Registry[S]) Ready(tenant string) bool {
	_, ready := r.Peek(tenant)
	return ready
}

// Registered reports whether s is still tenant's state (not dropped since).
func (r *Registry[S]) Registered(tenant string, s S) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.tenants[tenant]
	return e != nil && e.state == s
}

// Served counts a read by where it was answered from.
func (r *Registry[S]) Served(fromMemory bool) {
	if fromMemory {
		r.reads.WithLabelValues("memory").Inc()
	} else {
		r.reads.WithLabelValues("clickhouse").Inc()
	}
}

// Loaded calls fn with every loaded tenant (outside the registry's lock).
func (r *Registry[S]) Loaded(fn func(tenant string, s S)) {
	r.mu.Lock()
	var names []string
	var states []S
	for name, e := range r.tenants {
		if isClosed(e.ready) {
			names, states = append(names, name), append(states, e.state)
		}
	}
	r.mu.Unlock()
	for i := range names {
		fn(names[i], states[i])
	}
}

// RunRefresh calls refresh with every loaded tenant every period until
// ctx ends (nil then; at once without a tail): the models that read
// ClickHouse again for what the tail named (the CDP's memory, the rep
// statistics). A failure is logged and retried on the next round.
func (r *Registry[S]) RunRefresh(ctx context.Context, every time.Duration, refresh func(ctx context.Context, tenant string, s S) error) error {
	if r.tail == nil {
		return nil
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			r.Loaded(func(tenant string, s S) {
				if err := refresh(ctx, tenant, s); err != nil && ctx.Err() == nil {
					r.log.Warn("memory "+r.m.Name+": refresh failed; retrying", "tenant", tenant, "err", err)
				}
			})
		}
	}
}

// Follows implements Follower: the tail decodes the events of registered
// tenants, loaded or not. It does not allocate.
func (r *Registry[S]) Follows(tenant []byte) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tenants[string(tenant)] != nil
}

// Take implements Follower: it folds an event of a registered tenant into
// its state (others are ignored).
func (r *Registry[S]) Take(ev *event.Event) {
	if r.m.Apply == nil {
		return
	}
	r.mu.Lock()
	e := r.tenants[ev.Tenant]
	r.mu.Unlock()
	if e != nil {
		r.m.Apply(ev.Tenant, e.state, ev)
	}
}

// EvictIdle drops the tenants not read since now-idle; it returns how many
// it dropped. A later read loads the tenant again (the same registration,
// so nothing is missed).
func (r *Registry[S]) EvictIdle(now time.Time, idle time.Duration) int {
	r.mu.Lock()
	var dropped []string
	for name, e := range r.tenants {
		if now.Sub(e.lastUsed) >= idle {
			delete(r.tenants, name)
			dropped = append(dropped, name)
		}
	}
	r.mu.Unlock()
	for _, name := range dropped {
		if r.m.Dropped != nil {
			r.m.Dropped(name)
		}
		if r.tail != nil {
			r.tail.bytes.DeleteLabelValues(r.m.Name, name)
		}
	}
	return len(dropped)
}

// sweep drops the tenants idle for IdleEviction and measures the others.
func (r *Registry[S]) sweep(now time.Time) {
	if n := r.EvictIdle(now, IdleEviction); n > 0 {
		r.log.Info("read model: tenants dropped after an idle hour", "model", r.m.Name, "tenants", n)
	}
	r.Loaded(func(tenant string, s S) { r.measure(tenant, s) })
}

// Measure estimates the bytes tenant's state holds and exports them; the
// models call it after they change a state in bulk (a refresh).
func (r *Registry[S]) Measure(tenant string, s S) int64 { return r.measure(tenant, s) }

func (r *Registry[S]) measure(tenant string, s S) int64 {
	if r.m.Bytes == nil {
		return 0
	}
	n := r.m.Bytes(s)
	if r.tail != nil && r.Registered(tenant, s) {
		r.tail.bytes.WithLabelValues(r.m.Name, tenant).Set(float64(n))
	}
	return n
}

// load joins the tenant's snapshot into its state once the ingest group
// has committed every event the tail had passed at registration (at). It
// retries until it succeeds or ctx ends.
func (r *Registry[S]) load(ctx context.Context, tenant string, e *entry[S], at []kafka.Position) {
	start := time.Now()
	for attempt := 0; ctx.Err() == nil; attempt++ {
		err := r.loadOnce(ctx, tenant, e.state, at)
		if err == nil {
			n := r.measure(tenant, e.state)
			close(e.ready)
			debug.FreeOSMemory() // the snapshot's garbage: a load is rare and large
			r.log.Info("read model: tenant loaded", "model", r.m.Name, "tenant", tenant, "bytes", n,
				"took", time.Since(start).Round(time.Millisecond))
			return
		}
		if ctx.Err() != nil {
			return
		}
		r.log.Warn("read model: load failed; reads go to ClickHouse meanwhile", "model", r.m.Name, "tenant", tenant,
			"attempt", attempt+1, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (r *Registry[S]) loadOnce(ctx context.Context, tenant string, s S, at []kafka.Position) error {
	if err := r.WaitCommitted(ctx, at); err != nil {
		return err
	}
	return r.m.Load(ctx, tenant, s)
}

// WaitCommitted polls until the ingest group has committed past ps (at
// once without a tail: a load from what ClickHouse holds).
func (r *Registry[S]) WaitCommitted(ctx context.Context, ps []kafka.Position) error {
	if r.tail == nil || r.tail.committed == nil {
		return nil
	}
	return kafka.AwaitPassed(ctx, r.tail.committed, ps, r.m.CommitPoll, func() {
		r.log.Warn("read model waits for the ingest group to commit", "model", r.m.Name, "positions", kafka.FormatPositions(ps))
	})
}
