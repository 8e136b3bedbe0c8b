package main

import (
	"cmp"
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
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/auth"
	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/internal/progress"
	"github.com/siyu-dev/siyu/internal/reporting"
	"github.com/siyu-dev/siyu/kafka"
	"github.com/siyu-dev/siyu/loadgen"
	"github.com/siyu-dev/siyu/store"
)

func runCommand(stdout, stderr io.Writer) *command {
	cfg := DefaultConfig()
	return &command{
		config: &cfg,
		name:   "run", summary: "run everything in one process tree (embedded Kafka, ClickHouse, pipeline, API and console)", usage: "[flags]",
		detail: "Starts an embedded Kafka (unless --kafka-brokers), a private ClickHouse server on loopback\n" +
			"with its own config and data under --data-dir (unless --clickhouse-dsn; installed from\n" +
			"Debian's clickhouse-server when missing and possible), applies migrations, runs the ingest\n" +
			"pipeline and serves the API. --demo loads a demo tenant when the data dir is new.\n" +
			"A ClickHouse child that dies is started again (after 1, 2, 4, 8, 16 s); at its sixth death\n" +
			"within 5 minutes siyu run stops everything and exits 1, naming the log to read.\n" +
			"Ctrl-C stops everything cleanly; running it again keeps the data.",
		flags: func(fs *flag.FlagSet) {
			cfg.Storage.bind(fs)
			cfg.Kafka.bind(fs)
			cfg.Ingest.bind(fs)
			cfg.Log.bind(fs)
			cfg.Ready.bind(fs)
			cfg.HTTP.bind(fs)
			cfg.WeCom.bind(fs)
			cfg.Embedded.bind(fs)
		},
		run: func(ctx context.Context, _ []string) error { return runAll(ctx, &cfg, stdout, stderr) },
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
func runAll(ctx context.Context, f *Config, stdout, stderr io.Writer) error {
	log, err := f.Log.logger(stderr)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(f.Storage.dataDir, 0o755); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	topics := f.Kafka.topics()
	brokers := kafka.SplitBrokers(f.Kafka.brokers)
	if len(brokers) == 0 {
		emb, err := kafka.StartEmbedded(f.Embedded.kafkaAddr, filepath.Join(f.Storage.dataDir, "kafka"), topics.Partitions)
		if err != nil {
			return err
		}
		defer stopWithin(log, "kafka", kafkaStopWithin, emb.Close)
		brokers = emb.Addrs()
		log.Info("embedded kafka started", "addr", brokers[0], "dir", filepath.Join(f.Storage.dataDir, "kafka"))
	}
	dsn := f.Storage.dsn
	var ch *store.Supervisor
	if dsn == "" {
		if ch, err = startClickHouse(ctx, f, stderr, log); err != nil {
			return err
		}
		defer stopClickHouse(ch, log)
		dsn = ch.DSN(f.Storage.database)
	}
	if err := writeRunState(f.Storage.dataDir, runState{ClickHouseDSN: dsn, KafkaBrokers: brokers, HTTPAddr: f.HTTP.addr}); err != nil {
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
	if err := grantGrafana(ctx, conn, f.Storage, log); err != nil {
		return err
	}
	cl, err := openKafka(ctx, brokers, topics)
	if err != nil {
		return err
	}
	defer stopWithin(log, "kafka client", clientStopWithin, cl.Close)
	if f.Embedded.serversOnly {
		return runServersOnly(ctx, ch, log)
	}
	var demo *demoInfo
	if f.Embedded.demo {
		if demo, err = ensureDemo(ctx, conn, cl, topics.Events, f.Storage.dataDir, f.Embedded.demoEvents, stderr); err != nil {
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
func startClickHouse(ctx context.Context, f *Config, stderr io.Writer, log *slog.Logger) (*store.Supervisor, error) {
	cfg := store.ServerConfig{
		Dir: filepath.Join(f.Storage.dataDir, "clickhouse"), TCPPort: f.Embedded.clickhousePort, HTTPPort: f.Embedded.clickhouseHTTP,
		Binary: f.Embedded.clickhouseBin, Install: true, InstallOutput: stderr,
	}
	if pw := os.Getenv(grafanaPasswordEnv); pw != "" { // else no grafana user
		cfg.GrafanaDatabase, cfg.GrafanaPassword = grafanaDatabase(f.Storage.database), pw
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
func runServices(ctx context.Context, f *Config, conn driver.Conn, cl *kgo.Client, brokers []string,
	ch *store.Supervisor, demo *demoInfo, stdout io.Writer, log *slog.Logger) error {
	reg := newRegistry()
	parts := []part{
		{"ingest", func(ctx context.Context) error {
			return runIngest(ctx, conn, f.Ingest.config(brokers, f.Kafka.topics()), reg, log)
		}},
		{"api", func(ctx context.Context) error { return serveAPI(ctx, f, conn, cl, reg, log) }},
		{"banner", func(ctx context.Context) error {
			if waitHTTP(ctx, "http://"+f.HTTP.addr+"/healthz") == nil {
				printBanner(stdout, f, brokers, demo)
			}
			return nil
		}},
	}
	if ch != nil {
		parts = append(parts, part{"clickhouse supervisor", ch.Run})
	}
	err := runParts(ctx, servicesStopWithin, log, parts...)
	log.Info("stopping")
	return err
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
	// The console's demo users: one per role (rep2: a second rep), one
	// password; OtherRepStaff is rep2's staff id and OtherContact a
	// customer rep2 holds and the first rep does not.
	Password      string            `json:"console_password"`
	Users         map[string]string `json:"console_users"`
	OtherRepStaff string            `json:"other_rep_staff_id"`
	OtherContact  string            `json:"other_contact_id"`
}

const demoFile = "demo.json"

// ensureDemo loads the demo tenant once per data dir: keys, and a loadgen
// stream produced to Kafka (the pipeline folds it into profiles).
func ensureDemo(ctx context.Context, conn driver.Conn, cl *kgo.Client, topic, dataDir string, events int, stderr io.Writer) (*demoInfo, error) {
	path := filepath.Join(dataDir, demoFile)
	cfg := loadgen.Config{Seed: 7, TenantNames: []string{"demo"}, StaffPerTenant: 20, ContactsPerTenant: max(events/25, 10),
		Events: events, Days: 30, PaidShare: 1, Start: time.Now().Add(-30 * 24 * time.Hour)}
	if b, err := os.ReadFile(path); err == nil {
		var d demoInfo
		if err := json.Unmarshal(b, &d); err != nil || len(d.Users) > 0 {
			return &d, err
		}
		// A data dir from before the console: add its users.
		return &d, ensureDemoConsole(ctx, conn, cl, topic, path, &d, cfg)
	}
	d := &demoInfo{Tenant: "demo"}
	reps, err := demoReps(cfg)
	if err != nil {
		return nil, err
	}
	d.RepStaff, d.ContactID = reps.staff[0], reps.first[0]
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
	return d, ensureDemoConsole(ctx, conn, cl, topic, path, d, cfg)
}

// ensureDemoConsole picks the demo's reps, creates its console users (one
// per role) and the demo manager's team, and writes demo.json.
func ensureDemoConsole(ctx context.Context, conn driver.Conn, cl *kgo.Client, topic, path string, d *demoInfo, cfg loadgen.Config) error {
	reps, err := demoReps(cfg)
	if err != nil {
		return err
	}
	d.RepStaff, d.ContactID = reps.staff[0], reps.first[0]
	d.OtherRepStaff, d.OtherContact = reps.staff[1], reps.first[1]
	if err := ensureConsoleUsers(ctx, conn, cl, topic, d, reps.staff[:min(demoTeamSize, len(reps.staff))]); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(d, "", "  ")
	return os.WriteFile(path, b, 0o600)
}

// demoTeam is the demo's reps, most customers first (ties by staff id), and
// for each a customer they hold that no rep before them holds.
type demoTeam struct{ staff, first []string }

// demoReps replays the demo stream's friend relations and ranks the reps by
// the customers they hold at the end, so that the banner's rep key and the
// demo's rep users have something to show.
func demoReps(cfg loadgen.Config) (demoTeam, error) {
	g, err := loadgen.New(cfg)
	if err != nil {
		return demoTeam{}, fmt.Errorf("demo stream: %w", err)
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
	held, holders := map[string]int{}, map[string][]string{}
	for _, k := range order {
		if live[k] {
			held[k.staff]++
			holders[k.contact] = append(holders[k.contact], k.staff)
		}
	}
	var t demoTeam
	for s := range held {
		t.staff = append(t.staff, s)
	}
	slices.SortFunc(t.staff, func(a, b string) int { return cmp.Or(cmp.Compare(held[b], held[a]), cmp.Compare(a, b)) })
	if len(t.staff) < 2 {
		return demoTeam{}, errors.New("demo stream: fewer than two reps hold a customer; raise --demo-events")
	}
	for i, s := range t.staff {
		t.first = append(t.first, "")
		for _, k := range order {
			if k.staff == s && live[k] && !slices.ContainsFunc(holders[k.contact], func(h string) bool { return slices.Index(t.staff, h) < i }) {
				t.first[i] = k.contact
				break
			}
		}
	}
	return t, nil
}

func printBanner(w io.Writer, f *Config, brokers []string, d *demoInfo) {
	base := "http://" + f.HTTP.addr
	fmt.Fprintf(w, "\nSiyu is running.\n  API        %s   (OpenAPI: %s/openapi.json, metrics: %s/metrics)\n", base, base, base)
	fmt.Fprintf(w, "  Kafka      %s   (topic %s, dead letters %s)\n", brokers[0], f.Kafka.topic, f.Kafka.dlq)
	fmt.Fprintf(w, "  Data dir   %s\n", f.Storage.dataDir)
	if d != nil {
		fmt.Fprintf(w, "  Console    %s/   (sign in with any demo user below, password %s)\n", base, d.Password)
		fmt.Fprintf(w, "             %s\n", demoLogins(d))
		fmt.Fprintf(w, "  Demo keys  admin: %s\n             rep %s: %s\n", d.AdminKey, d.RepStaff, d.RepKey)
		fmt.Fprintf(w, "\nTry:\n  curl -s %s/readyz\n", base)
		fmt.Fprintf(w, "  curl -s -H 'Authorization: Bearer %s' %s/v1/customers/%s\n", d.AdminKey, base, d.ContactID)
		fmt.Fprintf(w, "  curl -s -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' %s/v1/events -d '%s'\n", d.AdminKey, base, sampleEvent(d))
		today := time.Now().In(reporting.Zone)
		fmt.Fprintf(w, "  curl -s -H 'Authorization: Bearer %s' '%s/v1/metrics/active?metric=dau&from=%s&to=%s'\n",
			d.AdminKey, base, today.AddDate(0, 0, -7).Format(time.DateOnly), today.Format(time.DateOnly))
		fmt.Fprintf(w, "  curl -s -H 'Authorization: Bearer %s' %s/v1/tags\n", d.AdminKey, base)
		fmt.Fprintf(w, "  kcat -b %s -t %s -C -o -3 -e\n", brokers[0], f.Kafka.topic)
		fmt.Fprintf(w, "  siyu keys create --data-dir %s --tenant %s --role marketer\n", shellQuote(f.Storage.dataDir), d.Tenant)
	}
	fmt.Fprintf(w, "\nCtrl-C stops everything; running it again keeps the data.\n\n")
}

func sampleEvent(d *demoInfo) string {
	e := event.Event{ID: "try-1", Source: "curl", Type: event.ChatMessage, Tenant: d.Tenant, Subject: d.ContactID,
		Time: time.Now().UTC().Truncate(time.Second)}
	e.Data.Set(event.FStaffID, d.RepStaff)
	e.Data.Set(event.FDirection, "in")
	e.Data.SetInt(event.FChars, 5)
	return string(event.AppendJSON(nil, &e))
}
