// Command bench measures Siyu's performance figures on this machine, as a
// black box: it drives only the built binary. `siyu run --servers-only`
// starts the embedded Kafka broker and a private ClickHouse; `siyu migrate`,
// `siyu keys`, `siyu loadgen` (the one generator) and `siyu ingest` / `siyu
// serve` as subprocesses do the rest, and the harness talks to them over
// HTTP, Kafka (franz-go, events written as the contract's JSON) and, to
// observe, ClickHouse queries. It imports no package of Siyu's.
//
// The in-process figures (decode + Arrow build, columnar inserts, profile
// reads, the views' costs) are Go benchmarks next to their code
// (ingest.BenchmarkColumnarInsert, cdp.BenchmarkProfileReads,
// ingest.BenchmarkViewCosts); the harness runs them once against its
// ClickHouse and reads their figures from the `go test -bench` output.
// It prints one markdown table of figures against their targets and writes
// it to --out:
//
//	go build -o bin/siyu ./cmd/siyu && go run ./bench [--quick] [--figures foundation,followup,cdp]
//
// (make bench [FIGURES=...] [QUICK=1] does the same). It runs from the
// repository's root: it builds the benchmarks' packages there and reads
// the catalogue's queries it checks against (sql/queries).
//
// The figures are measured one after another so that they do not share the
// CPU: raw columnar insert, produce to Kafka, end-to-end ingest with its peak
// RSS, freshness at a steady background rate, POST /v1/events, and WeCom
// callbacks (verified, decrypted and produced by `siyu serve`), then the
// other groups. Every server and subprocess it starts is stopped on the way
// out, on failure and on Ctrl-C alike. Progress goes to stderr.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// config is the harness's command line, with the sizes --quick picks.
type config struct {
	siyu        string // absolute path of the built binary
	goTool      string // the go command, which builds the in-process figures' benchmarks
	events      int
	dir         string
	out         string
	quick       bool
	figures     map[string]bool // groups to measure; empty: all
	freshRate   int             // background events/s of the freshness figure
	freshFor    time.Duration
	postFor     time.Duration
	postClients int
	postBatch   int
	// The WeCom callbacks figure: how long, from how many clients, cycling
	// over how many distinct sealed callbacks.
	wecomFor       time.Duration
	wecomClients   int
	wecomCallbacks int
	command        string // how the harness was invoked, for the report
	fu             *followupSizes
	// The follow-up → board figure: customers of the rep, samples.
	fdayCustomers int
	fdaySamples   int
	views         *viewsSizes
	metricsEvents int    // size of the metrics group's dataset
	cdpContacts   int    // the CDP figures' tenant size
	ingestFlags   string // extra flags of `siyu ingest` in the end-to-end figures
}

// parseFlags reads args into a config; --quick shrinks what the user did not set.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	c := config{freshRate: 20_000, postClients: 4, postBatch: 1000, wecomClients: 16, wecomCallbacks: 20_000,
		fdayCustomers: 20_000, fdaySamples: 300}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.siyu, "siyu", "bin/siyu", "the built siyu binary")
	fs.StringVar(&c.goTool, "go", "go", "the go command, to build and run the in-process figures' benchmarks (go test -bench)")
	fs.IntVar(&c.events, "events", 2_000_000, "events of the insert and end-to-end figures")
	fs.StringVar(&c.dir, "dir", ".cache/bench", "work dir: ClickHouse and Kafka data, logs")
	fs.StringVar(&c.out, "out", "", "write the table here too (default <dir>/results.md)")
	fs.BoolVar(&c.quick, "quick", false, "a smoke run: 200k events and short durations")
	c.fu = bindFollowupFlags(fs)
	c.views = bindViewsFlags(fs)
	fs.StringVar(&c.ingestFlags, "ingest-flags", "", "extra flags of `siyu ingest` in the end-to-end figures, e.g. \"--batch-max-rows 100000\"")
	fs.IntVar(&c.metricsEvents, "metrics-events", 50_000_000, "events of the metrics figures' dataset (2,000 tenants at 50M; 25,000 events per tenant)")
	fs.IntVar(&c.cdpContacts, "cdp-contacts", 1_000_000, "contacts of the CDP figures' tenant (--quick: 50,000)")
	figures := fs.String("figures", "", "comma-separated groups of figures to measure (foundation, ...); default all")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	c.freshFor, c.postFor, c.wecomFor = 30*time.Second, 15*time.Second, 10*time.Second
	if c.quick {
		c.freshFor, c.postFor, c.wecomFor = 15*time.Second, 5*time.Second, 5*time.Second
		if !set["events"] {
			c.events = 200_000
		}
		c.fu.quick(set)
		c.views.quick(set)
		c.fdayCustomers, c.fdaySamples = 2_000, 50
		if !set["metrics-events"] {
			c.metricsEvents = 500_000
		}
		if !set["cdp-contacts"] {
			c.cdpContacts = 50_000
		}
	}
	c.figures = map[string]bool{}
	for _, g := range strings.Split(*figures, ",") {
		if g = strings.TrimSpace(g); g != "" {
			c.figures[g] = true
		}
	}
	if c.out == "" {
		c.out = filepath.Join(c.dir, "results.md")
	}
	c.command = strings.TrimSpace("go run ./bench " + strings.Join(args, " "))
	return c, c.resolve()
}

// optIn are the groups measured only when named: diagnostics, not targets.
var optIn = map[string]bool{"views": true}

// wants reports whether the group of figures named g is to be measured.
func (c config) wants(g string) bool { return c.figures[g] || len(c.figures) == 0 && !optIn[g] }

// resolve checks the config and makes the binary's path absolute.
func (c *config) resolve() error {
	if c.cdpContacts < 1000 {
		return fmt.Errorf("--cdp-contacts must be at least 1000, got %d", c.cdpContacts)
	}
	if c.events < 1000 {
		return fmt.Errorf("--events must be at least 1000, got %d", c.events)
	}
	abs, err := filepath.Abs(c.siyu)
	if err != nil {
		return fmt.Errorf("--siyu: %w", err)
	}
	if _, err := os.Stat(abs); err != nil {
		return fmt.Errorf("--siyu %s: %w (build it: go build -o bin/siyu ./cmd/siyu)", c.siyu, err)
	}
	c.siyu = abs
	return nil
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, cfg)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

// run sets up the servers, measures every figure and reports them. A failed
// figure is reported as such and the others are still measured; an
// interruption stops the run.
func run(ctx context.Context, cfg config) error {
	h := newHarness(cfg, os.Stderr)
	if err := h.checkFigures(); err != nil {
		return err
	}
	env, err := startEnv(ctx, cfg, h.say)
	if err != nil {
		return err
	}
	defer env.close(h.say)
	h.env = env
	h.measureAll(ctx)
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted: %w", ctx.Err())
	}
	report := h.report()
	fmt.Print(report)
	if err := writeReport(cfg.out, report); err != nil {
		return err
	}
	h.say("table written to %s", cfg.out)
	if len(h.failed) > 0 {
		return fmt.Errorf("%d step(s) failed: %s", len(h.failed), strings.Join(h.failed, ", "))
	}
	return nil
}

// writeReport writes the table to path, creating its directory.
func writeReport(path, report string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	if err := os.WriteFile(path, []byte(report), 0o644); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	return nil
}
