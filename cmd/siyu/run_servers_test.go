package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/internal/testenv"
)

// TestRunServersOnly: `siyu run --servers-only` (the bench's servers) starts
// Kafka and a migrated ClickHouse, records them for the other commands,
// serves no API, and stops cleanly on Ctrl-C.
func TestRunServersOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the binary with ClickHouse and Kafka")
	}
	dataDir := t.TempDir()
	httpAddr := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	out := &testenv.LockedBuffer{}
	cmd := exec.Command(siyuBin, "run", "--servers-only", "--data-dir", dataDir, "--http-addr", httpAddr,
		"--kafka-addr", "127.0.0.1:"+strconv.Itoa(testenv.FreePort(t)),
		"--clickhouse-port", strconv.Itoa(testenv.FreePort(t)), "--clickhouse-http-port", strconv.Itoa(testenv.FreePort(t)))
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("siyu run output:\n%s", out.String())
		}
	})
	testenv.Eventually(t, 90*time.Second, func() error {
		if !strings.Contains(out.String(), "servers ready") {
			return fmt.Errorf("not ready yet")
		}
		return nil
	})
	key, err := exec.Command(siyuBin, "keys", "create", "--data-dir", dataDir, "--tenant", "acme", "--role", "admin").Output()
	require.NoError(t, err, "the recorded ClickHouse is migrated")
	require.NotEmpty(t, strings.TrimSpace(string(key)))
	_, err = http.Get("http://" + httpAddr + "/healthz")
	require.Error(t, err, "no API")

	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(60 * time.Second):
		t.Fatal("siyu run --servers-only did not stop within 60 s")
	}
}
