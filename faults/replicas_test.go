package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/internal/testenv"
	"github.com/siyu-dev/siyu/store"
)

// TestTwoServeReplicas: two `siyu serve` share one ClickHouse and one
// Kafka. Contested claims sent to both never grant a customer twice: one
// replica decides, the other refuses pool writes with 503 not_decider and
// says "standby" in /readyz. When the decider is killed with SIGKILL, the
// other takes over within the group's session timeout.
func TestTwoServeReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	ctx := context.Background()
	chCfg := store.ServerConfig{Dir: t.TempDir(), TCPPort: testenv.FreePort(t), HTTPPort: testenv.FreePort(t)}
	srv, err := store.StartServer(ctx, chCfg, testenv.Logger())
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop(10 * time.Second) })
	dsn := srv.DSN("siyu")
	_, broker := testenv.Kafka(t)
	out, err := execOutput(siyuBin, "migrate", "up", "--clickhouse-dsn", dsn)
	require.NoError(t, err, "%s", out)
	startProc(t, "siyu ingest", "ingest", "--clickhouse-dsn", dsn, "--kafka-brokers", broker,
		"--metrics-addr", "", "--batch-max-wait", "50ms", "--partitions", "3")
	replicas := make([]*site, 2)
	procs := make([]*proc, 2)
	for i := range replicas {
		replicas[i] = &site{t: t, http: "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t)), broker: broker, chPort: chCfg.TCPPort}
		procs[i] = startProc(t, fmt.Sprintf("siyu serve %d", i), "serve", "--clickhouse-dsn", dsn, "--kafka-brokers", broker,
			"--http-addr", replicas[i].http, "--partitions", "3")
	}
	for _, r := range replicas {
		r.waitReady(60 * time.Second)
	}
	key := func(role, staff string) string {
		args := []string{"keys", "create", "--clickhouse-dsn", dsn, "--tenant", "twin", "--role", role}
		if staff != "" {
			args = append(args, "--staff-id", staff)
		}
		b, err := exec.Command(siyuBin, args...).Output()
		require.NoError(t, err)
		return strings.TrimSpace(string(b))
	}
	admin, reps := key("admin", ""), []string{key("rep", "r0"), key("rep", "r1")}
	const customers = 20
	intoPool(t, replicas[0], admin, "twin", customers)

	// Which one decides: /readyz says.
	decider := -1
	testenv.Eventually(t, 30*time.Second, func() error {
		decider = -1
		for i, r := range replicas {
			_, body := r.readyz()
			if strings.Contains(body, `"pool":"decider"`) {
				decider = i
			}
		}
		if decider < 0 {
			return fmt.Errorf("no replica says it decides")
		}
		return nil
	})
	standby := 1 - decider
	_, body := replicas[standby].readyz()
	require.Contains(t, body, `"pool":"standby"`)

	// Contested: rep i claims every customer through replica i, at once.
	granted := map[string][]string{}
	statuses := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for c := range customers {
		for i := range replicas {
			wg.Add(1)
			go func() {
				defer wg.Done()
				code, b, _ := replicas[i].call("POST", "/v1/pool/claim", reps[i], "application/json",
					fmt.Appendf(nil, `{"customer_ids":["c%d"]}`, c))
				var res struct {
					Claimed []string `json:"claimed"`
					Error   struct {
						Code string `json:"code"`
					} `json:"error"`
				}
				if err := json.Unmarshal(b, &res); err != nil {
					t.Errorf("claim answer %d: %v: %s", code, err, b)
				}
				mu.Lock()
				defer mu.Unlock()
				statuses[code]++
				if i == standby && (code != 503 || res.Error.Code != "not_decider") {
					t.Errorf("the standby answered %d, want 503 not_decider: %s", code, b)
				}
				for _, g := range res.Claimed {
					granted[g] = append(granted[g], fmt.Sprintf("r%d", i))
				}
			}()
		}
	}
	wg.Wait()
	for c, by := range granted {
		require.Len(t, by, 1, "customer %s granted to %v", c, by)
	}
	figure(t, "replicas_contested_customers_granted_twice", 0)
	require.Equal(t, 2*customers, statuses[200]+statuses[503], "every claim is decided or refused: %v", statuses)

	// kill -9 of the decider: the standby takes over.
	procs[decider].kill()
	killed := time.Now()
	testenv.Eventually(t, 60*time.Second, func() error {
		code, b, _ := replicas[standby].call("POST", "/v1/customers/c0/release", admin, "application/json", []byte(`{}`))
		if code == 503 {
			return fmt.Errorf("not deciding yet: %s", b)
		}
		return nil
	})
	figure(t, "replicas_decider_killed_to_takeover", time.Since(killed).Round(10*time.Millisecond))
	_, body = replicas[standby].readyz()
	require.Contains(t, body, `"pool":"decider"`)
}
