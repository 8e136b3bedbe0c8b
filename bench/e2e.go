package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// e2eDatabase is the migrated database `siyu ingest` fills; the freshness
// and POST figures reuse it.
const e2eDatabase = "bench_e2e"

// storeLimit bounds the wait for the end-to-end figure.
const storeLimit = 15 * time.Minute

// e2eResult is the end-to-end figure and what was measured with it.
type e2eResult struct {
	total     time.Duration // process start to the last event stored
	rate      float64
	steadyFor time.Duration // first row visible to the last
	steady    float64
	committed time.Duration // process start to every offset committed (views folded)
	hwmKB     int64
	rssMaxKB  int64
	profiles  uint64
}

// measureProduce has `siyu loadgen` produce the main stream to the events
// topic as fast as the embedded broker takes it (generation, encoding and
// the process's start included, as the harness's own loop did); the
// end-to-end figure consumes it.
func (h *harness) measureProduce(ctx context.Context) error {
	s := stream{seed: seedMain, events: h.cfg.events}
	h.say("siyu loadgen: producing %s events", thousands(s.events))
	took, err := s.produce(ctx, h.cfg.siyu, h.env.broker, eventsTopic)
	if err != nil {
		return fmt.Errorf("produce the stream: %w", err)
	}
	h.res.produce = perSecond(s.events, took)
	h.res.produced = true
	h.say("produced %s events at %s events/s", thousands(s.events), thousands(int(h.res.produce)))
	return nil
}

// measureEndToEnd starts `siyu ingest` on the produced stream and times it
// until every event is stored, sampling its memory meanwhile.
func (h *harness) measureEndToEnd(ctx context.Context) error {
	if !h.res.produced {
		return fmt.Errorf("the stream was not produced")
	}
	conn, dsn, err := h.env.database(ctx, e2eDatabase)
	if err != nil {
		return err
	}
	defer conn.Close()
	r, err := h.ingestAll(ctx, conn, dsn)
	if err != nil {
		return err
	}
	h.res.e2e = r
	if r.profiles, err = countProfiles(ctx, conn); err != nil {
		return err
	}
	h.say("end-to-end: %s events/s (%s); steady %s events/s; VmHWM %d MB", thousands(int(r.rate)),
		round(r.total), thousands(int(r.steady)), r.hwmKB>>10)
	return nil
}

// ingestAll runs `siyu ingest` until it has stored and committed the whole
// stream, and stops it once it is idle.
func (h *harness) ingestAll(ctx context.Context, conn driver.Conn, dsn string) (*e2eResult, error) {
	start := time.Now()
	ing, err := h.startIngest(dsn, "ingest-e2e")
	if err != nil {
		return nil, err
	}
	defer h.release(ctx, ing)
	rss := sampleRSS(ing.pid(), 200*time.Millisecond)
	defer rss.finish()
	cpu := h.meter(map[string]int{"siyu ingest": ing.pid()})
	r := &e2eResult{}
	if err := h.waitStored(ctx, conn, ing, start, r); err != nil {
		return nil, err
	}
	h.recordCPU("end-to-end ingest", cpu)
	if err := waitCommitted(ctx, h.env.producer, eventsTopic, time.Minute); err != nil {
		return nil, err
	}
	r.committed = time.Since(start)
	if r.hwmKB, err = procStatusKB(ing.pid(), "VmHWM"); err != nil {
		return nil, err
	}
	r.rssMaxKB = rss.finish()
	if err := ing.stop(10 * time.Second); err != nil {
		return nil, fmt.Errorf("stop siyu ingest: %w", err)
	}
	return r, nil
}

// startIngest starts `siyu ingest` against dsn with its default batching.
func (h *harness) startIngest(dsn, name string) (*child, error) {
	h.say("starting siyu ingest (log: %s)", h.env.logFile(name))
	args := append([]string{"ingest", "--clickhouse-dsn", dsn, "--kafka-brokers", h.env.broker, "--metrics-addr", ""},
		strings.Fields(h.cfg.ingestFlags)...)
	return startChild(name, h.env.logFile(name), h.cfg.siyu, args...)
}

// waitStored polls every 200 ms until the events table holds every event
// of the stream, and fills in the timings. It polls the cheap count() and
// checks uniqExact only once the count is reached, so that polling does not
// take CPU from the ingest it measures.
func (h *harness) waitStored(ctx context.Context, conn driver.Conn, ing *child, start time.Time, r *e2eResult) error {
	n := h.cfg.events
	lastSaid := time.Now()
	var first time.Time
	var firstRows int
	return pollEvery(ctx, 200*time.Millisecond, func() (bool, error) {
		if err := ing.exited(); err != nil {
			return false, err
		}
		rows, err := countRows(ctx, conn)
		if err != nil {
			return false, err
		}
		now := time.Now()
		if now.Sub(lastSaid) >= 5*time.Second {
			h.say("ingest: %s of %s events stored", thousands(rows), thousands(n))
			lastSaid = now
		}
		if rows > 0 && first.IsZero() {
			first, firstRows = now, rows
		}
		if now.Sub(start) > storeLimit {
			return false, fmt.Errorf("only %d of %d events stored after %s", rows, n, storeLimit)
		}
		if rows < n {
			return false, nil
		}
		done, err := allDistinct(ctx, conn, n)
		if done {
			r.total, r.steadyFor = now.Sub(start), now.Sub(first)
			r.rate, r.steady = perSecond(n, r.total), perSecond(n-firstRows, r.steadyFor)
		}
		return done, err
	})
}

// pollEvery calls check at every interval until it reports done or fails.
func pollEvery(ctx context.Context, every time.Duration, check func() (bool, error)) error {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		if done, err := check(); done || err != nil {
			return err
		}
	}
}

// countRows counts the stored rows, redeliveries not yet merged included.
func countRows(ctx context.Context, conn driver.Conn) (int, error) {
	var n uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM events").Scan(&n); err != nil {
		return 0, fmt.Errorf("count events: %w", err)
	}
	return int(n), nil
}

// allDistinct reports whether the events table holds exactly n distinct
// events; more is an error (the stream has n).
func allDistinct(ctx context.Context, conn driver.Conn, n int) (bool, error) {
	var got uint64
	if err := conn.QueryRow(ctx, "SELECT uniqExact(tenant, source, id) FROM events").Scan(&got); err != nil {
		return false, fmt.Errorf("count distinct events: %w", err)
	}
	if int(got) > n {
		return false, fmt.Errorf("events holds %d distinct events, the stream only %d", got, n)
	}
	return int(got) == n, nil
}

// countProfiles counts the contacts the materialized views folded.
func countProfiles(ctx context.Context, conn driver.Conn) (uint64, error) {
	var n uint64
	err := conn.QueryRow(ctx, "SELECT count() FROM (SELECT contact_id FROM profile_state GROUP BY tenant, contact_id)").Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count profiles: %w", err)
	}
	if n == 0 {
		return 0, fmt.Errorf("profile_state is empty: the materialized views folded nothing")
	}
	return n, nil
}
