package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/adoption"
	"github.com/siyu-dev/siyu/api"
	"github.com/siyu-dev/siyu/auth"
	"github.com/siyu-dev/siyu/cdp"
	"github.com/siyu-dev/siyu/console"
	"github.com/siyu-dev/siyu/dashboards"
	"github.com/siyu-dev/siyu/followup"
	"github.com/siyu-dev/siyu/ingest"
	"github.com/siyu-dev/siyu/kafka"
	"github.com/siyu-dev/siyu/metering"
	"github.com/siyu-dev/siyu/publish"
	"github.com/siyu-dev/siyu/readmodel"
	"github.com/siyu-dev/siyu/settings"
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

// serveAPI runs the API and the parts it needs beside it (the Kafka tail
// of the memory read models and the CDP memory's refresh, the pool's
// election and sweeper, the refreshers, the ingest progress watcher) until
// ctx ends or one of them fails.
func serveAPI(ctx context.Context, cfg *Config, conn driver.Conn, cl *kgo.Client, reg *prometheus.Registry, log *slog.Logger) error {
	topics, group := cfg.Kafka.topics(), cfg.Ingest.group
	receiver, err := wecom.NewReceiver(wecom.DefaultReceiverConfig(topics.Events), wecom.NewConfigs(conn), cl, reg, log)
	if err != nil {
		return err
	}
	// 20 ms: a waiting read sees a commit within about one batch wait.
	committed := kafka.NewCommitted(cl, group, topics.Events, 20*time.Millisecond)
	tail, tailClient, err := openTail(ctx, cl, topics.Events, committed, reg, log)
	if err != nil {
		return err
	}
	defer tailClient.Close()
	reader := followup.NewReader(conn)
	boards := followup.NewBoards(conn, reader, tail, reg, log)
	repStats := followup.NewRepStats(conn, reader, tail, reg, log)
	memory := cdp.NewMemory(conn, tail, reg, log)
	segments := cdp.NewSegments(conn, memory)
	profiles := cdp.NewProfiles(conn, memory)
	pub := publish.New(cl, topics.Events, publish.DefaultTimeout) // the events the pool and bulk jobs decide
	jobs := cdp.NewJobs(conn, segments, pub, api.JobSource, log)
	// One decider per deployment (docs/decisions.md, "Customer pool", P5):
	// the replica the election picks decides pool changes, on state that
	// includes every committed event (its tenants follow the read-model tail).
	election := followup.NewElection(cl, followup.DefaultElectionConfig(topics), log)
	pool := followup.NewPool(conn, pub, followup.DefaultPoolConfig(), log,
		followup.FreshFrom(followup.NewKafkaOffsets(cl, group, topics.Events), tail),
		followup.ElectedBy(election), followup.PoolMetrics(reg))
	adoptionSvc := adoption.NewService(conn, nil)
	meteringSvc := metering.NewService(conn, nil)
	progress, err := kafka.NewProgress(cl, group, topics.Events, cfg.Ready.progress(), reg)
	if err != nil {
		return err
	}
	web, err := console.New(console.Deps{Log: log, WeCom: cfg.WeCom.endpoints, GrafanaURL: cfg.HTTP.grafanaURL})
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	var grafana *dashboards.Probe
	if cfg.HTTP.grafanaURL != "" {
		grafana = &dashboards.Probe{URL: cfg.HTTP.grafanaURL, Token: cfg.HTTP.grafanaToken}
	}
	srv := api.New(api.Deps{
		Console:        web,
		Grafana:        grafana,
		RequestTimeout: cfg.HTTP.readTimeout,
		WriteTimeout:   cfg.HTTP.writeTimeout,
		Keys:           auth.NewKeys(conn, 10*time.Second, auth.WithRegisterer(reg)),
		Users:          auth.NewUsers(conn, reg),
		Profiles:       profiles,
		Producer:       cl,
		Topics:         topics,
		Ready: api.ReadinessCheck(conn, cl, ingestCheck(progress),
			api.Check{Name: "pool", Fn: func(context.Context) error { return pool.Ready() }, State: pool.Role}),
		Gatherer: reg,
		Registry: reg,
		Log:      log,
		WeCom:    receiver,
		// One client per tenant's app, its token and tickets cached; the
		// settings are read per request, so an admin's change applies at once.
		WeComClients: wecom.NewClients(wecom.NewConfigs(conn).Get, cfg.WeCom.endpoints, nil),
		Adoption:     adoptionSvc,
		Tags:         cdp.NewTagLibrary(conn),
		Metering:     meteringSvc,
		Segments:     segments,
		Followup:     reader,
		Boards:       boards,
		RepStats:     repStats,
		Pool:         pool,
		Stages:       followup.NewStageLists(conn),
		Settings:     settings.NewStore(conn, 2*time.Second),
		Committed:    committed,

		SavedSegments: cdp.NewSavedSegments(conn),
		Jobs:          jobs,
	})
	addr := cfg.HTTP.addr
	log.Info("api listening", "addr", "http://"+addr)
	return runParts(ctx, servicesStopWithin, log,
		// The pool's deciders and the bulk jobs stop once the API has
		// drained: a claim or a job accepted while draining still finishes.
		part{"api", func(ctx context.Context) error {
			err := srv.Listen(ctx, addr)
			jobs.Close()
			pool.Close()
			return err
		}},
		part{"read-model tail", tail.Run},
		part{"cdp memory refresh", memory.Run},
		part{"rep statistics refresh", repStats.Run},
		part{"pool election", election.Run},
		part{"pool sweeper", func(ctx context.Context) error { pool.RunSweeper(ctx, poolSweepEvery); return nil }},
		part{"adoption refresher", func(ctx context.Context) error {
			adoptionSvc.RunRefresher(ctx, metricsRefreshEvery, func(err error) { log.Warn("metrics refresh", "err", err) })
			return nil
		}},
		part{"metering refresher", func(ctx context.Context) error {
			meteringSvc.RunRefresher(ctx, metricsRefreshEvery, func(err error) { log.Warn("metering refresh", "err", err) })
			return nil
		}},
		part{"ingest progress", progress.Run},
	)
}

// openTail opens the process's one tail of the events topic, for the
// memory read models (readmodel.Tail); close the client it returns after
// the tail has stopped.
func openTail(ctx context.Context, cl *kgo.Client, topic string, committed *kafka.Committed,
	reg prometheus.Registerer, log *slog.Logger) (*readmodel.Tail, *kgo.Client, error) {
	tailClient, start, err := kafka.Tail(ctx, cl, topic)
	if err != nil {
		return nil, nil, err
	}
	return readmodel.NewTail(tailClient, start, committed, reg, log), tailClient, nil
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
	served := make(chan error, 1)
	go func() { served <- srv.ListenAndServe() }() // ends before serveMetrics returns
	select {
	case err := <-served:
		return fmt.Errorf("metrics on %s: %w", addr, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("metrics on %s: %w", addr, err)
	}
	return nil
}
