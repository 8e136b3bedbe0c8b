package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/siyu-dev/siyu/ingest"
	"github.com/siyu-dev/siyu/kafka"
)

// Defaults of `siyu run`'s embedded components.
const (
	defaultDataDir        = ".siyu"
	defaultHTTPAddr       = "127.0.0.1:8080"
	defaultKafkaAddr      = "127.0.0.1:9092"
	defaultClickHousePort = 19000
	defaultDatabase       = "siyu"
)

// storageFlags locate ClickHouse: an explicit DSN, or the server of a
// `siyu run` data dir.
type storageFlags struct {
	dataDir  string
	dsn      string
	database string
}

func (s *storageFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&s.dataDir, "data-dir", defaultDataDir, "where `siyu run` keeps its ClickHouse, Kafka log and demo key")
	fs.StringVar(&s.dsn, "clickhouse-dsn", "", "ClickHouse to use, clickhouse://host:9000/db; empty: the one `siyu run` started for --data-dir")
	fs.StringVar(&s.database, "database", defaultDatabase, "database name when the DSN comes from --data-dir")
}

// kafkaFlags locate Kafka and name the topics.
type kafkaFlags struct {
	brokers    string
	topic      string
	dlq        string
	partitions int
}

func (k *kafkaFlags) bind(fs *flag.FlagSet) {
	d := kafka.DefaultTopics()
	fs.StringVar(&k.brokers, "kafka-brokers", "", "Kafka brokers, host:port[,host:port]; empty: the embedded broker of `siyu run` for --data-dir")
	fs.StringVar(&k.topic, "topic", d.Events, "the events topic")
	fs.StringVar(&k.dlq, "dlq-topic", d.DeadLetter, "the dead-letter topic for invalid records")
	fs.IntVar(&k.partitions, "partitions", int(d.Partitions), "partitions of the topics when siyu creates them")
}

func (k *kafkaFlags) topics() kafka.Topics {
	t := kafka.DefaultTopics()
	t.Events, t.DeadLetter, t.Partitions = k.topic, k.dlq, int32(k.partitions)
	return t
}

// batchFlags tune the ingest pipeline.
type batchFlags struct {
	group    string
	maxRows  int
	maxBytes int
	maxWait  time.Duration
	session  time.Duration
	workers  int
}

func (b *batchFlags) bind(fs *flag.FlagSet) {
	d := ingest.DefaultConfig()
	fs.StringVar(&b.group, "group", d.Group, "Kafka consumer group of the ingest processes")
	fs.IntVar(&b.maxRows, "batch-max-rows", d.BatchMaxRows, "close a ClickHouse insert batch at this many events")
	fs.IntVar(&b.maxBytes, "batch-max-bytes", d.BatchMaxBytes, "close a batch at this much payload")
	fs.DurationVar(&b.maxWait, "batch-max-wait", d.BatchMaxWait, "close a batch this long after its first event")
	fs.IntVar(&b.workers, "insert-workers", d.InsertWorkers, "batches inserted into ClickHouse at once (offsets still commit in order)")
	fs.DurationVar(&b.session, "kafka-session-timeout", d.SessionTimeout, "how long the group waits for a crashed ingest process before reassigning its partitions")
}

func (b *batchFlags) config(brokers []string, topics kafka.Topics) ingest.Config {
	c := ingest.DefaultConfig()
	c.Brokers, c.Topics, c.Group = brokers, topics, b.group
	c.BatchMaxRows, c.BatchMaxBytes, c.BatchMaxWait = b.maxRows, b.maxBytes, b.maxWait
	c.SessionTimeout, c.InsertWorkers = b.session, b.workers
	return c
}

// readyFlags tune what /readyz calls not ready.
type readyFlags struct {
	stallAfter time.Duration
}

func (r *readyFlags) bind(fs *flag.FlagSet) {
	fs.DurationVar(&r.stallAfter, "ingest-stall-after", kafka.DefaultProgressConfig().StallAfter,
		"/readyz says not ready when the ingest group has committed nothing this long while events wait")
}

func (r readyFlags) progress() kafka.ProgressConfig {
	c := kafka.DefaultProgressConfig()
	c.StallAfter = r.stallAfter
	return c
}

// logFlags pick the log level and format.
type logFlags struct {
	level  string
	format string
}

func (l *logFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&l.level, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&l.format, "log-format", "text", "text or json")
}

func (l *logFlags) logger(w io.Writer) (*slog.Logger, error) {
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
func (s *storageFlags) resolveDSN() (string, error) {
	if s.dsn != "" {
		return s.dsn, nil
	}
	st, err := readRunState(s.dataDir)
	if err != nil {
		return "", fmt.Errorf("find ClickHouse: %w (flag --clickhouse-dsn)", err)
	}
	return st.ClickHouseDSN, nil
}

// resolveBrokers is --kafka-brokers, or the embedded broker of the data dir's run.
func (k *kafkaFlags) resolveBrokers(dataDir string) ([]string, error) {
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
