package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"iter"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/internal/progress"
	"github.com/siyu-dev/siyu/loadgen"
)

// loadgenFlags describe a synthetic stream.
type loadgenFlags struct {
	seed        int64
	tenants     int
	tenantNames string
	staff       int
	contacts    int
	events      int
	days        int
	start       string
	paidShare   float64
	duplicates  float64
	shuffle     bool
}

func (l *loadgenFlags) bind(fs *flag.FlagSet) {
	fs.Int64Var(&l.seed, "seed", 1, "random seed: the same flags and seed give the same stream, byte for byte")
	fs.IntVar(&l.tenants, "tenants", 10, "number of tenants (t0001, t0002, ...)")
	fs.StringVar(&l.tenantNames, "tenant-names", "", "comma-separated tenant ids instead of t0001...")
	fs.IntVar(&l.staff, "staff", 50, "sales reps per tenant")
	fs.IntVar(&l.contacts, "contacts", 10_000, "most customers each tenant adds")
	fs.IntVar(&l.events, "events", 100_000, "distinct events to emit (duplicates come on top)")
	fs.IntVar(&l.days, "days", 30, "days the events span")
	fs.StringVar(&l.start, "start", "", "first day, YYYY-MM-DD (UTC midnight) or an RFC 3339 instant such as 2026-01-01T00:00:00+08:00; empty: so that the span ends today")
	fs.Float64Var(&l.paidShare, "paid-share", 0.6, "share of tenants on a paid plan")
	fs.Float64Var(&l.duplicates, "duplicates", 0, "share of extra redeliveries, for testing (buffers the stream)")
	fs.BoolVar(&l.shuffle, "shuffle", false, "emit in random order instead of time order, for testing (buffers the stream)")
}

func (l *loadgenFlags) config(now time.Time) (loadgen.Config, error) {
	c := loadgen.Config{
		Seed: l.seed, Tenants: l.tenants, StaffPerTenant: l.staff, ContactsPerTenant: l.contacts,
		Events: l.events, Days: l.days, PaidShare: l.paidShare, DuplicateShare: l.duplicates, Shuffle: l.shuffle,
	}
	if l.tenantNames != "" {
		c.TenantNames = strings.Split(l.tenantNames, ",")
		c.Tenants = len(c.TenantNames)
	}
	if l.start == "" {
		c.Start = now.Add(-time.Duration(l.days) * 24 * time.Hour) // the span ends now
	} else {
		t, err := time.Parse("2006-01-02", l.start)
		if err != nil {
			if t, err = time.Parse(time.RFC3339, l.start); err != nil {
				return c, fmt.Errorf("--start %q: want YYYY-MM-DD or an RFC 3339 instant", l.start)
			}
		}
		c.Start = t
	}
	return c, c.Validate()
}

func loadgenCommand(stdout, stderr io.Writer) *command {
	var lf loadgenFlags
	cfg := DefaultConfig()
	kf := &cfg.Kafka // bound below; read when the command runs
	var dataDir, out, scenario string
	var rate int
	return &command{
		config: &cfg,
		name:   "loadgen", summary: "generate a realistic synthetic event stream", usage: "[flags]",
		detail: "Tenants, reps, contacts, chats, tags, follow-ups and subscriptions, deterministic with --seed.\n" +
			"Produced to Kafka (the embedded broker of `siyu run` unless --kafka-brokers is given),\n" +
			"or written as JSON lines with --out FILE (- for stdout). A progress bar goes to stderr.\n\n" +
			"Example: siyu loadgen --tenants 1 --tenant-names demo --events 20000 --rate 5000",
		flags: func(fs *flag.FlagSet) {
			lf.bind(fs)
			kf.bind(fs)
			fs.StringVar(&dataDir, "data-dir", defaultDataDir, "data dir of the `siyu run` whose Kafka to use")
			fs.StringVar(&out, "out", "", "write JSON lines to this file instead of Kafka (- for stdout)")
			fs.IntVar(&rate, "rate", 0, "events per second to produce at; 0: as fast as possible")
			fs.StringVar(&scenario, "scenario", "", "cdp: instead of the stream, one tenant shaped for the bench's segment figures, named by --tenant-names, of --contacts contacts, ending now (other stream flags are ignored)")
		},
		run: func(ctx context.Context, _ []string) error {
			switch scenario {
			case "":
			case "cdp":
				return cdpScenario(ctx, lf, *kf, dataDir, out, rate, stdout, stderr)
			default:
				return fmt.Errorf("%w: --scenario %q: want cdp or nothing", errUsage, scenario)
			}
			cfg, err := lf.config(time.Now())
			if err != nil {
				return fmt.Errorf("%w: %v", errUsage, err)
			}
			g, err := loadgen.New(cfg)
			if err != nil {
				return err
			}
			bar := progress.New(stderr, "loadgen", g.Total())
			defer bar.Done()
			if out != "" {
				return writeStream(ctx, out, stdout, g, bar)
			}
			n, err := produceTo(ctx, *kf, dataDir, g.Next, rate, bar.Add)
			bar.Done()
			fmt.Fprintf(stderr, "produced %d events to %s\n", n, kf.topic)
			return err
		},
	}
}

func writeStream(ctx context.Context, path string, stdout io.Writer, g *loadgen.Generator, bar *progress.Bar) error {
	return writeOut(path, stdout, func(w io.Writer) error {
		_, err := loadgen.WriteJSONLines(ctx, w, g, func(done, _ int) { bar.Set(done) })
		return err
	})
}

// writeOut has write fill path (- for stdout) through a buffer.
func writeOut(path string, stdout io.Writer, write func(io.Writer) error) error {
	w := stdout
	if path != "-" {
		f, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("create %s: %w", path, err)
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	if err := write(bw); err != nil {
		return err
	}
	return bw.Flush()
}

// produceStream produces every event of g, at rate events/s when rate > 0,
// and waits for Kafka to acknowledge all of them.
func produceStream(ctx context.Context, cl *kgo.Client, topic string, g *loadgen.Generator, rate int, step func(int)) (int, error) {
	return produceNext(ctx, cl, topic, g.Next, rate, step)
}

// produceTo connects to the Kafka of kf (or of the `siyu run` of dataDir)
// and produces the events next fills in to kf's topic.
func produceTo(ctx context.Context, kf KafkaConfig, dataDir string, next func(*event.Event) bool, rate int, step func(int)) (int, error) {
	brokers, err := kf.resolveBrokers(dataDir)
	if err != nil {
		return 0, err
	}
	cl, err := openKafka(ctx, brokers, kf.topics())
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	return produceNext(ctx, cl, kf.topic, next, rate, step)
}

// produceNext is produceStream over the events next fills in.
func produceNext(ctx context.Context, cl *kgo.Client, topic string, next func(*event.Event) bool, rate int, step func(int)) (int, error) {
	var failed atomic.Int64
	var firstErr atomic.Value
	var e event.Event
	n, reported := 0, 0
	pace := newPacer(rate)
	for next(&e) {
		if n-reported >= 1000 {
			if err := ctx.Err(); err != nil {
				return n, err
			}
			step(n - reported)
			reported = n
		}
		pace.wait(n)
		rec := &kgo.Record{Topic: topic, Key: []byte(e.Key()), Value: event.AppendJSON(nil, &e)}
		cl.Produce(ctx, rec, func(_ *kgo.Record, err error) {
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err)
			}
		})
		n++
	}
	step(n - reported)
	if err := cl.Flush(ctx); err != nil {
		return n, fmt.Errorf("flush producer: %w", err)
	}
	if f := failed.Load(); f > 0 {
		return n, fmt.Errorf("%d of %d events were not stored in Kafka: %v", f, n, firstErr.Load())
	}
	return n, nil
}

// pacer spaces events evenly at a rate, checking the clock every 100 events.
type pacer struct {
	rate  int
	start time.Time
}

func newPacer(rate int) pacer { return pacer{rate: rate, start: time.Now()} }

func (p pacer) wait(n int) {
	if p.rate <= 0 || n%100 != 0 {
		return
	}
	due := p.start.Add(time.Duration(float64(n) / float64(p.rate) * float64(time.Second)))
	if d := time.Until(due); d > 0 {
		time.Sleep(d)
	}
}

// cdpScenario emits loadgen.CDPTenant: the first of --tenant-names (default
// cdp0001) with --contacts contacts, to Kafka or as JSON lines to out.
func cdpScenario(ctx context.Context, lf loadgenFlags, kf KafkaConfig, dataDir, out string, rate int, stdout, stderr io.Writer) error {
	name, _, _ := strings.Cut(lf.tenantNames, ",")
	if name == "" {
		name = "cdp0001"
	}
	t := loadgen.CDPTenant{Tenant: name, Contacts: lf.contacts, End: time.Now()}
	if err := t.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	next, stop := iter.Pull(t.Events)
	defer stop()
	pull := func(e *event.Event) bool {
		p, ok := next()
		if ok {
			*e = *p
		}
		return ok
	}
	if out != "" {
		return writeEvents(ctx, out, stdout, pull)
	}
	n, err := produceTo(ctx, kf, dataDir, pull, rate, func(int) {})
	fmt.Fprintf(stderr, "produced %d events of tenant %s to %s\n", n, name, kf.topic)
	return err
}

// writeEvents writes every event of next to path (- for stdout) as JSON lines.
func writeEvents(ctx context.Context, path string, stdout io.Writer, next func(*event.Event) bool) error {
	return writeOut(path, stdout, func(w io.Writer) error {
		var e event.Event
		var line []byte
		for n := 0; next(&e); n++ {
			if n%10_000 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			line = append(event.AppendJSON(line[:0], &e), '\n')
			if _, err := w.Write(line); err != nil {
				return fmt.Errorf("write events: %w", err)
			}
		}
		return nil
	})
}
