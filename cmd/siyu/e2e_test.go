package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/siyu-dev/siyu/internal/reporting"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/internal/testenv"
	"github.com/siyu-dev/siyu/loadgen"
)

// siyuBin is the binary under test, built once by TestMain.
var siyuBin string

func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Short() {
		dir, err := os.MkdirTemp("", "siyu-bin-")
		if err != nil {
			panic(err)
		}
		siyuBin = filepath.Join(dir, "siyu")
		args := append(append([]string{"build"}, raceBuild...), "-o", siyuBin, ".")
		out, err := exec.Command("go", args...).CombinedOutput()
		if err != nil {
			panic(fmt.Sprintf("build siyu: %v\n%s", err, out))
		}
		defer os.RemoveAll(dir)
	}
	testenv.Main(m)
}

// runProc is a `siyu run` child process.
type runProc struct {
	cmd     *exec.Cmd
	out     *testenv.LockedBuffer
	dataDir string
	http    string
	kafka   string
	done    chan error
}

func startRun(t *testing.T, dataDir string, httpPort, kafkaPort, chPort, chHTTPPort int, extra ...string) *runProc {
	t.Helper()
	p := &runProc{out: &testenv.LockedBuffer{}, dataDir: dataDir, done: make(chan error, 1),
		http: "127.0.0.1:" + strconv.Itoa(httpPort), kafka: "127.0.0.1:" + strconv.Itoa(kafkaPort)}
	args := []string{"run", "--data-dir", dataDir, "--http-addr", p.http, "--kafka-addr", p.kafka,
		"--clickhouse-port", strconv.Itoa(chPort), "--clickhouse-http-port", strconv.Itoa(chHTTPPort),
		"--batch-max-wait", "50ms", "--partitions", "3"}
	p.cmd = exec.Command(siyuBin, append(args, extra...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	require.NoError(t, p.cmd.Start())
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("siyu run output:\n%s", p.out.String())
		}
	})
	testenv.Eventually(t, 90*time.Second, func() error {
		select {
		case err := <-p.done:
			p.done <- err
			return fmt.Errorf("siyu run exited: %v\n%s", err, p.out.String())
		default:
		}
		resp, err := http.Get("http://" + p.http + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("readyz %d", resp.StatusCode)
		}
		return nil
	})
	return p
}

func (p *runProc) output() string { return p.out.String() }

// stop sends Ctrl-C and waits for a clean exit.
func (p *runProc) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(os.Interrupt))
	select {
	case err := <-p.done:
		require.NoError(t, err, "siyu run should exit 0 on Ctrl-C:\n%s", p.out.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("siyu run did not stop within 30 s")
	}
}

func (p *runProc) siyu(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(siyuBin, args...).Output()
	require.NoError(t, err, "siyu %v", args)
	return strings.TrimSpace(string(out))
}

func (p *runProc) do(t *testing.T, method, path, key string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+p.http+path, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/cloudevents-batch+json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func chatEvent(id, tenant, contact, dir string, at time.Time) string {
	return fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"e2e","type":"chat.message","time":%q,"tenant":%q,"subject":%q,"data":{"staff_id":"s1","direction":%q}}`,
		id, at.Format(time.RFC3339), tenant, contact, dir)
}

func TestRunEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the binary with ClickHouse and Kafka")
	}
	dataDir := t.TempDir()
	httpPort, kafkaPort, chPort, chHTTPPort := testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)
	t.Setenv("SIYU_GRAFANA_CLICKHOUSE_PASSWORD", "grafana-pw") // siyu run adds and grants the grafana user
	p := startRun(t, dataDir, httpPort, kafkaPort, chPort, chHTTPPort)
	key := p.siyu(t, "keys", "create", "--data-dir", dataDir, "--tenant", "acme", "--role", "admin")
	require.True(t, strings.HasPrefix(key, "siyu_"), key)
	at := time.Now().Add(-time.Hour).Truncate(time.Second)

	// In through HTTP: a contact and one message.
	added := fmt.Sprintf(`{"specversion":"1.0","id":"a1","source":"e2e","type":"contact.added","time":%q,"tenant":"acme","subject":"c1","data":{"staff_id":"s1","name":"李雷","unionid":"u-1"}}`,
		at.Format(time.RFC3339))
	status, body := p.do(t, "POST", "/v1/events", key, []byte("["+added+","+chatEvent("m1", "acme", "c1", "in", at.Add(time.Minute))+"]"))
	require.Equal(t, 200, status, string(body))

	// In through a plain Kafka producer: kcat when installed, else franz-go.
	lines := []string{
		chatEvent("m2", "acme", "c1", "out", at.Add(2*time.Minute)),
		chatEvent("m1", "acme", "c1", "in", at.Add(time.Minute)), // a redelivery
		`{"specversion":"1.0","id":"bad","type":"chat.message"}`,
	}
	producePlain(t, p.kafka, "siyu.events", "acme/c1", lines)

	var pr struct {
		Name string `json:"name"`
		Chat struct {
			In  int `json:"messages_in"`
			Out int `json:"messages_out"`
		} `json:"chat"`
		Relations []struct {
			StaffID string `json:"staff_id"`
		} `json:"relations"`
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		status, body := p.do(t, "GET", "/v1/customers/c1", key, nil)
		if status != 200 {
			return fmt.Errorf("status %d: %s", status, body)
		}
		if err := json.Unmarshal(body, &pr); err != nil {
			return err
		}
		// The views on events are filled one after another within an
		// insert: a read may see the messages before the relation.
		if pr.Chat.Out != 1 || len(pr.Relations) != 1 {
			return fmt.Errorf("messages_out %d, relations %d, want 1 and 1: %s", pr.Chat.Out, len(pr.Relations), body)
		}
		return nil
	})
	require.Equal(t, "李雷", pr.Name)
	require.Equal(t, 1, pr.Chat.In, "the redelivered message counts once")
	require.Len(t, pr.Relations, 1)
	requireGrafanaReadsRollupsOnly(t, chPort)

	dead := testenv.Consume(t, p.kafka, "siyu.events.dlq", 1, 15*time.Second, nil)
	require.Len(t, dead, 1)
	require.Equal(t, "source", testenv.Header(dead[0], "siyu-error-field"))

	// Ctrl-C stops everything, the ClickHouse child included; a restart keeps the data.
	p.stop(t)
	requireNoChild(t, dataDir)
	p = startRun(t, dataDir, httpPort, kafkaPort, chPort, chHTTPPort)
	status, body = p.do(t, "GET", "/v1/customers/c1", key, nil)
	require.Equal(t, 200, status, string(body))
	require.Contains(t, string(body), "李雷")
	p.stop(t)
}

// producePlain writes records the way any producer would: kcat when it is
// installed, franz-go otherwise.
func producePlain(t *testing.T, broker, topic, key string, values []string) {
	t.Helper()
	if kcat, err := exec.LookPath("kcat"); err == nil {
		var in bytes.Buffer
		for _, v := range values {
			in.WriteString(key + "\t" + v + "\n")
		}
		cmd := exec.Command(kcat, "-b", broker, "-t", topic, "-P", "-K", "\t")
		cmd.Stdin = &in
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "kcat: %s", out)
		return
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker))
	require.NoError(t, err)
	defer cl.Close()
	for _, v := range values {
		require.NoError(t, cl.ProduceSync(context.Background(), &kgo.Record{Topic: topic, Key: []byte(key), Value: []byte(v)}).FirstErr())
	}
}

// requireNoChild checks that no ClickHouse server of dataDir outlived siyu run.
func requireNoChild(t *testing.T, dataDir string) {
	t.Helper()
	testenv.Eventually(t, 10*time.Second, func() error {
		out, _ := exec.Command("pgrep", "-f", filepath.Join(dataDir, "clickhouse")).Output()
		if len(bytes.TrimSpace(out)) > 0 {
			return fmt.Errorf("clickhouse still running: pid %s", out)
		}
		return nil
	})
}

// TestRunDemo is `make run` on a new data dir: the demo tenant loads, and
// both printed keys work, the rep's on the customer the banner shows.
func TestRunDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the binary with ClickHouse and Kafka")
	}
	dataDir := t.TempDir()
	p := startRun(t, dataDir, testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t),
		"--demo", "--demo-events", "8000")
	b, err := os.ReadFile(filepath.Join(dataDir, demoFile))
	require.NoError(t, err)
	var d demoInfo
	require.NoError(t, json.Unmarshal(b, &d))
	for _, key := range []string{d.AdminKey, d.RepKey} {
		testenv.Eventually(t, 30*time.Second, func() error {
			if status, body := p.do(t, "GET", "/v1/customers/"+d.ContactID, key, nil); status != 200 {
				return fmt.Errorf("status %d: %s", status, body)
			}
			return nil
		})
	}
	// The billing CLI on the demo: a closed month exports the same bytes twice.
	period := time.Now().In(reporting.Zone).AddDate(0, -1, 0).Format("2006-01")
	first, second := filepath.Join(dataDir, "usage1.csv"), filepath.Join(dataDir, "usage2.csv")
	for _, out := range []string{first, second} {
		p.siyu(t, "billing", "export", "--data-dir", dataDir, "--period", period, "--out", out)
	}
	a, err := os.ReadFile(first)
	require.NoError(t, err)
	b2, err := os.ReadFile(second)
	require.NoError(t, err)
	require.Equal(t, string(a), string(b2), "a closed period exports byte for byte the same")
	require.Contains(t, string(a), "demo:"+period+":peak_contacts")
	require.Contains(t, p.siyu(t, "migrate", "status", "--data-dir", dataDir), "0001")

	testenv.Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(p.output(), d.RepKey) {
			return fmt.Errorf("the banner does not show the rep key yet")
		}
		return nil
	})
	p.stop(t)
}

func TestDemoRepHoldsCustomers(t *testing.T) {
	for _, events := range []int{2_000, 8_000, 50_000, 200_000} {
		t.Run(strconv.Itoa(events), func(t *testing.T) {
			cfg := loadgen.Config{Seed: 7, TenantNames: []string{"demo"}, StaffPerTenant: 20,
				ContactsPerTenant: max(events/25, 10), Events: events, Days: 30, PaidShare: 1,
				Start: time.Now().Add(-30 * 24 * time.Hour)}
			team, err := demoReps(cfg)
			require.NoError(t, err)
			require.GreaterOrEqual(t, len(team.staff), 2)
			require.NotEmpty(t, team.first[0], "the first rep holds a customer")
			require.NotEmpty(t, team.first[1], "the second rep holds a customer the first does not")
		})
	}
}

// requireGrafanaReadsRollupsOnly connects as the grafana user that siyu run
// created: it reads the rollups (the contact's relation) in siyu_grafana and
// is refused the events (docs/decisions.md, D5).
func requireGrafanaReadsRollupsOnly(t *testing.T, chPort int) {
	t.Helper()
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{"127.0.0.1:" + strconv.Itoa(chPort)},
		Auth: clickhouse.Auth{Database: "siyu_grafana", Username: "grafana", Password: "grafana-pw"}})
	require.NoError(t, err)
	defer conn.Close()
	var n uint64
	require.NoError(t, conn.QueryRow(context.Background(), "SELECT count() FROM relation_events WHERE tenant = 'acme'").Scan(&n))
	require.Positive(t, n)
	err = conn.QueryRow(context.Background(), "SELECT count() FROM siyu.events").Scan(&n)
	require.ErrorContains(t, err, "Access denied")
}
