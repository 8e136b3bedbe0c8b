// Package readmodel is what the serving process's in-memory read models
// share (docs/decisions.md, "Board" B8 and "Segments and profiles from
// memory"): one Kafka tail of the events topic per process (Tail), and a
// per-tenant registry (Registry) that loads a tenant on its first read at
// the tail's positions, gates the load on the ingest group's commits,
// counts reads by source, measures each tenant's bytes and drops idle
// tenants. The models themselves — the follow-up boards, the CDP's
// segments and profiles — keep only a snapshot loader and a fold of an
// event (Model).
package readmodel

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/kafka"
)

// Committer tells whether the ingest group has committed past positions
// (kafka.Committed).
type Committer = kafka.Passer

// Follower is what the tail feeds: a registry, or another view of the
// events (the pool's deciders). Follows tells whether a tenant's events go
// to it, before the record is decoded; Take receives every decoded event
// that passed the filter of any follower (it ignores tenants it does not
// follow). Both are called under the tail's lock, Follows for every record:
// they must be quick and must not allocate.
type Follower interface {
	Follows(tenant []byte) bool
	Take(ev *event.Event)
}

// sweeper is a follower with tenants to drop when idle and to measure.
type sweeper interface {
	sweep(now time.Time)
}

// Tail is the process's one Kafka tail of the events topic: every
// partition, no consumer group, from the ends at start (kafka.Tail). It
// decodes each record once, for the followers whose tenants it is, and
// keeps the positions it has read, so that a view registering under its
// lock (AtTail) sees every later event and, once the ingest group has
// committed past those positions, every earlier one in ClickHouse.
type Tail struct {
	cl        *kgo.Client
	start     map[int32]int64
	committed Committer
	log       *slog.Logger
	bytes     *prometheus.GaugeVec // siyu_readmodel_bytes{model,tenant}

	mu        sync.Mutex
	running   bool
	ctx       context.Context // Run's: loads end with it
	pos       map[int32]int64 // the next offset the tail reads, per partition
	moved     chan struct{}   // closed and replaced whenever pos moves
	followers []Follower
}

// NewTail returns the tail that cl reads from start (the next offset of
// each partition, as kafka.Tail gives them); committed watches the ingest
// group whose commits gate the loads. It exports the bytes of every loaded
// tenant of every model in reg, when not nil. Run starts it.
func NewTail(cl *kgo.Client, start map[int32]int64, committed Committer, reg prometheus.Registerer, log *slog.Logger) *Tail {
	gauge := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "siyu_readmodel_bytes",
		Help: "Estimated heap bytes held by a loaded tenant of an in-memory read model (boards, cdp)."},
		[]string{"model", "tenant"})
	if reg != nil {
		reg.MustRegister(gauge)
	}
	return &Tail{cl: cl, start: start, committed: committed, log: log, bytes: gauge, moved: make(chan struct{})}
}

// Follow adds f to what the tail feeds. The models' constructors call it;
// a follower added while the tail runs sees the events from then on.
func (t *Tail) Follow(f Follower) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.followers = append(t.followers, f)
}

// Committed is the ingest group's commit gate the tail was built with.
func (t *Tail) Committed() Committer { return t.committed }

// errRunning means Run was called twice.
var errRunning = errors.New("read model tail: already running")

// sweepEvery is how often idle tenants are dropped and loaded tenants
// measured again.
const sweepEvery = time.Minute

// Run tails the events topic until ctx ends (nil then). A fetch that fails
// is retried; the client reconnects by itself.
func (t *Tail) Run(ctx context.Context) error {
	t.mu.Lock()
	if t.running {
		t.mu.Unlock()
		return errRunning
	}
	t.running, t.ctx, t.pos = true, ctx, map[int32]int64{}
	for p, o := range t.start {
		t.pos[p] = o
	}
	t.mu.Unlock()
	var sweeps sync.WaitGroup
	sweeps.Go(func() { t.sweepEvery(ctx, sweepEvery) })
	defer func() {
		t.mu.Lock()
		t.running = false
		t.mu.Unlock()
		sweeps.Wait()
	}()
	var at time.Time // the record time: the decoder's 24 h future check, as the pipeline's
	dec := event.NewDecoder(func() time.Time { return at })
	for {
		fetches := t.cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		failed := false
		fetches.EachError(func(topic string, p int32, err error) {
			t.log.Warn("read model tail: fetch failed; retrying", "topic", topic, "partition", p, "err", err)
			failed = true
		})
		t.take(dec, &at, fetches)
		if failed {
			select { // the client retries by itself; don't spin on a broker that is down
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

// take feeds one fetch's events to the followers of their tenants and
// moves the tail's positions past it, atomically with respect to
// registration.
func (t *Tail) take(dec *event.Decoder, at *time.Time, fetches kgo.Fetches) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fetches.EachRecord(func(r *kgo.Record) {
		t.pos[r.Partition] = r.Offset + 1
		if tenant, _, ok := bytes.Cut(r.Key, []byte("/")); ok && !t.follows(tenant) { // no allocation
			return // not a tenant with a view in memory: no need to decode
		}
		*at = r.Timestamp
		ev, err := dec.Decode(r.Value)
		if err != nil {
			return // the pipeline dead-letters it: it is in no rollup either
		}
		for _, f := range t.followers {
			f.Take(ev)
		}
	})
	close(t.moved)
	t.moved = make(chan struct{})
}

// follows reports whether a follower takes tenant's events (t.mu held).
func (t *Tail) follows(tenant []byte) bool {
	for _, f := range t.followers {
		if f.Follows(tenant) {
			return true
		}
	}
	return false
}

// sweepEvery drops idle tenants and measures loaded ones every period
// until ctx ends.
func (t *Tail) sweepEvery(ctx context.Context, period time.Duration) {
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-time.After(period):
			t.sweep(now)
		}
	}
}

// sweep lets every registry drop its idle tenants and measure the others.
func (t *Tail) sweep(now time.Time) {
	t.mu.Lock()
	fs := append([]Follower(nil), t.followers...)
	t.mu.Unlock()
	for _, f := range fs {
		if s, ok := f.(sweeper); ok {
			s.sweep(now)
		}
	}
}

// AtTail runs fn under the tail's lock with the last record the tail has
// read of each partition: a view registering there sees every later event
// through Take and every earlier one once the ingest group has committed
// past those positions. It reports false (fn not run) when the tail is not
// running.
func (t *Tail) AtTail(fn func(read []kafka.Position)) bool {
	return t.atTail(func(_ context.Context, read []kafka.Position) { fn(read) })
}

// atTail is AtTail, with Run's context for what fn starts.
func (t *Tail) atTail(fn func(ctx context.Context, read []kafka.Position)) bool {
	if t == nil {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.running {
		return false
	}
	fn(t.ctx, t.readLocked())
	return true
}

// Positions are the last records the tail has read, per partition.
func (t *Tail) Positions() []kafka.Position {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.readLocked()
}

// readLocked are the last records the tail has read, per partition (t.mu
// held).
func (t *Tail) readLocked() []kafka.Position {
	out := make([]kafka.Position, 0, len(t.pos))
	for p, o := range t.pos {
		if o > 0 {
			out = append(out, kafka.Position{Partition: p, Offset: o - 1})
		}
	}
	return out
}

// maxTailWait bounds how long a read after a write waits for the tail
// before it reads ClickHouse instead (which the API has waited for).
const maxTailWait = time.Second

// WaitPassed waits (at most a second) until the tail has read past every
// position; it reports whether it did.
func (t *Tail) WaitPassed(ctx context.Context, ps []kafka.Position) bool {
	if len(ps) == 0 || t == nil {
		return len(ps) == 0
	}
	return Await(ctx, maxTailWait, func() (bool, <-chan struct{}) { return t.passed(ps) })
}

// Await waits until check reports true, checking again each time the
// channel it gave is closed, for at most limit; it reports whether check
// did (false when ctx ends first).
func Await(ctx context.Context, limit time.Duration, check func() (bool, <-chan struct{})) bool {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		ok, moved := check()
		if ok {
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

// Passed reports whether the tail has read past every position.
func (t *Tail) Passed(ps []kafka.Position) bool {
	ok, _ := t.passed(ps)
	return ok
}

// passed reports whether the tail has read past ps, and gives the channel
// closed at its next move.
func (t *Tail) passed(ps []kafka.Position) (bool, <-chan struct{}) {
	if t == nil {
		return len(ps) == 0, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range ps {
		if t.pos[p.Partition] <= p.Offset {
			return false, t.moved
		}
	}
	return true, t.moved
}

// isClosed reports whether ch is closed (a readiness or a move signal).
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
