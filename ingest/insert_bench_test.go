package ingest_test

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/apache/arrow/go/v15/arrow"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/ingest"
	"github.com/siyu-dev/siyu/loadgen"
	"github.com/siyu-dev/siyu/store"
)

// The foundation's in-process figures read these: the bench harness (go run
// ./bench) starts a ClickHouse server and runs BenchmarkColumnarInsert
// against a fresh database of it. Without a DSN the benchmark is skipped.
const (
	benchDSNEnv    = "SIYU_BENCH_CLICKHOUSE_DSN" // a database this benchmark may fill and drop
	benchEventsEnv = "SIYU_BENCH_EVENTS"         // events of the stream; default 200,000
)

// insertRecordRows is the pipeline's default batch: the size of the
// prebuilt records.
const insertRecordRows = 100_000

// BenchmarkColumnarInsert times ingest.Writer inserting prebuilt Arrow
// records of loadgen's main stream (the one the end-to-end figure
// consumes) into a copy of events without materialized views — the ceiling
// the pipeline inserts under — and then into events itself, views
// included, to show what folding costs apart from Kafka and decoding.
// Building the records (JSON encode excluded; decode, validate, append on
// one core) is timed apart. It reports build-events/s, raw-rows/s and
// mv-rows/s; run it once (-benchtime 1x):
//
//	SIYU_BENCH_CLICKHOUSE_DSN=clickhouse://127.0.0.1:9000/bench_raw \
//	  go test -run '^$' -bench ColumnarInsert -benchtime 1x ./ingest
func BenchmarkColumnarInsert(b *testing.B) {
	dsn := os.Getenv(benchDSNEnv)
	if dsn == "" {
		b.Skip(benchDSNEnv + " is not set: this benchmark needs a ClickHouse database (go run ./bench sets it)")
	}
	n := 200_000
	if v := os.Getenv(benchEventsEnv); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("%s=%q: want a positive number", benchEventsEnv, v)
		}
	}
	ctx := context.Background()
	conn := benchDatabase(b, ctx, dsn)
	defer conn.Close()
	recs, build := buildMainStream(b, n, insertRecordRows)
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	var raw, views float64
	for i := 0; i < b.N; i++ {
		raw, views = insertBoth(b, ctx, conn, recs, n)
	}
	b.ReportMetric(build, "build-events/s")
	b.ReportMetric(raw, "raw-rows/s")
	b.ReportMetric(views, "mv-rows/s")
	dropBenchDatabase(b, ctx, conn, dsn)
}

// insertBoth inserts recs into a fresh events_raw and then into events,
// and returns both rates in rows/s.
func insertBoth(b *testing.B, ctx context.Context, conn driver.Conn, recs []arrow.Record, n int) (raw, views float64) {
	b.StopTimer()
	for _, q := range []string{"DROP TABLE IF EXISTS events_raw", "CREATE TABLE events_raw AS events", "TRUNCATE TABLE events"} {
		if err := conn.Exec(ctx, q); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	b.StartTimer()
	return timeInserts(b, ctx, conn, "events_raw", recs, n), timeInserts(b, ctx, conn, "events", recs, n)
}

// timeInserts writes recs into table one after another, as the pipeline
// does, checks the row count and returns the rate in rows/s.
func timeInserts(b *testing.B, ctx context.Context, conn driver.Conn, table string, recs []arrow.Record, n int) float64 {
	w := ingest.NewWriterTo(conn, table)
	start := time.Now()
	for i, r := range recs {
		if err := w.Write(ctx, r); err != nil {
			b.Fatalf("insert record %d into %s: %v", i, table, err)
		}
	}
	elapsed := time.Since(start)
	var stored uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM "+table).Scan(&stored); err != nil {
		b.Fatalf("count %s: %v", table, err)
	}
	if int(stored) != n {
		b.Fatalf("%s holds %d rows, want %d", table, stored, n)
	}
	return float64(n) / elapsed.Seconds()
}

// buildMainStream generates the bench's main stream of n events (20
// tenants over the 30 days that end a day ago), JSON-encodes it in chunks
// and builds records of rows from them, timing decode and build alone. It
// returns the records and that rate in events/s.
func buildMainStream(b *testing.B, n, rows int) ([]arrow.Record, float64) {
	b.StopTimer()
	defer b.StartTimer()
	g, err := loadgen.New(loadgen.Config{Seed: 1, Tenants: 20, StaffPerTenant: 50, ContactsPerTenant: 20_000,
		Events: n, PaidShare: 0.6, Start: time.Now().Add(-31 * 24 * time.Hour), Days: 30})
	if err != nil {
		b.Fatal(err)
	}
	const chunkSize = 10_000
	dec := event.NewDecoder(nil)
	builder := ingest.NewBuilder(nil)
	defer builder.Release()
	var recs []arrow.Record
	var elapsed time.Duration
	chunk := make([][]byte, 0, chunkSize)
	var arena []byte
	var e event.Event
	for more := true; more; {
		chunk, arena = chunk[:0], arena[:0]
		for len(chunk) < chunkSize && g.Next(&e) {
			k := len(arena)
			arena = event.AppendJSON(arena, &e)
			chunk = append(chunk, arena[k:])
		}
		more = len(chunk) == chunkSize
		start := time.Now()
		for _, raw := range chunk {
			ev, err := dec.Decode(raw)
			if err != nil {
				b.Fatalf("decode generated event: %v", err)
			}
			builder.Append(ev)
			if builder.Len() == rows {
				recs = append(recs, builder.NewRecord())
			}
		}
		elapsed += time.Since(start)
	}
	if builder.Len() > 0 {
		recs = append(recs, builder.NewRecord())
	}
	return recs, float64(n) / elapsed.Seconds()
}

// benchDatabase opens the database of dsn, creating and migrating it.
func benchDatabase(b *testing.B, ctx context.Context, dsn string) driver.Conn {
	conn, err := store.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := store.Migrate(ctx, conn, slog.New(slog.DiscardHandler)); err != nil {
		conn.Close()
		b.Fatal(err)
	}
	return conn
}

// dropBenchDatabase drops the database of dsn: its background merges would
// compete with whatever runs next.
func dropBenchDatabase(b *testing.B, ctx context.Context, conn driver.Conn, dsn string) {
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		b.Fatal(err)
	}
	if err := store.DropDatabase(ctx, conn, opts.Auth.Database); err != nil {
		b.Fatal(err)
	}
}
