package store_test

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/internal/testenv"
	"github.com/siyu-dev/siyu/store"
)

// startServer starts a private ClickHouse server for t alone, on fresh ports
// (another process may take a free port first: try a few), and stops it when
// t ends.
func startServer(t *testing.T) *store.Server {
	t.Helper()
	dir := t.TempDir()
	var err error
	for range 5 {
		var srv *store.Server
		cfg := store.ServerConfig{Dir: dir, TCPPort: testenv.FreePort(t), HTTPPort: testenv.FreePort(t)}
		if srv, err = store.StartServer(context.Background(), cfg, testenv.Logger()); err == nil {
			t.Cleanup(func() { _ = srv.Stop(5 * time.Second) })
			return srv
		}
	}
	t.Fatalf("start ClickHouse: %v", err)
	return nil
}

// kill SIGKILLs the server's process group, the way the OOM killer or a
// stray `kill -9` would.
func kill(t *testing.T, srv *store.Server) {
	t.Helper()
	require.NoError(t, syscall.Kill(-srv.Pid(), syscall.SIGKILL))
}

// within fails t unless ch yields within limit.
func within[T any](t *testing.T, limit time.Duration, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(limit):
		t.Fatalf("%s: not within %s", what, limit)
		var zero T
		return zero
	}
}

// stopAsync runs stop in the background, so a hanging Stop fails the test
// instead of hanging it.
func stopAsync(stop func(time.Duration) error) <-chan error {
	done := make(chan error, 1)
	go func() { done <- stop(15 * time.Second) }()
	return done
}

// TestServerStopAfterItDied is issue 13's hang: the exit is recorded once,
// every watcher sees it, and Stop on a dead server returns at once.
func TestServerStopAfterItDied(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ClickHouse servers")
	}
	srv := startServer(t)
	kill(t, srv)
	for range 3 { // any number of watchers, any number of times
		within(t, 10*time.Second, srv.Done(), "Done after SIGKILL")
	}
	var exit *exec.ExitError
	require.ErrorAs(t, srv.Err(), &exit)
	require.Contains(t, srv.Err().Error(), "killed")

	start := time.Now()
	require.NoError(t, within(t, 2*time.Second, stopAsync(srv.Stop), "Stop of a dead server"))
	require.NoError(t, within(t, 2*time.Second, stopAsync(srv.Stop), "Stop again"))
	require.Less(t, time.Since(start), time.Second)
}

// TestServerStopWatchers: a clean Stop is seen by every watcher of Done, and
// a clean exit has no error.
func TestServerStopWatchers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ClickHouse servers")
	}
	srv := startServer(t)
	require.NoError(t, srv.Err(), "no exit status while it runs")
	seen := make(chan struct{}, 3)
	for range cap(seen) {
		go func() { <-srv.Done(); seen <- struct{}{} }()
	}
	require.NoError(t, within(t, 20*time.Second, stopAsync(srv.Stop), "Stop"))
	for range cap(seen) {
		within(t, time.Second, seen, "a watcher of Done")
	}
	require.NoError(t, srv.Err())
}

// TestSupervisorRestartsKilledServer: a killed server comes back on the same
// address and the same client connection answers again.
func TestSupervisorRestartsKilledServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ClickHouse servers")
	}
	srv := startServer(t)
	sup, err := store.NewSupervisor(srv, store.DefaultRestartPolicy(), testenv.Logger())
	require.NoError(t, err)
	ran := make(chan error, 1)
	go func() { ran <- sup.Run(context.Background()) }()
	t.Cleanup(func() { _ = sup.Stop(5 * time.Second) })
	ctx := context.Background()
	conn, err := store.Open(ctx, srv.DSN("default"))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })

	killed := time.Now()
	kill(t, srv)
	testenv.Eventually(t, 60*time.Second, func() error {
		qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		return conn.Exec(qctx, "SELECT 1")
	})
	t.Logf("ClickHouse killed → answering again in %.1f s", time.Since(killed).Seconds())
	testenv.Eventually(t, 5*time.Second, func() error { // it answers a moment before StartServer's poll sees it
		if sup.Server() == srv {
			return errors.New("the supervisor still holds the dead server")
		}
		return nil
	})
	now := sup.Server()
	require.NotEqual(t, srv.Pid(), now.Pid(), "a new process")
	require.Equal(t, srv.Addr(), now.Addr(), "on the same address")

	conn.Close() // or the server waits for it on the way out
	require.NoError(t, within(t, 20*time.Second, stopAsync(sup.Stop), "Stop"))
	require.NoError(t, within(t, 5*time.Second, ran, "Run after Stop"))
	within(t, time.Second, now.Done(), "the restarted server's exit")
}

// TestSupervisorGivesUp: a server that keeps dying, or cannot be started
// again, ends Run with an error that says what died and where its log is.
func TestSupervisorGivesUp(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ClickHouse servers")
	}
	t.Run("keeps dying", func(t *testing.T) {
		srv := startServer(t)
		policy := store.RestartPolicy{Backoff: 50 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, MaxRestarts: 2, Window: time.Minute}
		sup, err := store.NewSupervisor(srv, policy, testenv.Logger())
		require.NoError(t, err)
		t.Cleanup(func() { _ = sup.Stop(5 * time.Second) })
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go killEachRun(ctx, sup)
		start := time.Now()
		ran := make(chan error, 1)
		go func() { ran <- sup.Run(ctx) }()
		err = within(t, 90*time.Second, ran, "Run giving up")
		t.Logf("gave up after %.1f s: %v", time.Since(start).Seconds(), err)
		require.ErrorIs(t, err, store.ErrGaveUp)
		require.ErrorContains(t, err, "died 3 times")
		require.ErrorContains(t, err, srv.ErrorLog())
		within(t, time.Second, sup.Server().Done(), "the last server's exit")
		require.NoError(t, within(t, 2*time.Second, stopAsync(sup.Stop), "Stop after giving up"))
	})
	t.Run("restart fails", func(t *testing.T) {
		srv := startServer(t)
		policy := store.RestartPolicy{Backoff: 500 * time.Millisecond, MaxBackoff: time.Second, MaxRestarts: 5, Window: time.Minute}
		sup, err := store.NewSupervisor(srv, policy, testenv.Logger())
		require.NoError(t, err)
		t.Cleanup(func() { _ = sup.Stop(5 * time.Second) })
		ran := make(chan error, 1)
		go func() { ran <- sup.Run(context.Background()) }()
		kill(t, srv)
		within(t, 10*time.Second, srv.Done(), "Done after SIGKILL")
		ln, err := net.Listen("tcp", srv.Addr()) // someone else took its port
		require.NoError(t, err)
		defer ln.Close()
		err = within(t, 10*time.Second, ran, "Run giving up")
		require.ErrorContains(t, err, "could not be started again")
		require.ErrorContains(t, err, "is taken")
		require.False(t, errors.Is(err, store.ErrGaveUp))
	})
}

// killEachRun SIGKILLs each new run of sup's server once it answers.
func killEachRun(ctx context.Context, sup *store.Supervisor) {
	killed := map[int]bool{}
	for ctx.Err() == nil {
		if srv := sup.Server(); !killed[srv.Pid()] {
			killed[srv.Pid()] = true
			_ = syscall.Kill(-srv.Pid(), syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRestartPolicyValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy store.RestartPolicy
		ok     bool
	}{
		{"default", store.DefaultRestartPolicy(), true},
		{"no backoff", store.RestartPolicy{MaxBackoff: time.Second, Window: time.Minute}, false},
		{"max below first", store.RestartPolicy{Backoff: 2 * time.Second, MaxBackoff: time.Second, Window: time.Minute}, false},
		{"negative restarts", store.RestartPolicy{Backoff: time.Second, MaxBackoff: time.Second, MaxRestarts: -1, Window: time.Minute}, false},
		{"no window", store.RestartPolicy{Backoff: time.Second, MaxBackoff: time.Second}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.policy.Validate(); tc.ok {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
		})
	}
}
