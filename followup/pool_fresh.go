package followup

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/kafka"
)

// Fresh state (docs/decisions.md, "Customer pool", P13): every batch of a
// tenant's decider takes a cut, the ingest group's committed offsets
// fetched after the batch's requests arrived (plus the topic's end after
// a new term or an ambiguous write), and decides only on a book that
// includes every event before it. The book includes what ClickHouse had
// when it was read (its asOf offsets) and, once the decider follows the
// process's read-model tail (readmodel.Tail), every later event of the
// tenant the tail has read: then a batch waits (briefly) for the tail to
// pass the cut instead of reading ClickHouse again.

// IngestOffsets is where the ingest pipeline stands on the events topic.
// Offsets are per partition, the next offset (as Kafka commits them).
type IngestOffsets interface {
	// Committed returns the ingest group's committed offsets, from a fetch
	// begun at or after after: a commit made before then is in them.
	Committed(ctx context.Context, after time.Time) (map[int32]int64, error)
	// Ends returns the topic's end offsets: every record acknowledged so
	// far is before them.
	Ends(ctx context.Context) (map[int32]int64, error)
}

// KafkaOffsets is IngestOffsets read from Kafka with kadm. Concurrent callers
// share a fetch that began late enough for all of them, so that busy
// deciders of many tenants cost about one request per round trip.
type KafkaOffsets struct {
	adm   *kadm.Client
	group string
	topic string

	mu   sync.Mutex
	last *offsetFetch // the latest fetch begun, maybe still running
}

type offsetFetch struct {
	began   time.Time
	done    chan struct{}
	offsets map[int32]int64
	err     error
}

// NewKafkaOffsets watches group's commits on topic through cl.
func NewKafkaOffsets(cl *kgo.Client, group, topic string) *KafkaOffsets {
	return &KafkaOffsets{adm: kadm.NewClient(cl), group: group, topic: topic}
}

// Committed implements IngestOffsets.
func (ko *KafkaOffsets) Committed(ctx context.Context, after time.Time) (map[int32]int64, error) {
	ko.mu.Lock()
	f := ko.last
	if f == nil || f.began.Before(after) {
		f = &offsetFetch{began: time.Now(), done: make(chan struct{})}
		ko.last = f
		go ko.fetch(f)
	}
	ko.mu.Unlock()
	select {
	case <-f.done:
		return f.offsets, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (ko *KafkaOffsets) fetch(f *offsetFetch) {
	defer close(f.done)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	f.offsets, f.err = kafka.FetchCommitted(ctx, ko.adm, ko.group, ko.topic)
}

// Ends implements IngestOffsets.
func (ko *KafkaOffsets) Ends(ctx context.Context) (map[int32]int64, error) {
	return kafka.EndOffsets(ctx, ko.adm, ko.topic)
}

// offsets are next offsets per partition; a missing partition is 0.
type offsets map[int32]int64

// covers reports whether every event before o is before c too.
func (c offsets) covers(o offsets) bool {
	for p, n := range o {
		if c[p] < n {
			return false
		}
	}
	return true
}

// union is the larger of the two per partition.
func (c offsets) union(o offsets) offsets {
	out := make(offsets, max(len(c), len(o)))
	for p, n := range c {
		out[p] = n
	}
	for p, n := range o {
		out[p] = max(out[p], n)
	}
	return out
}

// last are the positions of the last event before c (the tail has read
// them once it has passed them).
func (c offsets) last() []kafka.Position {
	out := make([]kafka.Position, 0, len(c))
	for p, n := range c {
		if n > 0 {
			out = append(out, kafka.Position{Partition: p, Offset: n - 1})
		}
	}
	return out
}

func nextOf(read []kafka.Position) offsets {
	out := make(offsets, len(read))
	for _, r := range read {
		out[r.Partition] = r.Offset + 1
	}
	return out
}

// cut is what the batch's book must include: the group's commits fetched
// after start, and the topic's end when the decider needs it.
func (p *Pool) cut(ctx context.Context, d *decider, start time.Time) (offsets, error) {
	if p.ingest == nil {
		return nil, nil
	}
	c, err := p.ingest.Committed(ctx, start)
	if err != nil {
		return nil, err
	}
	d.committed = c
	if !d.needEnds {
		return c, nil
	}
	ends, err := p.ingest.Ends(ctx)
	if err != nil {
		return nil, err
	}
	return offsets(c).union(ends), nil
}

// caughtUp brings d's book up to cut without reading ClickHouse, when it
// can: the book already includes it, or it is complete with the tail's
// facts and the tail passes the cut within a second.
func (p *Pool) caughtUp(ctx context.Context, d *decider, cut offsets) bool {
	if d.book.asOf.covers(cut) {
		if d.following.Load() {
			p.drain(d)
		}
		return true
	}
	if !d.following.Load() || !d.book.asOf.covers(d.tailFrom) {
		return false
	}
	return p.tail.WaitPassed(ctx, cut.last()) && p.drain(d)
}

// committedPast waits (at most FreshWait) until the ingest group has
// committed past need, and returns the commits it read last.
func (p *Pool) committedPast(ctx context.Context, need offsets) (offsets, error) {
	if p.ingest == nil {
		return nil, nil
	}
	deadline := time.Now().Add(p.cfg.FreshWait)
	for {
		c, err := p.ingest.Committed(ctx, time.Now())
		if err != nil || offsets(c).covers(need) || time.Now().After(deadline) {
			return c, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// poolFactKind is what a tail event tells the decider.
type poolFactKind uint8

const (
	poolAdded poolFactKind = iota
	poolChanged
	poolFollowedUp
	poolRules
)

// poolFact is one event of the tail as the decider folds it.
type poolFact struct {
	kind  poolFactKind
	ch    change // added: ch.to is the adder
	rules Rules
}

// factGen is the facts one drain took, and the tail's next offsets then:
// once the group has committed past them, ClickHouse has every one.
type factGen struct {
	next  offsets
	facts []poolFact
}

// poolFactOf is ev's fact for the decider; ok is false for events it
// does not fold.
func poolFactOf(ev *event.Event) (poolFact, bool) {
	key := EventKey{TimeNs: ev.TimeNs(), ID: strings.Clone(ev.ID), Source: strings.Clone(ev.Source)}
	f := poolFact{ch: change{contact: strings.Clone(ev.Subject), key: key}}
	switch ev.Type {
	case event.ContactAdded:
		f.kind, f.ch.to = poolAdded, strings.Clone(ev.Data.StaffID)
	case event.AssigneeChanged:
		f.kind = poolChanged
		f.ch.from, f.ch.to, f.ch.reason = strings.Clone(ev.Data.FromStaffID), strings.Clone(ev.Data.ToStaffID), strings.Clone(ev.Data.Reason)
	case event.FollowupLogged:
		f.kind = poolFollowedUp
	case event.PoolRulesSet:
		f.kind = poolRules
		f.rules = Rules{MaxHold: ev.Data.ContactCap, MaxClaimsPerDay: ev.Data.MaxClaimsPerDay,
			RecycleDays: ev.Data.RecycleDays, CooldownDays: ev.Data.CooldownDays}
	default:
		return poolFact{}, false
	}
	return f, true
}

// take folds a tail fact into the book.
func (b *book) take(f poolFact) {
	switch f.kind {
	case poolAdded:
		b.added(f.ch.contact, f.ch.to, f.ch.key)
	case poolChanged:
		b.apply(f.ch)
	case poolFollowedUp:
		b.followedUp(f.ch.contact, f.ch.key.TimeNs)
	case poolRules:
		b.setRules(f.rules, f.ch.key)
	}
}

// Follows implements readmodel.Follower: the tail decodes the events of tenants
// whose decider follows it.
func (p *Pool) Follows(tenant []byte) bool {
	p.mu.RLock()
	d := p.deciders[string(tenant)]
	p.mu.RUnlock()
	return d != nil && d.following.Load()
}

// Take implements readmodel.Follower: it queues the events the decider folds for
// its next batch. It runs under the tail's lock.
func (p *Pool) Take(ev *event.Event) {
	switch ev.Type {
	case event.ContactAdded, event.AssigneeChanged, event.FollowupLogged, event.PoolRulesSet:
	default:
		return
	}
	p.mu.RLock()
	d := p.deciders[ev.Tenant]
	p.mu.RUnlock()
	if d == nil || !d.following.Load() {
		return
	}
	f, _ := poolFactOf(ev)
	d.inboxMu.Lock()
	defer d.inboxMu.Unlock()
	if len(d.inbox) >= maxInbox {
		// A tenant busy with events and idle with requests: stop queueing;
		// its next batch reads ClickHouse and follows the tail again.
		d.following.Store(false)
		d.inbox = nil
		return
	}
	d.inbox = append(d.inbox, f)
}

// maxInbox bounds the facts queued for a decider between two batches
// (about 100 bytes each).
const maxInbox = 100_000

// follow makes d follow the tail, when there is one: from the tail's
// current position on, the tenant's events are queued for d.
func (p *Pool) follow(d *decider) {
	if p.tail == nil || d.following.Load() {
		return
	}
	p.tail.AtTail(func(read []kafka.Position) {
		d.tailFrom = nextOf(read)
		d.kept = nil
		d.following.Store(true)
	})
}

// unfollow stops queueing the tenant's events (an idle tenant, or a tail
// that stopped).
func (p *Pool) unfollow(d *decider) {
	d.following.Store(false)
	d.inboxMu.Lock()
	d.inbox = nil
	d.inboxMu.Unlock()
	d.kept, d.tailFrom = nil, nil
}

// drain folds the facts queued for d into its book and keeps them until
// the group commits past them (a reread of ClickHouse lays them over
// again). It reports false when the tail no longer runs or stopped
// queueing for d (then the book may lack events).
func (p *Pool) drain(d *decider) bool {
	var facts []poolFact
	var next offsets
	following := false
	running := p.tail.AtTail(func(read []kafka.Position) {
		d.inboxMu.Lock()
		facts, d.inbox = d.inbox, nil
		d.inboxMu.Unlock()
		next, following = nextOf(read), d.following.Load()
	})
	for _, f := range facts {
		d.book.take(f)
	}
	if len(facts) > 0 {
		d.kept = append(d.kept, factGen{next: next, facts: facts})
	}
	d.forget(d.committed)
	if !running || !following {
		p.unfollow(d)
		return false
	}
	return true
}

// forget drops the kept facts that ClickHouse has (committed past).
func (d *decider) forget(committed offsets) {
	keep := d.kept[:0]
	for _, g := range d.kept {
		if !committed.covers(g.next) {
			keep = append(keep, g)
		}
	}
	clear(d.kept[len(keep):])
	d.kept = keep
}
