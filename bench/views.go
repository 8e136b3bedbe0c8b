package main

import (
	"context"
	"flag"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// The views group (opt-in: --figures views) measures what each
// materialized view on events costs an insert. It is in-process (the
// ingest Writer, views detached and attached between trials), so it is
// ingest's BenchmarkViewCosts, run against the harness's ClickHouse; see
// its doc for the method.
const viewsDatabase = "bench_views"

// viewsSizes are the group's command-line sizes.
type viewsSizes struct {
	events int
	rows   int // rows per insert; 0: the pipeline's batch
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
	fs.IntVar(&s.rows, "views-rows", 0, "rows per insert of the views figures (0: the pipeline's batch)")
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

// env is the benchmark's environment for these sizes.
func (s *viewsSizes) env() []string {
	e := []string{"SIYU_BENCH_VIEWS_EVENTS=" + strconv.Itoa(s.events), "SIYU_BENCH_VIEWS_ALSO=" + strconv.Itoa(s.also),
		"SIYU_BENCH_VIEWS_ROUNDS=" + strconv.Itoa(s.rounds), "SIYU_BENCH_VIEWS_IN_ALL=" + strconv.FormatBool(s.inAll),
		"SIYU_BENCH_VIEWS_EACH=" + strconv.FormatBool(s.each), "SIYU_BENCH_VIEWS_SQL=" + s.sql, "SIYU_BENCH_VIEWS_MATCH=" + s.match}
	if s.rows > 0 {
		e = append(e, "SIYU_BENCH_VIEWS_ROWS="+strconv.Itoa(s.rows))
	}
	return e
}

func (h *harness) viewsSteps() []step {
	return []step{{"insert cost of each view", h.measureViews}}
}

// measureViews runs BenchmarkViewCosts and records one row per view.
func (h *harness) measureViews(ctx context.Context) error {
	if h.env.chPID == 0 {
		return fmt.Errorf("the ClickHouse server's pid is unknown: its CPU cannot be measured")
	}
	env := append(h.cfg.views.env(), "SIYU_BENCH_CLICKHOUSE_DSN="+h.env.dsnOf(viewsDatabase),
		"SIYU_BENCH_CLICKHOUSE_PID="+strconv.Itoa(h.env.chPID))
	lines, err := h.goBench(ctx, "./ingest", "BenchmarkViewCosts", "insert cost of each view", env...)
	if err != nil {
		return err
	}
	for _, l := range lines {
		if l.name == "BenchmarkViewCosts" {
			h.record(viewRows(l.metrics, h.cfg.views)...)
			return nil
		}
	}
	return fmt.Errorf("no result of BenchmarkViewCosts (was it skipped?)")
}

// viewRows are the group's rows from the benchmark's metrics: the totals,
// then each view, most expensive alone first.
func viewRows(m map[string]float64, s *viewsSizes) []row {
	batch := "the pipeline's batch"
	if s.rows > 0 {
		batch = thousands(s.rows)
	}
	total := func(prefix string) string {
		return fmt.Sprintf("%s rows/s, %.0f ns CPU/row", thousands(int(m[prefix+"-rows/s"])), m[prefix+"-ns/row"])
	}
	rows := []row{
		info(fmt.Sprintf("views: insert into events without views (%s rows in inserts of %s, median of %d)",
			thousands(s.events), batch, s.rounds), total("none")),
		info(fmt.Sprintf("views: insert into events with all %d views", int(m["views"])), total("all")),
	}
	if s.also > 0 {
		rows = append(rows,
			info(fmt.Sprintf("views: insert into events without views, inserts of %s", thousands(s.also)), total("also-none")),
			info(fmt.Sprintf("views: insert into events with all %d views, inserts of %s", int(m["views"]), thousands(s.also)), total("also-all")))
	}
	var names []string
	for unit := range m {
		if name, ok := strings.CutPrefix(unit, "alone-ns/row:"); ok {
			names = append(names, name)
		}
	}
	sort.Slice(names, func(i, j int) bool { return m["alone-ns/row:"+names[i]] > m["alone-ns/row:"+names[j]] })
	for _, v := range names {
		value := fmt.Sprintf("%.0f ns CPU/row alone", m["alone-ns/row:"+v])
		if in, ok := m["inall-ns/row:"+v]; ok {
			value += fmt.Sprintf(", %.0f in all", in)
		}
		rows = append(rows, info("views: cost of "+v, value))
	}
	return rows
}
