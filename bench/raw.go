package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/apache/arrow/go/v15/arrow"

	"github.com/siyu-dev/siyu/ingest"
	"github.com/siyu-dev/siyu/internal/progress"
	"github.com/siyu-dev/siyu/store"
)

// recordRows is the size of the prebuilt Arrow records: the pipeline's
// default batch.
const recordRows = 100_000

// rawDatabase holds the copy of the events table without materialized views.
const rawDatabase = "bench_raw"

// measureRaw times ingest.Writer inserting prebuilt Arrow records into a
// copy of the events table that has no materialized views: the ceiling the
// pipeline inserts under. It then inserts the same records into events
// itself, views included, to show what folding the profiles costs apart
// from Kafka and decoding. Building the records is timed apart, as the
// single-core rate of the pipeline's decode and build.
func (h *harness) measureRaw(ctx context.Context) error {
	recs, err := h.prebuild()
	if err != nil {
		return err
	}
	defer releaseAll(recs)
	conn, _, err := h.env.database(ctx, rawDatabase)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.Exec(ctx, "CREATE TABLE events_raw AS events"); err != nil {
		return fmt.Errorf("create events_raw: %w", err)
	}
	if h.res.raw, err = h.timeInserts(ctx, conn, "events_raw", recs); err != nil {
		return err
	}
	if h.res.rawViews, err = h.timeInserts(ctx, conn, "events", recs); err != nil {
		return err
	}
	// Its background merges would compete with the next figures.
	return store.DropDatabase(ctx, conn, rawDatabase)
}

// timeInserts writes recs into table, one after another as the pipeline
// does, checks the row count and returns the rate in rows/s.
func (h *harness) timeInserts(ctx context.Context, conn driver.Conn, table string, recs []arrow.Record) (float64, error) {
	h.say("inserting %d records of %s rows into %s.%s", len(recs), thousands(recordRows), rawDatabase, table)
	cpu := h.meter(nil)
	w := ingest.NewWriterTo(conn, table)
	start := time.Now()
	for i, r := range recs {
		if err := w.Write(ctx, r); err != nil {
			return 0, fmt.Errorf("insert record %d into %s: %w", i, table, err)
		}
	}
	elapsed := time.Since(start)
	h.recordCPU("insert into "+table, cpu)
	var stored uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM "+table).Scan(&stored); err != nil {
		return 0, fmt.Errorf("count %s: %w", table, err)
	}
	if int(stored) != h.cfg.events {
		return 0, fmt.Errorf("%s holds %d rows, want %d", table, stored, h.cfg.events)
	}
	rate := perSecond(h.cfg.events, elapsed)
	h.say("%s: %s rows in %s = %s rows/s", table, thousands(h.cfg.events), round(elapsed), thousands(int(rate)))
	return rate, nil
}

// prebuild generates the main stream and builds its Arrow records, timing
// the pipeline's share of that (decode, validate, append) on one core.
func (h *harness) prebuild() ([]arrow.Record, error) {
	g, err := benchStream(seedMain, h.cfg.events, nil)
	if err != nil {
		return nil, err
	}
	h.say("building %s events into Arrow records (JSON encode, decode, Builder)", thousands(h.cfg.events))
	bar := progress.New(os.Stderr, "build", g.Total())
	recs, elapsed, err := buildRecords(g, recordRows, bar.Add)
	bar.Done()
	if err != nil {
		return nil, err
	}
	h.res.build = perSecond(h.cfg.events, elapsed)
	h.say("decode + Arrow build: %s events/s on one core", thousands(int(h.res.build)))
	return recs, nil
}
