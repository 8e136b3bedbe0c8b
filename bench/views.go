//go:build benchlegacy

package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/apache/arrow/go/v15/arrow"

	"github.com/siyu-dev/siyu/ingest"
	"github.com/siyu-dev/siyu/internal/progress"
	"github.com/siyu-dev/siyu/store"
)

// The views group measures what each materialized view on `events` costs an
// insert: the foundation's ratio of end-to-end to raw insert throughput
// falls with every view, and the sum alone does not say which ones to fix.
// Every trial inserts the same loadgen records (the foundation's stream)
// into a migrated database with some of the views detached, then empties
// every table again. A view's cost is measured two ways, side by side in
// each round, in random order; the median over the rounds of the
// difference within a round is reported:
//
//   - alone: ClickHouse CPU with only that view attached, minus with none;
//   - in all: ClickHouse CPU with every view, minus with every view but it.
//
// CPU time of the server (not wall time) is the measure because the
// machine is shared: another process taking a core lengthens an insert but
// not the CPU the server spends on it.
const viewsDatabase = "bench_views"

// viewsSizes are the group's command-line sizes.
type viewsSizes struct {
	events int
	rows   int // rows per insert
	also   int // rows per insert of a second size, compared on all and no views; 0: none
	rounds int
	inAll  bool   // also measure each view by detaching it from all
	each   bool   // measure each view (else only all and none)
	sql    string // a file of candidate tables and views, measured beside the migrated ones
	match  string // comma-separated substrings: measure only the views that contain one
}

func bindViewsFlags(fs *flag.FlagSet) *viewsSizes {
	s := &viewsSizes{}
	fs.IntVar(&s.events, "views-events", 400_000, "events inserted per trial of the views figures")
	fs.IntVar(&s.rows, "views-rows", ingest.DefaultConfig().BatchMaxRows, "rows per insert of the views figures (default: the pipeline's batch)")
	fs.IntVar(&s.also, "views-also-rows", 0, "also insert in batches of this many rows, with all and with no views (0: no)")
	fs.IntVar(&s.rounds, "views-rounds", 3, "rounds of the views figures (medians are reported)")
	fs.BoolVar(&s.inAll, "views-in-all", true, "also measure each view by detaching it from all the others")
	fs.BoolVar(&s.each, "views-each", true, "measure each view (false: only all views against none)")
	fs.StringVar(&s.sql, "views-sql", "", "a file of statements (separated by ';' at a line end) run after the migrations: candidate views to measure beside the others")
	fs.StringVar(&s.match, "views-match", "", "measure only the views whose names contain one of these comma-separated substrings")
	return s
}

// quick shrinks the sizes not set on the command line.
func (s *viewsSizes) quick(set map[string]bool) {
	if !set["views-events"] {
		s.events = 100_000
	}
	if !set["views-rounds"] {
		s.rounds = 1
	}
}

// trialCost is what one trial measured.
type trialCost struct {
	cpu  time.Duration // ClickHouse server
	wall time.Duration
}

// viewsRun holds the trials of the group by variant name.
type viewsRun struct {
	h      *harness
	conn   driver.Conn
	views  []string
	recs   []arrow.Record
	also   []arrow.Record // the same rows in inserts of --views-also-rows
	rows   int
	trials map[string][]trialCost
}

// Variant names besides the per-view ones.
const (
	variantNone = "no views"
	variantAll  = "all views"
)

func (h *harness) viewsSteps() []step {
	return []step{{"insert cost of each view", h.measureViews}}
}

// measureViews runs the rounds of trials and records one row per view.
func (h *harness) measureViews(ctx context.Context) error {
	if h.env.chPID == 0 {
		return fmt.Errorf("the ClickHouse server's pid is unknown: its CPU cannot be measured")
	}
	s := h.cfg.views
	g, err := benchStream(seedMain, s.events, nil)
	if err != nil {
		return err
	}
	bar := progress.New(os.Stderr, "build", g.Total())
	recs, _, err := buildRecords(g, s.rows, bar.Add)
	bar.Done()
	if err != nil {
		return err
	}
	defer releaseAll(recs)
	var also []arrow.Record
	if s.also > 0 {
		if also, err = buildAgain(s.events, s.also); err != nil {
			return err
		}
		defer releaseAll(also)
	}
	conn, _, err := h.env.database(ctx, viewsDatabase)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := runFile(ctx, conn, s.sql); err != nil {
		return err
	}
	r := &viewsRun{h: h, conn: conn, recs: recs, also: also, rows: s.events, trials: map[string][]trialCost{}}
	if r.views, err = listViews(ctx, conn); err != nil {
		return err
	}
	h.say("%d materialized views on events: %s", len(r.views), strings.Join(r.views, ", "))
	for round := 1; round <= s.rounds; round++ {
		if err := r.round(ctx, round); err != nil {
			return err
		}
	}
	r.report()
	return store.DropDatabase(ctx, conn, viewsDatabase)
}

// runFile runs the statements of a --views-sql file, if one was given.
func runFile(ctx context.Context, conn driver.Conn, path string) error {
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--views-sql: %w", err)
	}
	for _, stmt := range strings.Split(string(b), ";\n") {
		if stmt = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(stmt), ";")); stmt == "" {
			continue
		}
		if err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("--views-sql %s: %w\n%s", path, err, stmt)
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

// buildAgain builds the stream's records again, in inserts of rows.
func buildAgain(events, rows int) ([]arrow.Record, error) {
	g, err := benchStream(seedMain, events, nil)
	if err != nil {
		return nil, err
	}
	recs, _, err := buildRecords(g, rows, func(int) {})
	return recs, err
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
	if n := r.h.cfg.views.also; n > 0 {
		vs = append(vs, variant{alsoName(variantNone, n), nil, r.also}, variant{alsoName(variantAll, n), r.views, r.also})
	}
	if !r.h.cfg.views.each {
		return vs
	}
	for _, v := range r.measured() {
		vs = append(vs, variant{"alone: " + v, []string{v}, nil})
		if r.h.cfg.views.inAll {
			vs = append(vs, variant{"all but: " + v, without(r.views, v), nil})
		}
	}
	return vs
}

// measured are the views measured one by one: those --views-match picks.
func (r *viewsRun) measured() []string {
	match := r.h.cfg.views.match
	if !r.h.cfg.views.each {
		return nil
	}
	if match == "" {
		return r.views
	}
	var out []string
	for _, v := range r.views {
		for _, m := range strings.Split(match, ",") {
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
func (r *viewsRun) round(ctx context.Context, round int) error {
	vs := r.variants()
	rand.Shuffle(len(vs), func(i, j int) { vs[i], vs[j] = vs[j], vs[i] })
	r.h.say("round %d of %d: %d trials of %s rows in inserts of %s", round, r.h.cfg.views.rounds, len(vs),
		thousands(r.rows), thousands(r.h.cfg.views.rows))
	for _, v := range vs {
		recs := v.recs
		if recs == nil {
			recs = r.recs
		}
		c, err := r.trial(ctx, v.attached, recs)
		if err != nil {
			return fmt.Errorf("%s: %w", v.name, err)
		}
		r.trials[v.name] = append(r.trials[v.name], c)
	}
	n, a := median(r.trials[variantNone]), median(r.trials[variantAll])
	r.h.say("round %d: no views %s CPU / %s wall, all views %s CPU / %s wall", round,
		round3(n.cpu), round3(n.wall), round3(a.cpu), round3(a.wall))
	return nil
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
	cpu0, err := cpuTime(r.h.env.chPID)
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
	cpu1, err := cpuTime(r.h.env.chPID)
	if err != nil {
		return trialCost{}, err
	}
	return trialCost{cpu: cpu1 - cpu0, wall: wall}, nil
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

// viewCost is one view's measured cost per inserted row.
type viewCost struct {
	name  string
	alone float64 // ns of server CPU per row
	inAll float64
}

// report prints the per-view table (most expensive first) and records the
// totals and each view as rows of the figures table.
func (r *viewsRun) report() {
	none, all := median(r.trials[variantNone]), median(r.trials[variantAll])
	perRow := func(d time.Duration) float64 { return float64(d) / float64(r.rows) }
	var costs []viewCost
	for _, v := range r.measured() {
		c := viewCost{name: v, alone: perRow(pairedMedian(r.trials["alone: "+v], r.trials[variantNone]))}
		if r.h.cfg.views.inAll {
			c.inAll = perRow(pairedMedian(r.trials[variantAll], r.trials["all but: "+v]))
		}
		costs = append(costs, c)
	}
	sort.Slice(costs, func(i, j int) bool { return costs[i].alone > costs[j].alone })
	rounds := r.h.cfg.views.rounds
	r.h.record(
		info(fmt.Sprintf("views: insert into events without views (%s rows in inserts of %s, median of %d)",
			thousands(r.rows), thousands(r.h.cfg.views.rows), rounds),
			fmt.Sprintf("%s rows/s, %.0f ns CPU/row", thousands(int(perSecond(r.rows, none.wall))), perRow(none.cpu))),
		info(fmt.Sprintf("views: insert into events with all %d views", len(r.views)),
			fmt.Sprintf("%s rows/s, %.0f ns CPU/row", thousands(int(perSecond(r.rows, all.wall))), perRow(all.cpu))))
	if n := r.h.cfg.views.also; n > 0 {
		none, all := median(r.trials[alsoName(variantNone, n)]), median(r.trials[alsoName(variantAll, n)])
		r.h.record(
			info(fmt.Sprintf("views: insert into events without views, inserts of %s", thousands(n)),
				fmt.Sprintf("%s rows/s, %.0f ns CPU/row", thousands(int(perSecond(r.rows, none.wall))), perRow(none.cpu))),
			info(fmt.Sprintf("views: insert into events with all %d views, inserts of %s", len(r.views), thousands(n)),
				fmt.Sprintf("%s rows/s, %.0f ns CPU/row", thousands(int(perSecond(r.rows, all.wall))), perRow(all.cpu))))
	}
	var sum float64
	for _, c := range costs {
		sum += c.alone
		value := fmt.Sprintf("%.0f ns CPU/row alone", c.alone)
		if r.h.cfg.views.inAll {
			value += fmt.Sprintf(", %.0f in all", c.inAll)
		}
		r.h.record(info("views: cost of "+c.name, value))
		r.h.say("%-40s alone %6.0f ns/row   in all %6.0f ns/row", c.name, c.alone, c.inAll)
	}
	r.h.say("sum of the views alone: %.0f ns/row; all minus none: %.0f ns/row", sum, perRow(all.cpu-none.cpu))
}

// round3 rounds a duration for progress lines.
func round3(d time.Duration) string { return d.Round(time.Millisecond).String() }
