package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/internal/testenv"
)

// TestRunSurvivesClickHouseKill is issue 13's hang: `siyu run` whose
// ClickHouse child is SIGKILLed restarts it on the same address, and the
// API and pipeline carry on: a event posted afterwards is stored. Ctrl-C
// still stops everything.
func TestRunSurvivesClickHouseKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the binary with ClickHouse and Kafka")
	}
	dataDir := t.TempDir()
	p := startRun(t, dataDir, testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t))
	key := p.siyu(t, "keys", "create", "--data-dir", dataDir, "--tenant", "acme", "--role", "admin")

	pid := clickHousePid(t, dataDir)
	killed := time.Now()
	require.NoError(t, syscall.Kill(-pid, syscall.SIGKILL))

	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	added := fmt.Sprintf(`{"specversion":"1.0","id":"k1","source":"e2e","type":"contact.added","time":%q,"tenant":"acme","subject":"c9","data":{"staff_id":"s1","name":"韩梅梅"}}`,
		at.Format(time.RFC3339))
	batch := []byte("[" + added + "," + chatEvent("k2", "acme", "c9", "in", at.Add(time.Minute)) + "]")
	testenv.Eventually(t, 30*time.Second, func() error {
		if err := p.exited(); err != nil {
			return err
		}
		if status, body := p.do(t, "POST", "/v1/events", key, batch); status != http.StatusOK {
			return fmt.Errorf("post events: %d %s", status, body)
		}
		return nil
	})
	testenv.Eventually(t, 30*time.Second, func() error {
		status, body := p.do(t, "GET", "/v1/customers/c9", key, nil)
		if status != http.StatusOK {
			return fmt.Errorf("get customer: %d %s", status, body)
		}
		var pr struct {
			Chat struct {
				In int `json:"messages_in"`
			} `json:"chat"`
		}
		if err := json.Unmarshal(body, &pr); err != nil || pr.Chat.In != 1 {
			return fmt.Errorf("want one message in (err %v): %s", err, body)
		}
		return nil
	})
	t.Logf("ClickHouse killed → event posted and stored in %.1f s", time.Since(killed).Seconds())
	require.Contains(t, p.output(), "clickhouse restarted")
	require.NotEqual(t, pid, clickHousePid(t, dataDir), "a new ClickHouse process")
	healthz, err := http.Get("http://" + p.http + "/healthz")
	require.NoError(t, err)
	healthz.Body.Close()
	require.Equal(t, http.StatusOK, healthz.StatusCode)

	p.stop(t)
	requireNoChild(t, dataDir)
}

// exited reports the process's exit, if it has exited.
func (p *runProc) exited() error {
	select {
	case err := <-p.done:
		p.done <- err
		return fmt.Errorf("siyu run exited: %v\n%s", err, p.output())
	default:
		return nil
	}
}

// clickHousePid is the pid of the ClickHouse server under dataDir.
func clickHousePid(t *testing.T, dataDir string) int {
	t.Helper()
	out, err := exec.Command("pgrep", "-f", filepath.Join(dataDir, "clickhouse", "config")).Output()
	require.NoError(t, err, "pgrep clickhouse")
	pids := strings.Fields(string(bytes.TrimSpace(out)))
	require.Len(t, pids, 1, "one ClickHouse under %s", dataDir)
	pid, err := strconv.Atoi(pids[0])
	require.NoError(t, err)
	return pid
}
