package faults

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/internal/testenv"
	"github.com/siyu-dev/siyu/store"
)

// TestKillUnderRun kills -9 the ClickHouse child of `siyu run`, then
// `siyu run` itself, while two tenants' events flow.
func TestKillUnderRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	s := startRun(t)
	conn := s.clickhouse()
	flow := startStream(t, s.broker, 200, "k1-", "kill-a", "kill-b")
	time.Sleep(2 * time.Second)

	// kill -9 of ClickHouse: readiness says so, ingest resumes by itself.
	pid := clickhousePID(t, s.dataDir)
	killGroup(t, pid)
	killed := time.Now()
	cl := producer(t, s.broker)
	produce(t, cl, "kill-a/marker", chat("marker-1", "kill-a", "marker", time.Now().Add(-time.Minute)))
	waitNotReady(t, s.http, 30*time.Second)
	figure(t, "run_clickhouse_killed_to_readyz_unready", time.Since(killed).Round(10*time.Millisecond))
	waitEvent(t, conn, "kill-a", "marker-1", 120*time.Second)
	figure(t, "run_clickhouse_killed_to_ingest_resumed", time.Since(killed).Round(10*time.Millisecond))
	s.waitReady(60 * time.Second)
	figure(t, "run_clickhouse_killed_to_ready", time.Since(killed).Round(10*time.Millisecond))
	if pid2 := clickhousePID(t, s.dataDir); pid2 == pid {
		t.Fatalf("ClickHouse pid %d did not change", pid)
	}
	time.Sleep(time.Second)

	// kill -9 of the whole `siyu run` mid-stream: a restart on the same data
	// dir stores every acknowledged event once.
	require.NoError(t, s.run.cmd.Process.Signal(syscall.SIGKILL))
	if _, ok := s.run.waitExit(10 * time.Second); !ok {
		t.Fatal("siyu run did not die on SIGKILL")
	}
	requireNoServer(t, s.dataDir)
	flow.halt()
	restarted := time.Now()
	s.run = startProc(t, "siyu run (again)", s.runArgs()...)
	s.waitReady(120 * time.Second)
	figure(t, "run_killed_to_ready_again", time.Since(restarted).Round(10*time.Millisecond))
	conn = s.clickhouse()
	flow.requireExact(t, conn, 90*time.Second)
	again := startStream(t, s.broker, 200, "k2-", "kill-a", "kill-b")
	time.Sleep(time.Second)
	again.requireExact(t, conn, 60*time.Second)

	// Ctrl-C still stops everything.
	require.NoError(t, s.run.cmd.Process.Signal(os.Interrupt))
	err, ok := s.run.waitExit(45 * time.Second)
	require.True(t, ok, "siyu run did not stop within 45 s of Ctrl-C")
	require.NoError(t, err)
	requireNoServer(t, s.dataDir)
}

// TestClickHouseDiesForGood: a ClickHouse child that cannot come back makes
// `siyu run` exit non-zero with a message, never hang.
func TestClickHouseDiesForGood(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	s := startRun(t)
	// Each time it comes back, kill it again, until siyu run gives up.
	start := time.Now()
	deadline := start.Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		if _, ok := s.run.exited(); ok {
			break
		}
		if pid := findClickHouse(s.dataDir); pid > 0 {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
	err, ok := s.run.waitExit(30 * time.Second)
	require.True(t, ok, "siyu run still running %s after its ClickHouse kept dying", time.Since(start))
	require.Error(t, err, "siyu run must exit non-zero")
	require.Contains(t, s.run.out.String(), "clickhouse", "the exit message names what died")
	figure(t, "run_clickhouse_dying_to_exit", time.Since(start).Round(10*time.Millisecond))
	requireNoServer(t, s.dataDir)
	if c, err := net.DialTimeout("tcp", s.broker, time.Second); err == nil {
		c.Close()
		t.Fatalf("the Kafka port %s is still bound after siyu run exited", s.broker)
	}
}

func findClickHouse(dataDir string) int {
	out, _ := execOutput("pgrep", "-f", "--", dataDir+"/clickhouse/config")
	for _, f := range splitFields(out) {
		if pid, err := strconv.Atoi(f); err == nil {
			return pid
		}
	}
	return 0
}

// requireNoServer checks that no ClickHouse server of dataDir is left.
func requireNoServer(t *testing.T, dataDir string) {
	t.Helper()
	testenv.Eventually(t, 15*time.Second, func() error {
		if pid := findClickHouse(dataDir); pid > 0 {
			return fmt.Errorf("clickhouse of %s still running: pid %d", dataDir, pid)
		}
		return nil
	})
}

// waitNotReady waits until /readyz at addr stops answering 200.
func waitNotReady(t *testing.T, addr string, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	testenv.Eventually(t, limit, func() error {
		if code, body := readyzAt(addr); code == 200 {
			return fmt.Errorf("still ready: %s", body)
		}
		return nil
	})
	return time.Since(start)
}

// TestKillUnderIngest runs `siyu ingest` and `siyu serve` against a
// ClickHouse server and a Kafka broker the test owns: an ingest process that
// stops answering makes serve's /readyz say ingest is stalled; kill -9 of
// ClickHouse, then of ingest, lose and double nothing.
func TestKillUnderIngest(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	ctx := context.Background()
	chDir := t.TempDir()
	chCfg := store.ServerConfig{Dir: chDir, TCPPort: testenv.FreePort(t), HTTPPort: testenv.FreePort(t)}
	srv, err := store.StartServer(ctx, chCfg, testenv.Logger())
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop(10 * time.Second) })
	dsn := srv.DSN("siyu")
	_, broker := testenv.Kafka(t)
	out, err := execOutput(siyuBin, "migrate", "up", "--clickhouse-dsn", dsn)
	require.NoError(t, err, "%s", out)

	metricsAddr := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	ingestArgs := []string{"ingest", "--clickhouse-dsn", dsn, "--kafka-brokers", broker, "--metrics-addr", metricsAddr,
		"--batch-max-wait", "50ms", "--partitions", "3", "--ingest-stall-after", "4s"}
	ing := startProc(t, "siyu ingest", ingestArgs...)
	s := &site{t: t, http: "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t)), broker: broker, chPort: chCfg.TCPPort}
	startProc(t, "siyu serve", "serve", "--clickhouse-dsn", dsn, "--kafka-brokers", broker, "--http-addr", s.http,
		"--partitions", "3", "--ingest-stall-after", "4s")
	s.waitReady(60 * time.Second)
	waitReadyAt(t, metricsAddr, 30*time.Second)
	conn := s.clickhouse()
	flow := startStream(t, broker, 200, "i1-", "ing-a", "ing-b")
	time.Sleep(2 * time.Second)

	// An ingest process that stops answering: serve says ingest is stalled.
	require.NoError(t, ing.cmd.Process.Signal(syscall.SIGSTOP))
	stopped := time.Now()
	waitNotReady(t, s.http, 30*time.Second)
	figure(t, "ingest_stopped_to_serve_readyz_stalled", time.Since(stopped).Round(10*time.Millisecond))
	_, body := s.readyz()
	require.Contains(t, body, "ingest", "the reason names ingest: %s", body)
	require.NoError(t, ing.cmd.Process.Signal(syscall.SIGCONT))
	s.waitReady(30 * time.Second)

	// kill -9 of ClickHouse: both processes say not ready; once it is back,
	// ingest resumes by itself.
	pid := findServerPID(t, chDir)
	killGroup(t, pid)
	killed := time.Now()
	produce(t, producer(t, broker), "ing-a/marker", chat("marker-1", "ing-a", "marker", time.Now().Add(-time.Minute)))
	waitNotReady(t, s.http, 30*time.Second)
	waitNotReady(t, metricsAddr, 30*time.Second)
	figure(t, "ingest_clickhouse_killed_to_both_unready", time.Since(killed).Round(10*time.Millisecond))
	time.Sleep(2 * time.Second) // down for a while
	srv2, err := store.StartServer(ctx, chCfg, testenv.Logger())
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv2.Stop(10 * time.Second) })
	back := time.Now()
	waitEvent(t, conn, "ing-a", "marker-1", 120*time.Second)
	figure(t, "ingest_clickhouse_back_to_ingest_resumed", time.Since(back).Round(10*time.Millisecond))
	s.waitReady(60 * time.Second)
	waitReadyAt(t, metricsAddr, 60*time.Second)

	// kill -9 of ingest mid-stream, then a new one.
	ing.kill()
	time.Sleep(time.Second)
	ing.start()
	flow.requireExact(t, conn, 120*time.Second)
	if _, ok := ing.exited(); ok {
		t.Fatalf("siyu ingest exited:\n%s", lastBytes(ing.out.String(), 3000))
	}
}

func waitReadyAt(t *testing.T, addr string, limit time.Duration) {
	t.Helper()
	testenv.Eventually(t, limit, func() error {
		if code, body := readyzAt(addr); code != 200 {
			return fmt.Errorf("readyz of %s: %d %s", addr, code, body)
		}
		return nil
	})
}

// findServerPID is the pid of the ClickHouse server whose data dir is dir.
func findServerPID(t *testing.T, dir string) int {
	t.Helper()
	var pid int
	testenv.Eventually(t, 10*time.Second, func() error {
		out, _ := execOutput("pgrep", "-f", "--", dir+"/config")
		for _, f := range splitFields(out) {
			if p, err := strconv.Atoi(f); err == nil {
				pid = p
				return nil
			}
		}
		return fmt.Errorf("no clickhouse server of %s", dir)
	})
	return pid
}
