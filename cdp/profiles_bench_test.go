package cdp_test

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/siyu-dev/siyu/cdp"
	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/ingest"
	"github.com/siyu-dev/siyu/loadgen"
	"github.com/siyu-dev/siyu/store"
)

// The bench's profiles figure (go run ./bench --figures profiles) runs
// BenchmarkProfileReads against a database of the ClickHouse it started.
// Without a DSN the benchmark is skipped.
const (
	profilesDSNEnv   = "SIYU_BENCH_CLICKHOUSE_DSN" // a database this benchmark may fill and drop
	profilesSizeEnv  = "SIYU_BENCH_PROFILES"       // contacts,events,seconds; default 20000,240000,5 (--quick)
	profileClients   = 8
	profileRecordLen = 100_000
)

// BenchmarkProfileReads loads one tenant (loadgen: 200 reps, 300 tags,
// the contacts and events of SIYU_BENCH_PROFILES) straight into events
// with the pipeline's Writer, views included, then reads profiles by any id
// (contact ids, unionids, phones) from 8 concurrent clients: first from
// ClickHouse only, then with the tenant loaded into cdp.Memory, as `siyu
// serve` reads after its first read. It reports the memory reads'
// p50-ms, p99-ms, reads/s and failures, the ClickHouse reads' ch-p50-ms,
// ch-p99-ms and ch-reads/s, and load-ms, the time to load the tenant.
// Run it once (-benchtime 1x):
//
//	SIYU_BENCH_CLICKHOUSE_DSN=clickhouse://127.0.0.1:9000/bench_profiles \
//	  go test -run '^$' -bench ProfileReads -benchtime 1x ./cdp
func BenchmarkProfileReads(b *testing.B) {
	dsn := os.Getenv(profilesDSNEnv)
	if dsn == "" {
		b.Skip(profilesDSNEnv + " is not set: this benchmark needs a ClickHouse database (go run ./bench sets it)")
	}
	contacts, events, readFor := profileSizes(b)
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	conn, err := store.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	if _, err := store.Migrate(ctx, conn, log); err != nil {
		b.Fatal(err)
	}
	loadTenant(b, ctx, conn, contacts, events)
	ids := sampleIDs(b, ctx, conn)
	for i := 0; i < b.N; i++ {
		chLat, _ := readProfiles(ctx, cdp.NewProfiles(conn, nil), ids, readFor)
		mem := cdp.NewMemory(conn, nil, nil, log)
		start := time.Now()
		if err := mem.LoadNow(ctx, "t0001"); err != nil {
			b.Fatal(err)
		}
		loaded := time.Since(start)
		profiles := cdp.NewProfiles(conn, mem)
		lat, failures := readProfiles(ctx, profiles, ids, readFor)
		b.ReportMetric(ms(percentile(lat, 0.50)), "p50-ms")
		b.ReportMetric(ms(percentile(lat, 0.99)), "p99-ms")
		b.ReportMetric(float64(len(lat))/readFor.Seconds(), "reads/s")
		b.ReportMetric(float64(failures), "failures")
		b.ReportMetric(ms(percentile(chLat, 0.50)), "ch-p50-ms")
		b.ReportMetric(ms(percentile(chLat, 0.99)), "ch-p99-ms")
		b.ReportMetric(float64(len(chLat))/readFor.Seconds(), "ch-reads/s")
		b.ReportMetric(ms(loaded), "load-ms")
	}
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		b.Fatal(err)
	}
	if err := store.DropDatabase(ctx, conn, opts.Auth.Database); err != nil {
		b.Fatal(err)
	}
}

// profileSizes reads SIYU_BENCH_PROFILES.
func profileSizes(b *testing.B) (contacts, events int, readFor time.Duration) {
	contacts, events, secs := 20_000, 240_000, 5
	if v := os.Getenv(profilesSizeEnv); v != "" {
		var parts [3]int
		n := 0
		for _, f := range strings.Split(v, ",") {
			x, err := strconv.Atoi(f)
			if err != nil || x < 1 || n == 3 {
				b.Fatalf("%s=%q: want contacts,events,seconds", profilesSizeEnv, v)
			}
			parts[n], n = x, n+1
		}
		if n != 3 {
			b.Fatalf("%s=%q: want contacts,events,seconds", profilesSizeEnv, v)
		}
		contacts, events, secs = parts[0], parts[1], parts[2]
	}
	return contacts, events, time.Duration(secs) * time.Second
}

// loadTenant generates tenant t0001 and inserts it in 100,000-row records.
func loadTenant(b *testing.B, ctx context.Context, conn driver.Conn, contacts, events int) {
	b.Helper()
	g, err := loadgen.New(loadgen.Config{Seed: 4, Tenants: 1, StaffPerTenant: 200,
		ContactsPerTenant: contacts, Events: events, TagsPerTenant: 300,
		Start: time.Now().Add(-31 * 24 * time.Hour), Days: 30})
	if err != nil {
		b.Fatal(err)
	}
	dec := event.NewDecoder(nil)
	builder := ingest.NewBuilder(nil)
	defer builder.Release()
	w := ingest.NewWriterTo(conn, "events")
	write := func() {
		r := builder.NewRecord()
		defer r.Release()
		if err := w.Write(ctx, r); err != nil {
			b.Fatalf("insert: %v", err)
		}
	}
	var e event.Event
	var raw []byte
	for g.Next(&e) {
		raw = event.AppendJSON(raw[:0], &e)
		ev, err := dec.Decode(raw)
		if err != nil {
			b.Fatalf("decode generated event: %v", err)
		}
		builder.Append(ev)
		if builder.Len() == profileRecordLen {
			write()
		}
	}
	if builder.Len() > 0 {
		write()
	}
}

// sampleIDs picks contact ids, unionids and phones of the tenant.
func sampleIDs(b *testing.B, ctx context.Context, conn driver.Conn) []string {
	var ids []string
	for _, q := range []string{
		"SELECT contact_id FROM profile_state LIMIT 3000",
		"SELECT node FROM identity_links WHERE dir = 0 LIMIT 3000",
	} {
		rows, err := conn.Query(ctx, q)
		if err != nil {
			b.Fatalf("sample ids: %v", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				b.Fatalf("sample ids: %v", err)
			}
			ids = append(ids, id)
		}
		rows.Close()
	}
	if len(ids) == 0 {
		b.Fatal("sample ids: the tenant has no customers")
	}
	return ids
}

// readProfiles runs profileClients readers over random ids for d and
// returns every latency, sorted, and the failures.
func readProfiles(ctx context.Context, p *cdp.Profiles, ids []string, d time.Duration) ([]time.Duration, int) {
	var mu sync.Mutex
	var all []time.Duration
	failures := 0
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for c := range profileClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(c), 7))
			var mine []time.Duration
			bad := 0
			for time.Now().Before(deadline) && ctx.Err() == nil {
				start := time.Now()
				_, err := p.Get(ctx, "t0001", ids[r.IntN(len(ids))])
				mine = append(mine, time.Since(start))
				if err != nil {
					bad++
				}
			}
			mu.Lock()
			all, failures = append(all, mine...), failures+bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(all)
	return all, failures
}

// percentile of sorted latencies (nearest rank).
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
