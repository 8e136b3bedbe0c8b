package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The binary's default topics (`siyu serve --help`): the foundation's
// figures use them, the other groups their own.
const (
	eventsTopic     = "siyu.events"
	deadLetterTopic = "siyu.events.dlq"
	topicPartitions = 6
	ingestGroup     = "siyu-ingest" // `siyu ingest`'s default consumer group
)

// env is the servers every figure shares: the embedded Kafka broker and a
// private ClickHouse, both started by `siyu run --servers-only` (so the
// harness needs no code of Siyu's to run them), and a producer client.
type env struct {
	dir      string
	logs     string // subprocess logs
	siyu     string
	servers  *child // siyu run --servers-only
	chPID    int    // of the ClickHouse server, for its CPU time; 0 if not found
	dsn      string // of the servers' own database; figures use others
	broker   string
	producer *kgo.Client
}

// startEnv starts Kafka and ClickHouse on free loopback ports with fresh
// data under cfg.dir, and creates the default topics.
func startEnv(ctx context.Context, cfg config, say func(string, ...any)) (*env, error) {
	e := &env{dir: cfg.dir, logs: filepath.Join(cfg.dir, "logs"), siyu: cfg.siyu}
	if err := e.freshDirs(); err != nil {
		return nil, err
	}
	if err := e.startServers(ctx, say); err != nil {
		e.close(say)
		return nil, err
	}
	if err := e.connectKafka(ctx); err != nil {
		e.close(say)
		return nil, err
	}
	return e, nil
}

// freshDirs removes the data of an earlier run: every run starts empty.
func (e *env) freshDirs() error {
	for _, sub := range []string{"siyu", "logs", "streams"} {
		p := filepath.Join(e.dir, sub)
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("clean %s: %w", p, err)
		}
		if err := os.MkdirAll(p, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", p, err)
		}
	}
	return nil
}

// startServers starts `siyu run --servers-only` and waits for the run
// state it records once both servers are up.
func (e *env) startServers(ctx context.Context, say func(string, ...any)) error {
	ports, err := freePorts(4)
	if err != nil {
		return err
	}
	data, err := filepath.Abs(filepath.Join(e.dir, "siyu"))
	if err != nil {
		return err
	}
	say("starting Kafka and ClickHouse with siyu run --servers-only (log: %s)", e.logFile("servers"))
	e.servers, err = startChild("siyu run --servers-only", e.logFile("servers"), e.siyu, "run", "--servers-only",
		"--data-dir", data, "--http-addr", loopback(ports[0]), "--kafka-addr", loopback(ports[1]),
		"--clickhouse-port", strconv.Itoa(ports[2]), "--clickhouse-http-port", strconv.Itoa(ports[3]))
	if err != nil {
		return err
	}
	st, err := waitRunState(ctx, data, e.servers, 3*time.Minute)
	if err != nil {
		return err
	}
	if len(st.KafkaBrokers) == 0 || st.ClickHouseDSN == "" {
		return fmt.Errorf("siyu run recorded no servers: %+v", st)
	}
	e.dsn, e.broker = st.ClickHouseDSN, st.KafkaBrokers[0]
	say("ClickHouse at %s, Kafka at %s", e.dsn, e.broker)
	if e.chPID, err = findServerPID(filepath.Join(data, "clickhouse")); err != nil {
		say("ClickHouse's CPU will not be reported: %v", err)
	}
	return nil
}

// runState is what `siyu run` records in its data dir (run.json).
type runState struct {
	ClickHouseDSN string   `json:"clickhouse_dsn"`
	KafkaBrokers  []string `json:"kafka_brokers"`
}

// waitRunState polls dir/run.json until it parses, c exits or limit passes.
func waitRunState(ctx context.Context, dir string, c *child, limit time.Duration) (runState, error) {
	var st runState
	deadline := time.Now().Add(limit)
	err := pollEvery(ctx, 200*time.Millisecond, func() (bool, error) {
		if err := c.exited(); err != nil {
			return false, err
		}
		b, err := os.ReadFile(filepath.Join(dir, "run.json"))
		if err == nil && json.Unmarshal(b, &st) == nil {
			return true, nil
		}
		if time.Now().After(deadline) {
			return false, fmt.Errorf("siyu run recorded no run state within %s; see %s", limit, c.log)
		}
		return false, nil
	})
	return st, err
}

// connectKafka opens the producer (the binary's producer settings) and
// creates the default topics.
func (e *env) connectKafka(ctx context.Context) error {
	var err error
	e.producer, err = kgo.NewClient(
		kgo.SeedBrokers(e.broker),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(2*time.Millisecond),
		kgo.ProducerBatchMaxBytes(1_048_588),
		kgo.MaxBufferedRecords(100_000),
		kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
	)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	return e.ensureTopics(ctx, eventsTopic, deadLetterTopic)
}

// ensureTopics creates the topics when missing.
func (e *env) ensureTopics(ctx context.Context, topics ...string) error {
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := kadm.NewClient(e.producer).CreateTopics(tctx, topicPartitions, -1, nil, topics...)
	if err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	for _, r := range resp.Sorted() {
		if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("create topic %s: %w", r.Topic, r.Err)
		}
	}
	return nil
}

// close stops what startEnv started.
func (e *env) close(say func(string, ...any)) {
	if e.producer != nil {
		e.producer.Close()
	}
	if e.servers != nil && e.servers.exited() == nil {
		say("stopping Kafka and ClickHouse")
		if err := e.servers.stop(30 * time.Second); err != nil {
			say("%v", err)
		}
	}
}

// dsnOf is the DSN of database name on the servers' ClickHouse.
func (e *env) dsnOf(name string) string { return withDatabase(e.dsn, name) }

// withDatabase replaces the database of a clickhouse:// DSN.
func withDatabase(dsn, name string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn
	}
	u.Path = "/" + name
	return u.String()
}

// database creates and migrates a fresh database with `siyu migrate up`
// and returns a connection to it, for the harness's own checks (row
// counts, merges), with its DSN.
func (e *env) database(ctx context.Context, name string) (driver.Conn, string, error) {
	dsn := e.dsnOf(name)
	if _, err := runChild(ctx, e.siyu, "migrate", "up", "--clickhouse-dsn", dsn, "--log-level", "warn"); err != nil {
		return nil, "", fmt.Errorf("migrate %s: %w", name, err)
	}
	conn, err := openClickHouse(ctx, dsn)
	if err != nil {
		return nil, "", err
	}
	return conn, dsn, nil
}

// openClickHouse connects to dsn.
func openClickHouse(ctx context.Context, dsn string) (driver.Conn, error) {
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse ClickHouse DSN %q: %w", dsn, err)
	}
	opts.DialTimeout, opts.ReadTimeout = 5*time.Second, 5*time.Minute
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("open ClickHouse: %w", err)
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("ping ClickHouse: %w", err)
	}
	return conn, nil
}

// dropDatabase drops a figure's database: its background merges would
// compete with the next figures.
func dropDatabase(ctx context.Context, conn driver.Conn, name string) error {
	if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// logFile is the path of a subprocess's log.
func (e *env) logFile(name string) string {
	return filepath.Join(e.logs, strings.ReplaceAll(name, " ", "-")+".log")
}

// freePorts returns n distinct loopback TCP ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	ports := make([]int, n)
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		lns = append(lns, ln)
		ports[i] = ln.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	p, err := freePorts(1)
	if err != nil {
		return 0, err
	}
	return p[0], nil
}

func loopback(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }
