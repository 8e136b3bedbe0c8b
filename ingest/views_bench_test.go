package ingest_test

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/apache/arrow/go/v15/arrow"

	"github.com/siyu-dev/siyu/ingest"
)

// BenchmarkViewCosts measures what each materialized view on events costs
// an insert (the bench's opt-in views group: go run ./bench --figures
// views). The foundation's ratio of end-to-end to raw insert throughput
// falls with every view, and the sum alone does not say which ones to fix.
// Every trial inserts the same records of the foundation's stream into a
// migrated database with some of the views detached, then empties every
// table again. A view's cost is measured two ways, side by side in each
// round, in random order; the median over the rounds of the difference
// within a round is reported:
//
//   - alone: ClickHouse CPU with only that view attached, minus with none;
//   - in all: ClickHouse CPU with every view, minus with every view but it.
//
// CPU time of the server (not wall time) is the measure because the
// machine is shared: another process taking a core lengthens an insert but
// not the CPU the server spends on it. It needs the server's pid
// (SIYU_BENCH_CLICKHOUSE_PID) besides the DSN; the sizes come from
// SIYU_BENCH_VIEWS_* (see viewsConfigFromEnv). It reports none- and
// all-rows/s and -ns/row, and per view alone-ns/row:<view> and
// inall-ns/row:<view>.
func BenchmarkViewCosts(b *testing.B) {
	dsn, pidText := os.Getenv(benchDSNEnv), os.Getenv("SIYU_BENCH_CLICKHOUSE_PID")
	if dsn == "" || pidText == "" {
		b.Skip(benchDSNEnv + " and SIYU_BENCH_CLICKHOUSE_PID are not set: this benchmark needs a ClickHouse server (go run ./bench --figures views sets them)")
	}
	pid, err := strconv.Atoi(pidText)
	if err != nil {
		b.Fatalf("SIYU_BENCH_CLICKHOUSE_PID=%q: %v", pidText, err)
	}
	cfg := viewsConfigFromEnv(b)
	ctx := context.Background()
	conn := benchDatabase(b, ctx, dsn)
	defer conn.Close()
	if err := runFile(ctx, conn, cfg.sql); err != nil {
		b.Fatal(err)
	}
	r := &viewsRun{b: b, cfg: cfg, conn: conn, pid: pid, trials: map[string][]trialCost{}}
	r.recs, _ = buildMainStream(b, cfg.events, cfg.rows)
	defer releaseAll(r.recs)
	if cfg.also > 0 {
		r.also, _ = buildMainStream(b, cfg.events, cfg.also)
		defer releaseAll(r.also)
	}
	if r.views, err = listViews(ctx, conn); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d materialized views on events: %s", len(r.views), strings.Join(r.views, ", "))
	for i := 0; i < b.N; i++ {
		for round := 1; round <= cfg.rounds; round++ {
			r.round(ctx, round)
		}
	}
	r.report()
	dropBenchDatabase(b, ctx, conn, dsn)
}

// viewsConfig are the benchmark's sizes.
type viewsConfig struct {
	events int
	rows   int // rows per insert
	also   int // rows per insert of a second size, compared on all and no views; 0: none
	rounds int
	inAll  bool   // also measure each view by detaching it from all
	each   bool   // measure each view (else only all and none)
	sql    string // a file of candidate tables and views, measured beside the migrated ones
	match  string // comma-separated substrings: measure only the views that contain one
}

// viewsConfigFromEnv reads SIYU_BENCH_VIEWS_EVENTS (default 100,000),
// _ROWS (the pipeline's batch), _ALSO (0), _ROUNDS (1), _IN_ALL (true),
// _EACH (true), _SQL and _MATCH (empty).
func viewsConfigFromEnv(b *testing.B) viewsConfig {
	c := viewsConfig{events: 100_000, rows: ingest.DefaultConfig().BatchMaxRows, rounds: 1, inAll: true, each: true,
		sql: os.Getenv("SIYU_BENCH_VIEWS_SQL"), match: os.Getenv("SIYU_BENCH_VIEWS_MATCH")}
	for name, p := range map[string]*int{"EVENTS": &c.events, "ROWS": &c.rows, "ALSO": &c.also, "ROUNDS": &c.rounds} {
		if v := os.Getenv("SIYU_BENCH_VIEWS_" + name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				b.Fatalf("SIYU_BENCH_VIEWS_%s=%q: want a number", name, v)
			}
			*p = n
		}
	}
	for name, p := range map[string]*bool{"IN_ALL": &c.inAll, "EACH": &c.each} {
		if v := os.Getenv("SIYU_BENCH_VIEWS_" + name); v != "" {
			t, err := strconv.ParseBool(v)
			if err != nil {
				b.Fatalf("SIYU_BENCH_VIEWS_%s=%q: want true or false", name, v)
			}
			*p = t
		}
	}
	if c.events < 1 || c.rows < 1 || c.rounds < 1 {
		b.Fatalf("SIYU_BENCH_VIEWS_*: events, rows and rounds must be positive: %+v", c)
	}
	return c
}

// trialCost is what one trial measured.
type trialCost struct {
	cpu  time.Duration // ClickHouse server
	wall time.Duration
}

// viewsRun holds the trials of the benchmark by variant name.
type viewsRun struct {
	b      *testing.B
	cfg    viewsConfig
	conn   driver.Conn
	pid    int
	views  []string
	recs   []arrow.Record
	also   []arrow.Record // the same rows in inserts of cfg.also
	trials map[string][]trialCost
}

// Variant names besides the per-view ones.
const (
	variantNone = "no views"
	variantAll  = "all views"
)

// runFile runs the statements of a SIYU_BENCH_VIEWS_SQL file, if any.
func runFile(ctx context.Context, conn driver.Conn, path string) error {
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("views sql: %w", err)
	}
	for _, stmt := range strings.Split(string(b), ";\n") {
		if stmt = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(stmt), ";")); stmt == "" {
			continue
		}
		if err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("views sql %s: %w\n%s", path, err, stmt)
		}
	}
	return nil
}

// listViews returns the materialized views of the connection's database.
func listViews(ctx context.Context, conn driver.Conn) ([]string, error) {
	rows, err := conn.Query(ctx, "SELECT name FROM system.tables WHERE database = currentDatabase() AND engine = 'MaterializedView' ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("list views: %w", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

// variant is one set of attached views, named, and the records it inserts
// (nil: the main ones).
type variant struct {
	name     string
	attached []string
	recs     []arrow.Record
}

// variants are a round's trials: none, all, each view alone and, when
// asked, all but each view.
func (r *viewsRun) variants() []variant {
	vs := []variant{{variantNone, nil, nil}, {variantAll, r.views, nil}}
	if n := r.cfg.also; n > 0 {
		vs = append(vs, variant{alsoName(variantNone, n), nil, r.also}, variant{alsoName(variantAll, n), r.views, r.also})
	}
	for _, v := range r.measured() {
		vs = append(vs, variant{"alone: " + v, []string{v}, nil})
		if r.cfg.inAll {
			vs = append(vs, variant{"all but: " + v, without(r.views, v), nil})
		}
	}
	return vs
}

// measured are the views measured one by one: those the match picks.
func (r *viewsRun) measured() []string {
	if !r.cfg.each {
		return nil
	}
	if r.cfg.match == "" {
		return r.views
	}
	var out []string
	for _, v := range r.views {
		for _, m := range strings.Split(r.cfg.match, ",") {
			if m != "" && strings.Contains(v, m) {
				out = append(out, v)
				break
			}
		}
	}
	return out
}

func alsoName(v string, rows int) string { return fmt.Sprintf("%s, inserts of %d", v, rows) }

func without(names []string, drop string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		if n != drop {
			out = append(out, n)
		}
	}
	return out
}

// round runs every variant once, in random order.
func (r *viewsRun) round(ctx context.Context, round int) {
	vs := r.variants()
	rand.Shuffle(len(vs), func(i, j int) { vs[i], vs[j] = vs[j], vs[i] })
	r.b.Logf("round %d of %d: %d trials of %d rows in inserts of %d", round, r.cfg.rounds, len(vs), r.cfg.events, r.cfg.rows)
	for _, v := range vs {
		recs := v.recs
		if recs == nil {
			recs = r.recs
		}
		c, err := r.trial(ctx, v.attached, recs)
		if err != nil {
			r.b.Fatalf("%s: %v", v.name, err)
		}
		r.trials[v.name] = append(r.trials[v.name], c)
	}
}

// trial attaches exactly the given views, inserts the records into events,
// and empties every table again.
func (r *viewsRun) trial(ctx context.Context, attached []string, recs []arrow.Record) (trialCost, error) {
	for _, v := range r.views {
		if !slices.Contains(attached, v) {
			if err := r.conn.Exec(ctx, "DETACH TABLE "+v); err != nil {
				return trialCost{}, fmt.Errorf("detach %s: %w", v, err)
			}
		}
	}
	c, err := r.insert(ctx, recs)
	if err != nil {
		return c, err
	}
	for _, v := range r.views {
		if !slices.Contains(attached, v) {
			if err := r.conn.Exec(ctx, "ATTACH TABLE "+v); err != nil {
				return c, fmt.Errorf("attach %s: %w", v, err)
			}
		}
	}
	return c, truncateAll(ctx, r.conn)
}

// insert writes the records as the pipeline does and measures the
// server's CPU and the wall time.
func (r *viewsRun) insert(ctx context.Context, recs []arrow.Record) (trialCost, error) {
	w := ingest.NewWriter(r.conn)
	cpu0, err := processCPU(r.pid)
	if err != nil {
		return trialCost{}, err
	}
	start := time.Now()
	for i, rec := range recs {
		if err := w.Write(ctx, rec); err != nil {
			return trialCost{}, fmt.Errorf("insert record %d: %w", i, err)
		}
	}
	wall := time.Since(start)
	if err := waitMerged(ctx, r.conn); err != nil {
		return trialCost{}, err
	}
	cpu1, err := processCPU(r.pid)
	if err != nil {
		return trialCost{}, err
	}
	return trialCost{cpu: cpu1 - cpu0, wall: wall}, nil
}

// processCPU is the user and system CPU time a process has used
// (/proc/<pid>/stat, fields 14 and 15, in clock ticks of 10 ms).
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // the name may hold spaces
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too short", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad times", pid)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// waitMerged waits until no merge of the database has run for two polls
// in a row, so that the merges an insert causes count toward its trial and
// not the next one.
func waitMerged(ctx context.Context, conn driver.Conn) error {
	idle := 0
	for deadline := time.Now().Add(time.Minute); idle < 2 && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		var n uint64
		if err := conn.QueryRow(ctx, "SELECT count() FROM system.merges WHERE database = currentDatabase()").Scan(&n); err != nil {
			return fmt.Errorf("count merges: %w", err)
		}
		if idle++; n > 0 {
			idle = 0
		}
	}
	return nil
}

// truncateAll empties every table of the database but the migration ledger.
func truncateAll(ctx context.Context, conn driver.Conn) error {
	rows, err := conn.Query(ctx, "SELECT name FROM system.tables WHERE database = currentDatabase() "+
		"AND engine LIKE '%MergeTree' AND name != 'schema_migrations'")
	if err != nil {
		return fmt.Errorf("list tables: %w", err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return err
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, n := range names {
		if err := conn.Exec(ctx, "TRUNCATE TABLE "+n); err != nil {
			return fmt.Errorf("truncate %s: %w", n, err)
		}
	}
	return nil
}

// median returns the median CPU and the median wall time of cs.
func median(cs []trialCost) trialCost {
	if len(cs) == 0 {
		return trialCost{}
	}
	cpu := make([]time.Duration, len(cs))
	wall := make([]time.Duration, len(cs))
	for i, c := range cs {
		cpu[i], wall[i] = c.cpu, c.wall
	}
	slices.Sort(cpu)
	slices.Sort(wall)
	return trialCost{cpu: cpu[len(cpu)/2], wall: wall[len(wall)/2]}
}

// pairedMedian is the median over the rounds of a's CPU minus b's in the
// same round: the load of a shared machine drifts between rounds more than
// within one.
func pairedMedian(a, b []trialCost) time.Duration {
	d := make([]time.Duration, min(len(a), len(b)))
	for i := range d {
		d[i] = a[i].cpu - b[i].cpu
	}
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[len(d)/2]
}

// report reports the totals and each view's costs as metrics.
func (r *viewsRun) report() {
	rows := float64(r.cfg.events)
	perRow := func(d time.Duration) float64 { return float64(d) / rows }
	rate := func(c trialCost) float64 { return rows / c.wall.Seconds() }
	none, all := median(r.trials[variantNone]), median(r.trials[variantAll])
	r.b.ReportMetric(float64(len(r.views)), "views")
	r.b.ReportMetric(rate(none), "none-rows/s")
	r.b.ReportMetric(perRow(none.cpu), "none-ns/row")
	r.b.ReportMetric(rate(all), "all-rows/s")
	r.b.ReportMetric(perRow(all.cpu), "all-ns/row")
	if n := r.cfg.also; n > 0 {
		none, all := median(r.trials[alsoName(variantNone, n)]), median(r.trials[alsoName(variantAll, n)])
		r.b.ReportMetric(rate(none), "also-none-rows/s")
		r.b.ReportMetric(perRow(none.cpu), "also-none-ns/row")
		r.b.ReportMetric(rate(all), "also-all-rows/s")
		r.b.ReportMetric(perRow(all.cpu), "also-all-ns/row")
	}
	for _, v := range r.measured() {
		r.b.ReportMetric(perRow(pairedMedian(r.trials["alone: "+v], r.trials[variantNone])), "alone-ns/row:"+v)
		if r.cfg.inAll {
			r.b.ReportMetric(perRow(pairedMedian(r.trials[variantAll], r.trials["all but: "+v])), "inall-ns/row:"+v)
		}
	}
}

func releaseAll(recs []arrow.Record) {
	for _, r := range recs {
		r.Release()
	}
}
