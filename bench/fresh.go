package main

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"path/filepath"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The freshness figure's markers: chat messages in from one contact of a
// tenant of their own, each timed now, whose folded last_in_ns shows how far
// the pipeline has got.
const (
	markerTenant  = "fresh"
	markerSubject = "marker"
	markerEvery   = 100 * time.Millisecond
	markerPoll    = 20 * time.Millisecond
	paceEvery     = 10 * time.Millisecond
	warmUpLimit   = 2 * time.Minute
	drainLimit    = 15 * time.Second
)

const markerQuery = "SELECT maxIfMerge(last_in_ns) FROM profile_state WHERE tenant = '" +
	markerTenant + "' AND contact_id = '" + markerSubject + "'"

// freshResult is the freshness figure.
type freshResult struct {
	p50, p99, max time.Duration
	markers       int // sent
	missing       int // never seen folded
	bgRate        float64
}

// marker is one sent marker: its event time and when it was handed to Kafka.
type marker struct {
	ns   int64
	sent time.Time
}

// sighting is a poll at which the folded last_in_ns had grown.
type sighting struct {
	at time.Time
	ns int64
}

// measureFreshness runs `siyu ingest` with its defaults, feeds it a
// background stream at a steady rate and, every 100 ms, a marker; a poller
// sees each marker's time appear in the folded profile.
func (h *harness) measureFreshness(ctx context.Context) error {
	s := stream{seed: seedFresh, events: h.cfg.freshRate * int(h.cfg.freshFor/time.Second), tenants: tenantNames("f", 20)}
	h.say("siyu loadgen: generating the background stream (%s events)", thousands(s.events))
	evs, err := s.lines(ctx, h.cfg.siyu, filepath.Join(h.cfg.dir, "streams", "fresh.jsonl"))
	if err != nil {
		return err
	}
	conn, dsn, err := h.env.database(ctx, e2eDatabase)
	if err != nil {
		return err
	}
	defer conn.Close()
	ing, err := h.startIngest(dsn, "ingest-fresh")
	if err != nil {
		return err
	}
	defer h.release(ctx, ing)
	poll := startMarkerPoller(ctx, conn)
	defer poll.finish()
	h.say("waiting for siyu ingest to join the group and fold a first marker")
	if err := h.warmUp(ctx, poll, ing); err != nil {
		return err
	}
	cpu := h.meter(map[string]int{"siyu ingest": ing.pid()})
	markers, rate, err := h.feed(ctx, ing, evs)
	if err != nil {
		return err
	}
	h.recordCPU("freshness", cpu)
	if err := h.summarizeFreshness(ctx, poll, markers, rate); err != nil {
		return err
	}
	// Stopping mid-insert would cancel it; a backlog is left for redelivery.
	if err := waitCommitted(ctx, h.env.producer, eventsTopic, 30*time.Second); err != nil {
		h.say("stopping siyu ingest anyway: %v", err)
	}
	return nil
}

// summarizeFreshness waits a little for the last markers, then matches
// every marker with the poll that first saw it.
func (h *harness) summarizeFreshness(ctx context.Context, poll *markerPoller, markers []marker, rate float64) error {
	if len(markers) == 0 {
		return fmt.Errorf("no marker was sent")
	}
	h.awaitMarker(ctx, poll, markers[len(markers)-1].ns, drainLimit)
	sightings, err := poll.finish()
	if err != nil {
		return err
	}
	r := summarize(markers, sightings)
	r.bgRate = rate
	h.res.fresh = &r
	h.say("freshness: p50 %s, p99 %s, max %s over %d markers (%d unseen); background %s events/s",
		round(r.p50), round(r.p99), round(r.max), r.markers, r.missing, thousands(int(rate)))
	return nil
}

// warmUp sends markers until one is folded: the consumer has joined the
// group and caught up with whatever the topic held.
func (h *harness) warmUp(ctx context.Context, poll *markerPoller, ing *child) error {
	var tally produceTally
	deadline := time.Now().Add(warmUpLimit)
	for i := 0; time.Now().Before(deadline); i++ {
		m := h.sendMarker(ctx, "warm", i, &tally)
		if h.awaitMarker(ctx, poll, m.ns, 2*time.Second) {
			return tally.err()
		}
		if err := ing.exited(); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return fmt.Errorf("no marker was folded within %s; see %s", warmUpLimit, ing.log)
}

// awaitMarker waits until the folded last_in_ns reaches ns, or limit passes.
func (h *harness) awaitMarker(ctx context.Context, poll *markerPoller, ns int64, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for poll.latest.Load() < ns {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(markerPoll)
	}
	return true
}

// feed produces the background stream at the target rate for the figure's
// duration, with a marker every 100 ms, and returns the markers and the
// background rate achieved (acknowledged events over the time taken).
func (h *harness) feed(ctx context.Context, ing *child, evs []keyed) ([]marker, float64, error) {
	h.say("producing %s events/s for %s with a marker every %s", thousands(h.cfg.freshRate), h.cfg.freshFor, markerEvery)
	var bg, mk produceTally
	p := pacer{h: h, evs: evs, rate: h.cfg.freshRate, tally: &bg, markerTally: &mk}
	if err := p.run(ctx, h.cfg.freshFor, ing); err != nil {
		return nil, 0, err
	}
	if err := h.env.producer.Flush(ctx); err != nil {
		return nil, 0, fmt.Errorf("flush producer: %w", err)
	}
	if err := bg.err(); err != nil {
		return nil, 0, err
	}
	return p.markers, perSecond(int(bg.acked.Load()), p.elapsed), mk.err()
}

// pacer spreads a stream evenly over time: every 10 ms it produces what is
// due by then, so that a late tick catches up instead of drifting.
type pacer struct {
	h           *harness
	evs         []keyed // the background stream
	rate        int
	tally       *produceTally
	markerTally *produceTally
	markers     []marker
	sent        int
	elapsed     time.Duration
}

func (p *pacer) run(ctx context.Context, dur time.Duration, ing *child) error {
	tick := time.NewTicker(paceEvery)
	defer tick.Stop()
	start := time.Now()
	nextMarker, nextCheck := start, start.Add(time.Second)
	for {
		var now time.Time
		select {
		case <-ctx.Done():
			return ctx.Err()
		case now = <-tick.C:
		}
		if p.elapsed = now.Sub(start); p.elapsed >= dur {
			return nil
		}
		for due := min(int(p.elapsed.Seconds()*float64(p.rate)), len(p.evs)); p.sent < due; p.sent++ {
			e := p.evs[p.sent]
			p.h.env.producer.Produce(ctx, &kgo.Record{Topic: eventsTopic, Key: e.key, Value: e.value}, p.tally.done)
		}
		if !now.Before(nextMarker) {
			p.markers = append(p.markers, p.h.sendMarker(ctx, "m", len(p.markers), p.markerTally))
			nextMarker = nextMarker.Add(markerEvery)
		}
		if now.After(nextCheck) {
			if err := ing.exited(); err != nil {
				return err
			}
			nextCheck = nextCheck.Add(5 * time.Second)
			p.h.say("fed %s background events, %d markers", thousands(p.sent), len(p.markers))
		}
	}
}

// sendMarker produces one marker timed now.
func (h *harness) sendMarker(ctx context.Context, prefix string, i int, tally *produceTally) marker {
	now := time.Now()
	e := wireEvent{ID: prefix + "-" + strconv.Itoa(i), Source: "bench", Type: "chat.message",
		Tenant: markerTenant, Subject: markerSubject, Time: now.UTC()}.with("staff_id", "s0001").with("direction", "in")
	h.env.producer.Produce(ctx, e.record(eventsTopic), tally.done)
	return marker{ns: now.UnixNano(), sent: now}
}

// markerPoller queries the marker's folded last_in_ns every 20 ms and keeps
// each poll at which it grew, timed when the answer arrived.
type markerPoller struct {
	latest    atomic.Int64
	sightings []sighting
	err       error
	cancel    context.CancelFunc
	done      chan struct{}
	once      sync.Once
}

func startMarkerPoller(ctx context.Context, conn driver.Conn) *markerPoller {
	pctx, cancel := context.WithCancel(ctx)
	p := &markerPoller{cancel: cancel, done: make(chan struct{})}
	go p.run(pctx, conn)
	return p
}

func (p *markerPoller) run(ctx context.Context, conn driver.Conn) {
	defer close(p.done)
	tick := time.NewTicker(markerPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		var ns int64
		if err := conn.QueryRow(ctx, markerQuery).Scan(&ns); err != nil {
			if ctx.Err() == nil {
				p.err = fmt.Errorf("poll markers: %w", err)
			}
			return
		}
		if ns > p.latest.Load() {
			p.sightings = append(p.sightings, sighting{at: time.Now(), ns: ns})
			p.latest.Store(ns)
		}
	}
}

// finish stops polling and returns the sightings; calling it again is harmless.
func (p *markerPoller) finish() ([]sighting, error) {
	p.once.Do(func() { p.cancel(); <-p.done })
	return p.sightings, p.err
}

// summarize matches each marker with the first sighting that covers it.
func summarize(markers []marker, sightings []sighting) freshResult {
	r := freshResult{markers: len(markers)}
	lat := make([]time.Duration, 0, len(markers))
	for _, m := range markers {
		i := sort.Search(len(sightings), func(i int) bool { return sightings[i].ns >= m.ns })
		if i == len(sightings) {
			r.missing++
			continue
		}
		lat = append(lat, sightings[i].at.Sub(m.sent))
	}
	if len(lat) == 0 {
		return r
	}
	slices.Sort(lat)
	r.p50, r.p99, r.max = quantile(lat, 0.50), quantile(lat, 0.99), lat[len(lat)-1]
	return r
}

// quantile is the nearest-rank q-quantile of sorted durations.
func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(math.Ceil(float64(len(sorted))*q)) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
