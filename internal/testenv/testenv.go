// Package testenv gives integration tests the real components: a ClickHouse
// server (SIYU_TEST_CLICKHOUSE=host:port when `make test` started one for
// the whole run, otherwise a private server per test process) with a fresh,
// migrated database per test, and an in-process Kafka-protocol broker.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/siyu-dev/siyu/store"
)

var (
	serverOnce sync.Once
	serverAddr string
	serverErr  error
	server     *store.Server
	serverDir  string
)

// Main wraps testing.M.Run so that a private ClickHouse server, if one was
// started, is stopped when the package's tests end.
func Main(m *testing.M) {
	code := m.Run()
	if server != nil {
		_ = server.Stop(10 * time.Second)
		_ = os.RemoveAll(serverDir)
	}
	os.Exit(code)
}

// ClickHouseAddr returns the address of the test ClickHouse server, starting
// a private one on first use.
func ClickHouseAddr(t testing.TB) string {
	t.Helper()
	serverOnce.Do(func() {
		if addr := os.Getenv("SIYU_TEST_CLICKHOUSE"); addr != "" {
			serverAddr = addr
			return
		}
		serverDir, serverErr = os.MkdirTemp("", "siyu-test-ch-")
		if serverErr != nil {
			return
		}
		// A free port can be taken by another test process between the
		// check and ClickHouse's bind: try fresh ports a few times.
		for attempt := 0; attempt < 5; attempt++ {
			cfg := store.ServerConfig{Dir: serverDir, TCPPort: FreePort(t), HTTPPort: FreePort(t)}
			server, serverErr = store.StartServer(context.Background(), cfg, Logger())
			if serverErr == nil {
				serverAddr = server.Addr()
				return
			}
		}
	})
	if serverErr != nil {
		t.Fatalf("start test ClickHouse: %v", serverErr)
	}
	return serverAddr
}

// Database creates a fresh database named after the test, migrated to the
// latest schema, and drops it when the test ends (unless it failed, so the
// data can be looked at). It returns the connection and the DSN.
func Database(t testing.TB) (driver.Conn, string) {
	t.Helper()
	ctx := context.Background()
	dsn := store.DSN(ClickHouseAddr(t), DatabaseName(t))
	conn, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	if _, err := store.Migrate(ctx, conn, Logger()); err != nil {
		t.Fatalf("migrate test database: %v", err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			_ = store.DropDatabase(ctx, conn, strings.TrimPrefix(dsn[strings.LastIndex(dsn, "/"):], "/"))
		}
		conn.Close()
	})
	return conn, dsn
}

// DatabaseName is a unique database name for t.
func DatabaseName(t testing.TB) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := strings.Map(func(r rune) rune {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return '_'
	}, t.Name())
	if len(name) > 40 {
		name = name[:40]
	}
	return "t_" + name + "_" + hex.EncodeToString(b[:])
}

// Kafka starts an in-process broker for t and returns its address.
func Kafka(t testing.TB, opts ...kfake.Opt) (*kfake.Cluster, string) {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.AllowAutoTopicCreation()}, opts...)...)
	if err != nil {
		t.Fatalf("start kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c, c.ListenAddrs()[0]
}

// FreePort returns a TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Logger is a quiet logger for tests; SIYU_TEST_LOG=1 makes it speak.
func Logger() *slog.Logger {
	var w io.Writer = io.Discard
	if os.Getenv("SIYU_TEST_LOG") != "" {
		w = os.Stderr
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Eventually polls cond until it returns nil or the limit passes.
func Eventually(t testing.TB, limit time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not true within %s: %v", limit, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Counter reads one series of a Prometheus counter from reg, failing the
// test when there is none.
func Counter(t testing.TB, reg prometheus.Gatherer, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no series %s{%s=%q}", name, label, value)
	return 0
}
