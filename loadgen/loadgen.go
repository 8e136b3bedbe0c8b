// Package loadgen generates a realistic, deterministic stream of Siyu events
// for demos and benchmarks: tenants subscribe and define tags, their sales
// staff add WeCom customers, chat with them (most of the stream), tag them,
// log follow-ups and move them through stages, and now and then lose a
// customer or leave the company, handing their customers to a colleague.
//
// The stream is causally plausible (nothing happens to a contact before it is
// added, after it is removed, or by a staff member who has left) and every
// event is valid under the contract (shared/spec/events.md). The same Config
// yields the same bytes, so streams double as test fixtures.
package loadgen

import (
	"slices"

	"github.com/siyu-dev/siyu/event"
)

// Generator emits the events of one Config, in time order unless
// Config.Shuffle is set.
//
// Without Shuffle and duplicates it streams: memory grows with the contacts
// added, never with the events, and a core produces well over a million
// events a second. Shuffle and DuplicateShare need the whole stream at hand:
// the first Next generates every event and keeps it (about 600 bytes per
// event, strings included), so keep such streams to test sizes.
//
// A Generator is not safe for concurrent use.
type Generator struct {
	src      *stream
	total    int
	buffered bool
	buf      []event.Event
	pos      int
	draws    rng // picks duplicates and shuffles, apart from the stream's draws
	dups     int
	reorder  bool
}

// New checks cfg and returns a Generator for it.
func New(cfg Config) (*Generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	dups := int(float64(cfg.Events)*cfg.DuplicateShare + 0.5)
	return &Generator{
		src:      newStream(cfg),
		total:    cfg.Events + dups,
		buffered: cfg.Shuffle || dups > 0,
		draws:    newRNG(mix64(uint64(cfg.Seed) ^ 0x5eed5eed5eed5eed)),
		dups:     dups,
		reorder:  cfg.Shuffle,
	}, nil
}

// Total is the number of events the Generator emits, duplicates included.
func (g *Generator) Total() int { return g.total }

// Next fills e with the next event and reports whether there was one. The
// strings in e stay valid after later calls.
func (g *Generator) Next(e *event.Event) bool {
	if !g.buffered {
		return g.src.next(e)
	}
	if g.buf == nil {
		g.buf = g.drain()
	}
	if g.pos >= len(g.buf) {
		return false
	}
	*e = g.buf[g.pos]
	g.pos++
	return true
}

// drain generates the whole stream, adds the duplicates and shuffles.
func (g *Generator) drain() []event.Event {
	evs := make([]event.Event, 0, g.total)
	var e event.Event
	for g.src.next(&e) {
		evs = append(evs, e)
	}
	evs = g.addDuplicates(evs)
	if g.reorder {
		for i := len(evs) - 1; i > 0; i-- {
			j := g.draws.intn(i + 1)
			evs[i], evs[j] = evs[j], evs[i]
		}
	}
	return evs
}

// addDuplicates appends g.dups copies of random events, each moved to a
// random place after its original: a redelivery never precedes the first
// delivery unless the stream is shuffled.
func (g *Generator) addDuplicates(evs []event.Event) []event.Event {
	n := len(evs)
	if g.dups == 0 || n == 0 {
		return evs
	}
	type placed struct{ key, idx int }
	order := make([]placed, 0, n+g.dups)
	for i := range n {
		order = append(order, placed{key: 2 * i, idx: i})
	}
	for range g.dups {
		orig := g.draws.intn(n)
		at := orig + g.draws.intn(n-orig)
		order = append(order, placed{key: 2*at + 1, idx: orig})
	}
	slices.SortStableFunc(order, func(a, b placed) int { return a.key - b.key })
	out := make([]event.Event, len(order))
	for i, p := range order {
		out[i] = evs[p.idx]
	}
	return out
}
