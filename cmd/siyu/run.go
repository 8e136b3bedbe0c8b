package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sync/errgroup"

	"github.com/siyu-dev/siyu/auth"
	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/internal/progress"
	"github.com/siyu-dev/siyu/kafka"
	"github.com/siyu-dev/siyu/loadgen"
	"github.com/siyu-dev/siyu/store"
)

// runFlags configure `siyu run`.
type runFlags struct {
	st             storageFlags
	kf             kafkaFlags
	bf             batchFlags
	lf             logFlags
	rf             readyFlags
	httpAddr       string
	kafkaAddr      string
	clickhousePort int
	clickhouseHTTP int
	clickhouseBin  string
	demo           bool
	demoEvents     int
	serversOnly    bool
}

func runCommand(stdout, stderr io.Writer) *command {
	var f runFlags
	return &command{
		name: "run", summary: "run everything in one process tree (embedded Kafka, ClickHouse, pipeline, API)", usage: "[flags]",
		detail: "Starts an embedded Kafka (unless --kafka-brokers), a private ClickHouse server on loopback\n" +
			"with its own config and data under --data-dir (unless --clickhouse-dsn; installed from\n" +
			"Debian's clickhouse-server when missing and possible), applies migrations, runs the ingest\n" +
			"pipeline and serves the API. --demo loads a demo tenant when the data dir is new.\n" +
			"A ClickHouse child that dies is started again (after 1, 2, 4, 8, 16 s); at its sixth death\n" +
			"within 5 minutes siyu run stops everything and exits 1, naming the log to read.\n" +
			"Ctrl-C stops everything cleanly; running it again keeps the data.",
		flags: func(fs *flag.FlagSet) {
			f.st.bind(fs)
			f.kf.bind(fs)
			f.bf.bind(fs)
			f.lf.bind(fs)
			f.rf.bind(fs)
			fs.StringVar(&f.httpAddr, "http-addr", defaultHTTPAddr, "address the API listens on")
			fs.StringVar(&f.kafkaAddr, "kafka-addr", defaultKafkaAddr, "address of the embedded Kafka broker")
			fs.IntVar(&f.clickhousePort, "clickhouse-port", defaultClickHousePort, "native port of the private ClickHouse server")
			fs.IntVar(&f.clickhouseHTTP, "clickhouse-http-port", defaultClickHousePort+1, "HTTP port of the private ClickHouse server")
			fs.StringVar(&f.clickhouseBin, "clickhouse-binary", "", "ClickHouse server binary; empty: clickhouse-server or clickhouse on PATH")
			fs.BoolVar(&f.demo, "demo", false, "load a demo tenant when the data dir is new")
			fs.IntVar(&f.demoEvents, "demo-events", 50_000, "events in the demo tenant")
			fs.BoolVar(&f.serversOnly, "servers-only", false, "start only Kafka and ClickHouse (migrated, topics created) and wait,\n"+
				"for a harness that runs `siyu ingest` and `siyu serve` against them (the bench)")
		},
		run: func(ctx context.Context, _ []string) error { return runAll(ctx, f, stdout, stderr) },
	}
}

// Shutdown deadlines of `siyu run`: each part gets its own, so that a part
// that hangs on the way out (a broker connection, a dead ClickHouse) delays
// the exit by a bounded time and never keeps the process alive.
const (
	servicesStopWithin   = 20 * time.Second // API (it drains for 10 s) and pipeline
	clientStopWithin     = 10 * time.Second // the Kafka and ClickHouse clients
	clickhouseStopWithin = 15 * time.Second // then SIGKILL
	kafkaStopWithin      = 10 * time.Second
)

// runAll starts the components in dependency order and stops them in
// reverse: API and pipeline first, then the clients, ClickHouse, and Kafka
// last. Its private ClickHouse is restarted when it dies (see
// store.Supervisor); when it keeps dying, runAll stops the rest and fails.
func runAll(ctx context.Context, f runFlags, stdout, stderr io.Writer) error {
	log, err := f.lf.logger(stderr)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(f.st.dataDir, 0o755); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	topics := f.kf.topics()
	brokers := kafka.SplitBrokers(f.kf.brokers)
	if len(brokers) == 0 {
		emb, err := kafka.StartEmbedded(f.kafkaAddr, filepath.Join(f.st.dataDir, "kafka"), topics.Partitions)
		if err != nil {
			return err
		}
		defer stopWithin(log, "kafka", kafkaStopWithin, emb.Close)
		brokers = emb.Addrs()
		log.Info("embedded kafka started", "addr", brokers[0], "dir", filepath.Join(f.st.dataDir, "kafka"))
	}
	dsn := f.st.dsn
	var ch *store.Supervisor
	if dsn == "" {
		if ch, err = startClickHouse(ctx, f, stderr, log); err != nil {
			return err
		}
		defer stopClickHouse(ch, log)
		dsn = ch.DSN(f.st.database)
	}
	if err := writeRunState(f.st.dataDir, runState{ClickHouseDSN: dsn, KafkaBrokers: brokers, HTTPAddr: f.httpAddr}); err != nil {
		return fmt.Errorf("record run state: %w", err)
	}
	conn, err := store.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer stopWithin(log, "clickhouse client", clientStopWithin, func() { _ = conn.Close() })
	if _, err := store.Migrate(ctx, conn, log); err != nil {
		return err
	}
	if err := grantGrafana(ctx, conn, f.st, log); err != nil {
		return err
	}
	cl, err := openKafka(ctx, brokers, topics)
	if err != nil {
		return err
	}
	defer stopWithin(log, "kafka client", clientStopWithin, cl.Close)
	if f.serversOnly {
		return runServersOnly(ctx, ch, log)
	}
	var demo *demoInfo
	if f.demo {
		if demo, err = ensureDemo(ctx, conn, cl, topics.Events, f.st.dataDir, f.demoEvents, stderr); err != nil {
			return err
		}
	}
	return runServices(ctx, f, conn, cl, brokers, ch, demo, stdout, log)
}

// runServersOnly keeps Kafka and ClickHouse (ch, nil when ClickHouse is not
// ours) up until ctx ends; the services are someone else's to start.
func runServersOnly(ctx context.Context, ch *store.Supervisor, log *slog.Logger) error {
	log.Info("servers ready; no pipeline or API (--servers-only)")
	if ch == nil {
		<-ctx.Done()
		return nil
	}
	if err := ch.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// startClickHouse starts the private server under the data dir, supervised.
func startClickHouse(ctx context.Context, f runFlags, stderr io.Writer, log *slog.Logger) (*store.Supervisor, error) {
	cfg := store.ServerConfig{
		Dir: filepath.Join(f.st.dataDir, "clickhouse"), TCPPort: f.clickhousePort, HTTPPort: f.clickhouseHTTP,
		Binary: f.clickhouseBin, Install: true, InstallOutput: stderr,
	}
	if pw := os.Getenv(grafanaPasswordEnv); pw != "" { // else no grafana user
		cfg.GrafanaDatabase, cfg.GrafanaPassword = grafanaDatabase(f.st.database), pw
	}
	srv, err := store.StartServer(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	ch, err := store.NewSupervisor(srv, store.DefaultRestartPolicy(), log)
	if err != nil {
		_ = srv.Stop(clickhouseStopWithin)
		return nil, err
	}
	return ch, nil
}

func stopClickHouse(ch *store.Supervisor, log *slog.Logger) {
	if err := ch.Stop(clickhouseStopWithin); err != nil {
		log.Error("stop clickhouse", "err", err)
	}
}

// stopWithin runs stop and waits for it at most d: past that the process's
// exit ends whatever stop was waiting on.
func stopWithin(log *slog.Logger, what string, d time.Duration, stop func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		stop()
	}()
	select {
	case <-done:
		log.Info(what + " stopped")
	case <-time.After(d):
		log.Error(what+" did not stop in time; leaving it to the process exit", "within", d)
	}
}

// runServices runs the pipeline, the API and ClickHouse's supervisor (ch,
// nil when ClickHouse is not ours) until ctx ends or one of them fails.
func runServices(ctx context.Context, f runFlags, conn driver.Conn, cl *kgo.Client, brokers []string,
	ch *store.Supervisor, demo *demoInfo, stdout io.Writer, log *slog.Logger) error {
	reg := newRegistry()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return runIngest(gctx, conn, f.bf.config(brokers, f.kf.topics()), reg, log) })
	g.Go(func() error {
		return serveAPI(gctx, conn, cl, f.kf.topics(), f.bf.group, f.httpAddr, f.rf.progress(), reg, log)
	})
	if ch != nil {
		g.Go(func() error { return ch.Run(gctx) })
	}
	g.Go(func() error {
		if waitHTTP(gctx, "http://"+f.httpAddr+"/healthz") == nil {
			printBanner(stdout, f, brokers, demo)
		}
		return nil
	})
	err := waitGroup(gctx, g, servicesStopWithin, log)
	log.Info("stopping")
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// waitGroup waits for g, but for at most d once gctx, g's context, has
// ended: the first error (gctx's cause) is returned either way.
func waitGroup(gctx context.Context, g *errgroup.Group, d time.Duration, log *slog.Logger) error {
	waited := make(chan error, 1)
	go func() { waited <- g.Wait() }()
	select {
	case err := <-waited:
		return err
	case <-gctx.Done():
	}
	select {
	case err := <-waited:
		return err
	case <-time.After(d):
		log.Error("the API or pipeline did not stop in time; leaving them to the process exit", "within", d)
		return context.Cause(gctx)
	}
}

func waitHTTP(ctx context.Context, url string) error {
	for ctx.Err() == nil {
		resp, err := http.Get(url) //nolint:gosec,noctx // loopback health check
		if err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return ctx.Err()
}

// demoInfo is what the demo tenant's set-up leaves in the data dir.
type demoInfo struct {
	Tenant    string `json:"tenant"`
	AdminKey  string `json:"admin_key"`
	RepKey    string `json:"rep_key"`
	RepStaff  string `json:"rep_staff_id"`
	ContactID string `json:"contact_id"`
}

const demoFile = "demo.json"

// ensureDemo loads the demo tenant once per data dir: keys, and a loadgen
// stream produced to Kafka (the pipeline folds it into profiles).
func ensureDemo(ctx context.Context, conn driver.Conn, cl *kgo.Client, topic, dataDir string, events int, stderr io.Writer) (*demoInfo, error) {
	path := filepath.Join(dataDir, demoFile)
	if b, err := os.ReadFile(path); err == nil {
		var d demoInfo
		return &d, json.Unmarshal(b, &d)
	}
	cfg := loadgen.Config{Seed: 7, TenantNames: []string{"demo"}, StaffPerTenant: 20, ContactsPerTenant: max(events/25, 10),
		Events: events, Days: 30, PaidShare: 1, Start: time.Now().Add(-30 * 24 * time.Hour)}
	d := &demoInfo{Tenant: "demo"}
	var err error
	if d.RepStaff, d.ContactID, err = demoRep(cfg); err != nil {
		return nil, err
	}
	keys := auth.NewKeys(conn, 0)
	if d.AdminKey, err = keys.Create(ctx, auth.NewKeyRequest{Tenant: d.Tenant, Role: auth.RoleAdmin, Name: "demo admin"}); err != nil {
		return nil, err
	}
	if d.RepKey, err = keys.Create(ctx, auth.NewKeyRequest{Tenant: d.Tenant, Role: auth.RoleRep, StaffID: d.RepStaff, Name: "demo rep"}); err != nil {
		return nil, err
	}
	g, err := loadgen.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("demo stream: %w", err)
	}
	bar := progress.New(stderr, "loading demo tenant", g.Total())
	if _, err := produceStream(ctx, cl, topic, g, 0, bar.Add); err != nil {
		return nil, fmt.Errorf("load demo tenant: %w", err)
	}
	bar.Done()
	b, _ := json.MarshalIndent(d, "", "  ")
	return d, os.WriteFile(path, b, 0o600)
}

// demoRep replays the demo stream's friend relations and picks the rep who
// holds the most customers at the end, and the first customer they hold, so
// that the banner's rep key has something to show.
func demoRep(cfg loadgen.Config) (staff, contact string, err error) {
	g, err := loadgen.New(cfg)
	if err != nil {
		return "", "", fmt.Errorf("demo stream: %w", err)
	}
	type pair struct{ staff, contact string }
	live := map[pair]bool{}
	var order []pair
	set := func(staff, contact string, on bool) {
		k := pair{strings.Clone(staff), strings.Clone(contact)}
		if _, seen := live[k]; !seen {
			order = append(order, k)
		}
		live[k] = on
	}
	var e event.Event
	for g.Next(&e) {
		switch e.Type {
		case event.ContactAdded:
			set(e.Data.StaffID, e.Subject, true)
		case event.ContactRemoved:
			set(e.Data.StaffID, e.Subject, false)
		case event.ContactTransferred:
			set(e.Data.FromStaffID, e.Subject, false)
			set(e.Data.ToStaffID, e.Subject, true)
		}
	}
	held, first := map[string]int{}, map[string]string{}
	for _, k := range order {
		if live[k] {
			if held[k.staff]++; first[k.staff] == "" {
				first[k.staff] = k.contact
			}
		}
	}
	for s, n := range held {
		if n > held[staff] || (n == held[staff] && s < staff) {
			staff = s
		}
	}
	if staff == "" {
		return "", "", errors.New("demo stream: no rep holds a customer; raise --demo-events")
	}
	return staff, first[staff], nil
}

func printBanner(w io.Writer, f runFlags, brokers []string, d *demoInfo) {
	base := "http://" + f.httpAddr
	fmt.Fprintf(w, "\nSiyu is running.\n  API        %s   (OpenAPI: %s/openapi.json, metrics: %s/metrics)\n", base, base, base)
	fmt.Fprintf(w, "  Kafka      %s   (topic %s, dead letters %s)\n", brokers[0], f.kf.topic, f.kf.dlq)
	fmt.Fprintf(w, "  Data dir   %s\n", f.st.dataDir)
	if d != nil {
		fmt.Fprintf(w, "  Demo keys  admin: %s\n             rep %s: %s\n", d.AdminKey, d.RepStaff, d.RepKey)
		fmt.Fprintf(w, "\nTry:\n  curl -s %s/readyz\n", base)
		fmt.Fprintf(w, "  curl -s -H 'Authorization: Bearer %s' %s/v1/customers/%s\n", d.AdminKey, base, d.ContactID)
		fmt.Fprintf(w, "  curl -s -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' %s/v1/events -d '%s'\n", d.AdminKey, base, sampleEvent(d))
		today := time.Now().In(shanghai)
		fmt.Fprintf(w, "  curl -s -H 'Authorization: Bearer %s' '%s/v1/metrics/active?metric=dau&from=%s&to=%s'\n",
			d.AdminKey, base, today.AddDate(0, 0, -7).Format(time.DateOnly), today.Format(time.DateOnly))
		fmt.Fprintf(w, "  curl -s -H 'Authorization: Bearer %s' %s/v1/tags\n", d.AdminKey, base)
		fmt.Fprintf(w, "  kcat -b %s -t %s -C -o -3 -e\n", brokers[0], f.kf.topic)
		fmt.Fprintf(w, "  siyu keys create --data-dir %s --tenant %s --role marketer\n", shellQuote(f.st.dataDir), d.Tenant)
	}
	fmt.Fprintf(w, "\nCtrl-C stops everything; running it again keeps the data.\n\n")
}

// shanghai is the reporting zone of the demo's metrics example.
var shanghai = time.FixedZone("CST", 8*3600)

func sampleEvent(d *demoInfo) string {
	e := event.Event{ID: "try-1", Source: "curl", Type: event.ChatMessage, Tenant: d.Tenant, Subject: d.ContactID,
		Time: time.Now().UTC().Truncate(time.Second)}
	e.Data.Set(event.FStaffID, d.RepStaff)
	e.Data.Set(event.FDirection, "in")
	e.Data.SetInt(event.FChars, 5)
	return string(event.AppendJSON(nil, &e))
}
