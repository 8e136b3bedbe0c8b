package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/kafka"
	"github.com/siyu-dev/siyu/store"
)

// env is the servers every figure shares: a private ClickHouse and the
// embedded Kafka broker, with a producer client.
type env struct {
	dir      string
	logs     string // subprocess logs
	ch       *store.Server
	chPID    int // of the ClickHouse server, for its CPU time; 0 if not found
	kafka    *kafka.Embedded
	broker   string
	topics   kafka.Topics
	producer *kgo.Client
	log      *slog.Logger
}

// startEnv starts ClickHouse and Kafka on free loopback ports with fresh
// data under cfg.dir, and creates the topics.
func startEnv(ctx context.Context, cfg config, say func(string, ...any)) (*env, error) {
	e := &env{dir: cfg.dir, logs: filepath.Join(cfg.dir, "logs"), topics: kafka.DefaultTopics(),
		log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if err := e.freshDirs(); err != nil {
		return nil, err
	}
	if err := e.startClickHouse(ctx, say); err != nil {
		return nil, err
	}
	if err := e.startKafka(ctx, say); err != nil {
		e.close(say)
		return nil, err
	}
	return e, nil
}

// freshDirs removes the data of an earlier run: every run starts empty.
func (e *env) freshDirs() error {
	for _, sub := range []string{"clickhouse", "kafka", "logs"} {
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

func (e *env) startClickHouse(ctx context.Context, say func(string, ...any)) error {
	tcp, err := freePort()
	if err != nil {
		return err
	}
	httpPort, err := freePort()
	if err != nil {
		return err
	}
	say("starting ClickHouse on 127.0.0.1:%d", tcp)
	e.ch, err = store.StartServer(ctx, store.ServerConfig{
		Dir: filepath.Join(e.dir, "clickhouse"), TCPPort: tcp, HTTPPort: httpPort, Binary: clickHouseBinary(),
	}, e.log)
	if err != nil {
		return fmt.Errorf("start ClickHouse: %w", err)
	}
	if e.chPID, err = findServerPID(filepath.Join(e.dir, "clickhouse")); err != nil {
		say("ClickHouse's CPU will not be reported: %v", err)
	}
	return nil
}

// clickHouseBinary finds clickhouse-server also when /usr/sbin is not on
// PATH (as under `go run`); empty lets store look it up.
func clickHouseBinary() string {
	if _, err := exec.LookPath("clickhouse-server"); err == nil {
		return ""
	}
	if _, err := os.Stat("/usr/sbin/clickhouse-server"); err == nil {
		return "/usr/sbin/clickhouse-server"
	}
	return ""
}

func (e *env) startKafka(ctx context.Context, say func(string, ...any)) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	say("starting the embedded Kafka broker on %s", addr)
	e.kafka, err = kafka.StartEmbedded(addr, filepath.Join(e.dir, "kafka"), e.topics.Partitions)
	if err != nil {
		return err
	}
	e.broker = e.kafka.Addrs()[0]
	e.producer, err = kgo.NewClient(kafka.ProducerOpts([]string{e.broker})...)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := kafka.EnsureTopics(tctx, e.producer, e.topics); err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	return nil
}

// close stops what startEnv started, Kafka first.
func (e *env) close(say func(string, ...any)) {
	if e.producer != nil {
		e.producer.Close()
	}
	if e.kafka != nil {
		e.kafka.Close()
	}
	if e.ch != nil {
		say("stopping ClickHouse")
		if err := e.ch.Stop(15 * time.Second); err != nil {
			say("%v", err)
		}
	}
}

// database opens a fresh, migrated database and returns it with its DSN.
func (e *env) database(ctx context.Context, name string) (driver.Conn, string, error) {
	dsn := e.ch.DSN(name)
	conn, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, "", err
	}
	if _, err := store.Migrate(ctx, conn, e.log); err != nil {
		conn.Close()
		return nil, "", fmt.Errorf("migrate %s: %w", name, err)
	}
	return conn, dsn, nil
}

// logFile is the path of a subprocess's log.
func (e *env) logFile(name string) string { return filepath.Join(e.logs, name+".log") }

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
