package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/api"
	"github.com/siyu-dev/siyu/auth"
	"github.com/siyu-dev/siyu/cdp"
	"github.com/siyu-dev/siyu/followup"
	"github.com/siyu-dev/siyu/ingest"
	"github.com/siyu-dev/siyu/kafka"
	"github.com/siyu-dev/siyu/metering"
	"github.com/siyu-dev/siyu/metrics"
	"github.com/siyu-dev/siyu/readmodel"
	"github.com/siyu-dev/siyu/wecom"
)

func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// openKafka connects a producer and makes sure the topics exist.
func openKafka(ctx context.Context, brokers []string, topics kafka.Topics) (*kgo.Client, error) {
	cl, err := kgo.NewClient(kafka.ProducerOpts(brokers)...)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := kafka.EnsureTopics(tctx, cl, topics); err != nil {
		cl.Close()
		return nil, fmt.Errorf("kafka at %v: %w", brokers, err)
	}
	return cl, nil
}

// poolSweepEvery is how often `siyu serve` recycles idle customers to the
// pool and hands over departed reps' customers.
const poolSweepEvery = 5 * time.Minute

// metricsRefreshEvery is how often `siyu serve` stores the series results
// and meter changes of tenants whose events changed (docs/decisions.md,
// Metrics 32, M9).
const metricsRefreshEvery = 5 * time.Second

// serveAPI runs the API on addr until ctx ends.
// group is the ingest consumer group, whose commits read-your-writes waits for.
// stall says when /readyz calls the ingest group stalled.
func serveAPI(ctx context.Context, conn driver.Conn, cl *kgo.Client, topics kafka.Topics, group, addr string,
	stall kafka.ProgressConfig, reg *prometheus.Registry, log *slog.Logger) (err error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("%w: --http-addr %q: want host:port, e.g. 127.0.0.1:8080", errUsage, addr)
	}
	receiver, err := wecom.NewReceiver(wecom.DefaultReceiverConfig(topics.Events), wecom.NewConfigs(conn), cl, reg, log)
	if err != nil {
		return err
	}
	committed := kafka.NewCommitted(cl, group, topics.Events, 20*time.Millisecond)
	tail, tailClient, err := openTail(ctx, cl, topics.Events, committed, reg, log)
	if err != nil {
		return err
	}
	defer tailClient.Close()
	reader := followup.NewReader(conn)
	boards := followup.NewBoards(conn, reader, tail, reg, log)
	memory := cdp.NewMemory(conn, tail, reg, log)
	segments := cdp.NewSegments(conn, memory)
	profiles := cdp.NewProfiles(conn, memory)
	ctx, waitReadModels := runBeside(ctx, tail.Run, memory.Run)
	defer func() { err = errors.Join(err, waitReadModels()) }()
	jobs := cdp.NewJobs(conn, segments, api.Publisher(cl, topics), api.JobSource, log)
	defer jobs.Close()
	// One decider per deployment (docs/decisions.md, "Customer pool", P5):
	// the replica the election picks decides pool changes, on state that
	// includes every committed event (its tenants follow the read-model tail).
	election := followup.NewElection(cl, followup.DefaultElectionConfig(topics), log)
	pool := followup.NewPool(conn, followup.KafkaPublisher(cl, topics.Events), followup.DefaultPoolConfig(), log,
		followup.FreshFrom(followup.NewKafkaOffsets(cl, group, topics.Events), tail),
		followup.ElectedBy(election), followup.PoolMetrics(reg))
	defer pool.Close()
	go func() {
		if err := election.Run(ctx); err != nil {
			log.Error("pool decider election stopped: this process refuses pool writes", "err", err)
		}
	}()
	go pool.RunSweeper(ctx, poolSweepEvery)
	metricsSvc := metrics.NewService(conn, nil)
	go metricsSvc.RunRefresher(ctx, metricsRefreshEvery, func(err error) { log.Warn("metrics refresh", "err", err) })
	meteringSvc := metering.NewService(conn, nil)
	go meteringSvc.RunRefresher(ctx, metricsRefreshEvery, func(err error) { log.Warn("metering refresh", "err", err) })
	progress, err := kafka.NewProgress(cl, group, topics.Events, stall, reg)
	if err != nil {
		return err
	}
	go func() { _ = progress.Run(ctx) }() // ends with ctx; errors show as a stall
	srv := api.New(api.Deps{
		Keys:     auth.NewKeys(conn, 10*time.Second, auth.WithRegisterer(reg)),
		Profiles: profiles,
		Producer: cl,
		Topics:   topics,
		Ready: api.ReadinessCheck(conn, cl, ingestCheck(progress),
			api.Check{Name: "pool", Fn: func(context.Context) error { return pool.Ready() }, State: pool.Role}),
		Gatherer: reg,
		Registry: reg,
		Log:      log,
		WeCom:    receiver,
		Metrics:  metricsSvc,
		Tags:     cdp.NewTagLibrary(conn),
		Metering: meteringSvc,
		Segments: segments,
		Followup: reader,
		Boards:   boards,
		Pool:     pool,
		Stages:   followup.NewStageLists(conn),
		// 20 ms: a waiting read sees a commit within about one batch wait.
		Committed: committed,

		SavedSegments: cdp.NewSavedSegments(conn),
		Jobs:          jobs,
	})
	log.Info("api listening", "addr", "http://"+addr)
	if err := srv.Listen(ctx, addr); err != nil {
		return fmt.Errorf("api on %s: %w", addr, err)
	}
	return nil
}

// openTail opens the process's read-model tail of the events topic at its
// ends (kafka.Tail); the caller runs it and closes its client afterwards.
func openTail(ctx context.Context, cl *kgo.Client, topic string, committed *kafka.Committed,
	reg prometheus.Registerer, log *slog.Logger) (*readmodel.Tail, *kgo.Client, error) {
	tailClient, start, err := kafka.Tail(ctx, cl, topic)
	if err != nil {
		return nil, nil, err
	}
	return readmodel.NewTail(tailClient, start, committed, reg, log), tailClient, nil
}

// runBeside runs each of runs until ctx ends or one of them fails; the
// context it returns ends then too. wait ends them, waits for them and
// returns the first error.
func runBeside(ctx context.Context, runs ...func(context.Context) error) (_ context.Context, wait func() error) {
	ctx, cancel := context.WithCancelCause(ctx)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for _, run := range runs {
		wg.Go(func() {
			if err := run(ctx); err != nil {
				once.Do(func() { first = err })
				cancel(err)
			}
		})
	}
	return ctx, func() error {
		cancel(nil)
		wg.Wait()
		return first
	}
}

// runIngest runs the pipeline until ctx ends.
func runIngest(ctx context.Context, conn driver.Conn, cfg ingest.Config, reg prometheus.Registerer, log *slog.Logger) error {
	p, err := ingest.New(cfg, conn, reg, log)
	if err != nil {
		return err
	}
	defer p.Close()
	log.Info("ingest running", "topic", cfg.Topics.Events, "group", cfg.Group, "brokers", cfg.Brokers)
	return p.Run(ctx)
}

// ingestCheck is the readiness check of the ingest group's progress: not
// ready while events wait and commits stand still (kafka.Progress).
func ingestCheck(p *kafka.Progress) api.Check {
	return api.Check{Name: "ingest", Fn: func(context.Context) error { return p.Stalled() },
		State: func() string { return fmt.Sprintf("ok (lag %d)", p.Lag()) }}
}

// serveMetrics exposes /metrics, /healthz and /readyz on addr (for `siyu ingest`).
func serveMetrics(ctx context.Context, addr string, reg *prometheus.Registry, ready func(context.Context) api.Readiness) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"status":"ok"}`)) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		rctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		rep := ready(rctx)
		w.Header().Set("Content-Type", "application/json")
		if rep.Err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(rep.Body())
	})
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics on %s: %w", addr, err)
	}
	return nil
}
