package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/siyu-dev/siyu/api"
	"github.com/siyu-dev/siyu/ingest"
	"github.com/siyu-dev/siyu/kafka"
	"github.com/siyu-dev/siyu/store"
	"github.com/siyu-dev/siyu/wecom"
)

// Defaults of `siyu run`'s embedded components.
const (
	defaultDataDir        = ".siyu"
	defaultHTTPAddr       = "127.0.0.1:8080"
	defaultKafkaAddr      = "127.0.0.1:9092"
	defaultClickHousePort = 19000
	defaultDatabase       = "siyu"
)

// Config is every setting of a Siyu process, in parts. Each command binds
// the parts it uses to its flags (and their SIYU_ environment variables);
// one Validate then checks the whole of it, before anything starts, so a
// mistake is a usage error naming the flag, never a failure half-way up.
// Parts a command does not bind keep their defaults, which are valid.
type Config struct {
	Storage  StorageConfig
	Kafka    KafkaConfig
	Ingest   IngestConfig
	Ready    ReadyConfig
	Log      LogConfig
	HTTP     HTTPConfig
	WeCom    WeComConfig
	Embedded EmbeddedConfig // `siyu run`'s own Kafka, ClickHouse and demo
}

// DefaultConfig is the configuration with every default.
func DefaultConfig() Config {
	d, t := ingest.DefaultConfig(), kafka.DefaultTopics()
	return Config{
		Storage: StorageConfig{dataDir: defaultDataDir, database: defaultDatabase},
		Kafka:   KafkaConfig{topic: t.Events, dlq: t.DeadLetter, partitions: int(t.Partitions)},
		Ingest: IngestConfig{group: d.Group, maxRows: d.BatchMaxRows, maxBytes: d.BatchMaxBytes, maxWait: d.BatchMaxWait,
			session: d.SessionTimeout, workers: d.InsertWorkers, metricsAddr: defaultIngestMetricsAddr, memoryMB: 256},
		Ready: ReadyConfig{stallAfter: kafka.DefaultProgressConfig().StallAfter},
		Log:   LogConfig{level: "info", format: "text"},
		HTTP:  HTTPConfig{addr: defaultHTTPAddr, readTimeout: api.DefaultRequestTimeout, writeTimeout: api.DefaultWriteTimeout},
		WeCom: WeComConfig{endpoints: wecom.DefaultEndpoints()},
		Embedded: EmbeddedConfig{kafkaAddr: defaultKafkaAddr, clickhousePort: defaultClickHousePort,
			clickhouseHTTP: defaultClickHousePort + 1, demoEvents: 50_000},
	}
}

// Validate checks every part; the error names the flag and what it wants.
func (c *Config) Validate() error {
	return errors.Join(c.Storage.validate(), c.Kafka.validate(), c.Ingest.validate(), c.Ready.validate(),
		c.Log.validate(), c.HTTP.validate(), c.WeCom.validate(), c.Embedded.validate())
}

// StorageConfig locates ClickHouse: an explicit DSN, or the server of a
// `siyu run` data dir.
type StorageConfig struct {
	dataDir  string
	dsn      string
	database string
}

func (s *StorageConfig) bind(fs *flag.FlagSet) {
	fs.StringVar(&s.dataDir, "data-dir", s.dataDir, "where `siyu run` keeps its ClickHouse, Kafka log and demo key")
	fs.StringVar(&s.dsn, "clickhouse-dsn", s.dsn, "ClickHouse to use, clickhouse://host:9000/db; empty: the one `siyu run` started for --data-dir")
	fs.StringVar(&s.database, "database", s.database, "database name when the DSN comes from --data-dir")
}

func (s *StorageConfig) validate() error {
	var errs []error
	if s.dataDir == "" {
		errs = append(errs, errors.New("--data-dir: must not be empty"))
	}
	if s.dsn != "" {
		if _, err := clickhouse.ParseDSN(s.dsn); err != nil {
			errs = append(errs, fmt.Errorf("--clickhouse-dsn %q: want clickhouse://host:9000/db (%v)", s.dsn, err))
		}
	}
	if !identifier.MatchString(s.database) {
		errs = append(errs, fmt.Errorf("--database %q: want letters, digits and _ (a ClickHouse database name)", s.database))
	}
	return errors.Join(errs...)
}

// identifier is a name ClickHouse takes unquoted.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// KafkaConfig locates Kafka and names the topics.
type KafkaConfig struct {
	brokers    string
	topic      string
	dlq        string
	partitions int
}

func (k *KafkaConfig) bind(fs *flag.FlagSet) {
	fs.StringVar(&k.brokers, "kafka-brokers", k.brokers, "Kafka brokers, host:port[,host:port]; empty: the embedded broker of `siyu run` for --data-dir")
	fs.StringVar(&k.topic, "topic", k.topic, "the events topic")
	fs.StringVar(&k.dlq, "dlq-topic", k.dlq, "the dead-letter topic for invalid records")
	fs.IntVar(&k.partitions, "partitions", k.partitions, "partitions of the topics when siyu creates them")
}

func (k *KafkaConfig) topics() kafka.Topics {
	t := kafka.DefaultTopics()
	t.Events, t.DeadLetter, t.Partitions = k.topic, k.dlq, int32(k.partitions)
	return t
}

// topicName is a name Kafka takes for a topic.
var topicName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,249}$`)

func (k *KafkaConfig) validate() error {
	var errs []error
	for _, b := range kafka.SplitBrokers(k.brokers) {
		if err := checkAddr(b); err != nil {
			errs = append(errs, fmt.Errorf("--kafka-brokers %q: %v", b, err))
		}
	}
	if !topicName.MatchString(k.topic) {
		errs = append(errs, fmt.Errorf("--topic %q: want 1-249 letters, digits, '.', '_' or '-'", k.topic))
	}
	if !topicName.MatchString(k.dlq) {
		errs = append(errs, fmt.Errorf("--dlq-topic %q: want 1-249 letters, digits, '.', '_' or '-'", k.dlq))
	} else if k.dlq == k.topic {
		errs = append(errs, fmt.Errorf("--dlq-topic %q: must differ from --topic", k.dlq))
	}
	if k.partitions < 1 || k.partitions > 10_000 {
		errs = append(errs, fmt.Errorf("--partitions %d: want 1 to 10000", k.partitions))
	}
	return errors.Join(errs...)
}

// IngestConfig tunes the ingest pipeline (and `siyu ingest`'s process).
type IngestConfig struct {
	group       string
	maxRows     int
	maxBytes    int
	maxWait     time.Duration
	session     time.Duration
	workers     int
	metricsAddr string // `siyu ingest` only
	memoryMB    int    // `siyu ingest` only
}

// defaultIngestMetricsAddr is where `siyu ingest` serves /metrics and /readyz.
const defaultIngestMetricsAddr = "127.0.0.1:9464"

func (b *IngestConfig) bind(fs *flag.FlagSet) {
	fs.StringVar(&b.group, "group", b.group, "Kafka consumer group of the ingest processes")
	fs.IntVar(&b.maxRows, "batch-max-rows", b.maxRows, "close a ClickHouse insert batch at this many events")
	fs.IntVar(&b.maxBytes, "batch-max-bytes", b.maxBytes, "close a batch at this much payload")
	fs.DurationVar(&b.maxWait, "batch-max-wait", b.maxWait, "close a batch this long after its first event")
	fs.IntVar(&b.workers, "insert-workers", b.workers, "batches inserted into ClickHouse at once (offsets still commit in order)")
	fs.DurationVar(&b.session, "kafka-session-timeout", b.session, "how long the group waits for a crashed ingest process before reassigning its partitions")
}

// bindGroup binds only the group, for `siyu serve` (reads after a write
// wait for the group's commits).
func (b *IngestConfig) bindGroup(fs *flag.FlagSet) {
	fs.StringVar(&b.group, "group", b.group, "consumer group of the ingest processes (reads after a write wait for its commits)")
}

// bindProcess binds the settings of the `siyu ingest` process.
func (b *IngestConfig) bindProcess(fs *flag.FlagSet) {
	fs.StringVar(&b.metricsAddr, "metrics-addr", b.metricsAddr, "address of /metrics, /healthz and /readyz; empty: none")
	fs.IntVar(&b.memoryMB, "memory-limit-mb", b.memoryMB, "soft memory limit of the process in MiB (Go GC target; GOMEMLIMIT wins when set); 0: none")
}

func (b *IngestConfig) config(brokers []string, topics kafka.Topics) ingest.Config {
	c := ingest.DefaultConfig()
	c.Brokers, c.Topics, c.Group = brokers, topics, b.group
	c.BatchMaxRows, c.BatchMaxBytes, c.BatchMaxWait = b.maxRows, b.maxBytes, b.maxWait
	c.SessionTimeout, c.InsertWorkers = b.session, b.workers
	return c
}

func (b *IngestConfig) validate() error {
	var errs []error
	if b.group == "" {
		errs = append(errs, errors.New("--group: must not be empty"))
	}
	if b.maxRows < 1 {
		errs = append(errs, fmt.Errorf("--batch-max-rows %d: want at least 1", b.maxRows))
	}
	if b.maxBytes < kafka.MaxBatchBytes {
		errs = append(errs, fmt.Errorf("--batch-max-bytes %d: want at least %d (the largest record Kafka stores)", b.maxBytes, kafka.MaxBatchBytes))
	}
	if b.maxWait <= 0 {
		errs = append(errs, fmt.Errorf("--batch-max-wait %v: want more than 0", b.maxWait))
	}
	if b.workers < 1 || b.workers > 64 {
		errs = append(errs, fmt.Errorf("--insert-workers %d: want 1 to 64", b.workers))
	}
	if b.session < time.Second {
		errs = append(errs, fmt.Errorf("--kafka-session-timeout %v: want at least 1s", b.session))
	}
	if b.metricsAddr != "" {
		if err := checkAddr(b.metricsAddr); err != nil {
			errs = append(errs, fmt.Errorf("--metrics-addr %q: %v", b.metricsAddr, err))
		}
	}
	if b.memoryMB < 0 {
		errs = append(errs, fmt.Errorf("--memory-limit-mb %d: want 0 (none) or more", b.memoryMB))
	}
	return errors.Join(errs...)
}

// ReadyConfig tunes what /readyz calls not ready.
type ReadyConfig struct {
	stallAfter time.Duration
}

func (r *ReadyConfig) bind(fs *flag.FlagSet) {
	fs.DurationVar(&r.stallAfter, "ingest-stall-after", r.stallAfter,
		"/readyz says not ready when the ingest group has committed nothing this long while events wait")
}

func (r ReadyConfig) progress() kafka.ProgressConfig {
	c := kafka.DefaultProgressConfig()
	c.StallAfter = r.stallAfter
	return c
}

func (r *ReadyConfig) validate() error {
	if r.stallAfter < 100*time.Millisecond {
		return fmt.Errorf("--ingest-stall-after %v: want at least 100ms", r.stallAfter)
	}
	return nil
}

// LogConfig picks the log level and format.
type LogConfig struct {
	level  string
	format string
}

func (l *LogConfig) bind(fs *flag.FlagSet) {
	fs.StringVar(&l.level, "log-level", l.level, "debug, info, warn or error")
	fs.StringVar(&l.format, "log-format", l.format, "text or json")
}

func (l *LogConfig) validate() error {
	_, err := l.logger(io.Discard)
	return err
}

func (l *LogConfig) logger(w io.Writer) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(l.level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", l.level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch l.format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use text or json", l.format)
}

// HTTPConfig is the API's listener and its requests' deadlines.
type HTTPConfig struct {
	addr         string
	readTimeout  time.Duration // a GET's context ends then (and when the client leaves)
	writeTimeout time.Duration // any other request's
	grafanaURL   string        // where the console links the dashboards; "": not linked
	grafanaToken string        // the token `siyu dashboards apply` takes: the admin console checks the dashboards with it
}

func (h *HTTPConfig) bind(fs *flag.FlagSet) {
	fs.StringVar(&h.addr, "http-addr", h.addr, "address the API listens on")
	fs.DurationVar(&h.readTimeout, "request-timeout", h.readTimeout,
		"deadline of a read request (GET): its ClickHouse queries are cancelled then, or when the client disconnects, and it answers 503 timeout")
	fs.DurationVar(&h.writeTimeout, "write-timeout", h.writeTimeout,
		"deadline of a write request (POST, PUT, DELETE), above the 30 s a batch of events may wait for Kafka")
	fs.StringVar(&h.grafanaURL, "grafana-url", h.grafanaURL,
		"Grafana's address (http(s)://host[:port][/path]) where the console links the provisioned dashboards; empty: no links")
	fs.StringVar(&h.grafanaToken, "grafana-token", h.grafanaToken,
		"service account token of that Grafana, as `siyu dashboards apply --token` takes it (prefer $SIYU_GRAFANA_TOKEN): "+
			"the admin console's Grafana tab then checks the data source and dashboards are installed; empty: only Grafana's health")
}

func (h *HTTPConfig) validate() error {
	var errs []error
	if err := checkAddr(h.addr); err != nil {
		errs = append(errs, fmt.Errorf("--http-addr %q: %v", h.addr, err))
	}
	if h.readTimeout < 100*time.Millisecond || h.readTimeout > 10*time.Minute {
		errs = append(errs, fmt.Errorf("--request-timeout %v: want 100ms to 10m", h.readTimeout))
	}
	if h.writeTimeout < time.Second || h.writeTimeout > 10*time.Minute {
		errs = append(errs, fmt.Errorf("--write-timeout %v: want 1s to 10m", h.writeTimeout))
	}
	if err := checkGrafanaURL(h.grafanaURL); err != nil {
		errs = append(errs, fmt.Errorf("--grafana-url %q: %v", h.grafanaURL, err))
	}
	if h.grafanaToken != "" && h.grafanaURL == "" {
		errs = append(errs, errors.New("--grafana-token needs --grafana-url: the Grafana it is a token of"))
	}
	return errors.Join(errs...)
}

// WeComConfig is where WeCom is, for the API's calls (tokens, JS-SDK
// tickets, sign-in) and the sign-in redirects; tests and private
// deployments point them at stand-ins or proxies.
type WeComConfig struct {
	endpoints wecom.Endpoints
}

func (w *WeComConfig) bind(fs *flag.FlagSet) {
	fs.StringVar(&w.endpoints.API, "wecom-api-base", w.endpoints.API, "WeCom's server API (access tokens, JS-SDK tickets, the member behind a sign-in code)")
	fs.StringVar(&w.endpoints.OAuth, "wecom-oauth-base", w.endpoints.OAuth, "WeCom's web OAuth, where pages opened inside WeCom send members to sign in")
	fs.StringVar(&w.endpoints.QRLogin, "wecom-qr-base", w.endpoints.QRLogin, "WeCom's web login, where browsers outside WeCom send members to sign in by QR code")
}

func (w *WeComConfig) validate() error {
	var errs []error
	for _, f := range []struct{ flag, base string }{
		{"--wecom-api-base", w.endpoints.API}, {"--wecom-oauth-base", w.endpoints.OAuth}, {"--wecom-qr-base", w.endpoints.QRLogin},
	} {
		if err := wecom.CheckBase(f.base); err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", f.flag, err))
		}
	}
	return errors.Join(errs...)
}

// EmbeddedConfig is what `siyu run` starts itself: a Kafka broker, a
// private ClickHouse server and the demo tenant.
type EmbeddedConfig struct {
	kafkaAddr      string
	clickhousePort int
	clickhouseHTTP int
	clickhouseBin  string
	demo           bool
	demoEvents     int
	serversOnly    bool // only Kafka and ClickHouse: a harness runs the rest (the bench)
}

func (e *EmbeddedConfig) bind(fs *flag.FlagSet) {
	fs.StringVar(&e.kafkaAddr, "kafka-addr", e.kafkaAddr, "address of the embedded Kafka broker")
	fs.IntVar(&e.clickhousePort, "clickhouse-port", e.clickhousePort, "native port of the private ClickHouse server")
	fs.IntVar(&e.clickhouseHTTP, "clickhouse-http-port", e.clickhouseHTTP, "HTTP port of the private ClickHouse server")
	fs.StringVar(&e.clickhouseBin, "clickhouse-binary", e.clickhouseBin, "ClickHouse server binary; empty: clickhouse-server or clickhouse on PATH")
	fs.BoolVar(&e.demo, "demo", e.demo, "load a demo tenant when the data dir is new")
	fs.IntVar(&e.demoEvents, "demo-events", e.demoEvents, "events in the demo tenant")
	fs.BoolVar(&e.serversOnly, "servers-only", e.serversOnly, "start only Kafka and ClickHouse (migrated, topics created) and wait: a harness runs `siyu ingest` and `siyu serve` (the bench)")
}

func (e *EmbeddedConfig) validate() error {
	var errs []error
	if err := checkAddr(e.kafkaAddr); err != nil {
		errs = append(errs, fmt.Errorf("--kafka-addr %q: %v", e.kafkaAddr, err))
	}
	for _, p := range []struct {
		flag string
		port int
	}{{"--clickhouse-port", e.clickhousePort}, {"--clickhouse-http-port", e.clickhouseHTTP}} {
		if p.port < 1 || p.port > 65535 {
			errs = append(errs, fmt.Errorf("%s %d: want a port, 1 to 65535", p.flag, p.port))
		}
	}
	if e.clickhousePort == e.clickhouseHTTP {
		errs = append(errs, fmt.Errorf("--clickhouse-http-port %d: must differ from --clickhouse-port", e.clickhouseHTTP))
	}
	if e.demoEvents < 1 {
		errs = append(errs, fmt.Errorf("--demo-events %d: want at least 1", e.demoEvents))
	}
	return errors.Join(errs...)
}

// checkAddr checks a listening or dialling address, host:port.
func checkAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("want host:port, e.g. 127.0.0.1:8080")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return errors.New("want a port from 0 to 65535")
	}
	return nil
}

// runState is what `siyu run` records in its data dir so that other
// commands (`siyu keys create`, `siyu loadgen`) find its components.
type runState struct {
	ClickHouseDSN string   `json:"clickhouse_dsn"`
	KafkaBrokers  []string `json:"kafka_brokers"`
	HTTPAddr      string   `json:"http_addr"`
}

const runStateFile = "run.json"

func writeRunState(dataDir string, s runState) error {
	b, _ := json.MarshalIndent(s, "", "  ")
	return os.WriteFile(filepath.Join(dataDir, runStateFile), b, 0o644)
}

func readRunState(dataDir string) (runState, error) {
	var s runState
	b, err := os.ReadFile(filepath.Join(dataDir, runStateFile))
	if errors.Is(err, os.ErrNotExist) {
		return s, fmt.Errorf("no %s in %s: start `siyu run --data-dir %s` first, or give the address explicitly", runStateFile, dataDir, dataDir)
	}
	if err != nil {
		return s, err
	}
	return s, json.Unmarshal(b, &s)
}

// resolveDSN is --clickhouse-dsn, or the ClickHouse of the data dir's run.
func (s *StorageConfig) resolveDSN() (string, error) {
	if s.dsn != "" {
		return s.dsn, nil
	}
	st, err := readRunState(s.dataDir)
	if err != nil {
		return "", fmt.Errorf("find ClickHouse: %w (flag --clickhouse-dsn)", err)
	}
	return st.ClickHouseDSN, nil
}

// open connects to the ClickHouse of --clickhouse-dsn or of the data dir's run.
func (s *StorageConfig) open(ctx context.Context) (driver.Conn, error) {
	dsn, err := s.resolveDSN()
	if err != nil {
		return nil, err
	}
	return store.Open(ctx, dsn)
}

// resolveBrokers is --kafka-brokers, or the embedded broker of the data dir's run.
func (k *KafkaConfig) resolveBrokers(dataDir string) ([]string, error) {
	if b := kafka.SplitBrokers(k.brokers); len(b) > 0 {
		return b, nil
	}
	st, err := readRunState(dataDir)
	if err != nil {
		return nil, fmt.Errorf("find Kafka: %w (flag --kafka-brokers)", err)
	}
	return st.KafkaBrokers, nil
}

func shellQuote(s string) string {
	if strings.ContainsAny(s, " '\"$`\\") {
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	return s
}

// checkGrafanaURL accepts "" or an absolute http(s) URL without query,
// fragment or credentials: the console appends /d/<uid> to it.
func checkGrafanaURL(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("want an absolute http:// or https:// URL")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("want no user, query or fragment")
	}
	return nil
}
