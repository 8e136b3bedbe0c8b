package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/internal/testenv"
	"github.com/siyu-dev/siyu/kafka"
)

// siyuBin is the binary under test.
var siyuBin string

func TestMain(m *testing.M) {
	if bin := os.Getenv("SIYU_FAULTS_BIN"); bin != "" {
		siyuBin = bin
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "siyu-faults-bin-")
	if err != nil {
		panic(err)
	}
	siyuBin = filepath.Join(dir, "siyu")
	// Built without the race detector: these tests time recoveries, and
	// the race detector slows the binary several times over (the unit and
	// integration tests of each package run with it).
	out, err := exec.Command("go", "build", "-o", siyuBin, "../cmd/siyu").CombinedOutput()
	if err != nil {
		panic(fmt.Sprintf("build siyu: %v\n%s", err, out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// figure logs a measured figure in the form the closing note quotes.
func figure(t *testing.T, name string, v any) {
	t.Helper()
	t.Logf("FIGURE %s %v", name, v)
}

// proc is a siyu child process.
type proc struct {
	t    *testing.T
	name string
	args []string
	cmd  *exec.Cmd
	out  *testenv.LockedBuffer
	done chan error
}

func startProc(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, args: args, out: &testenv.LockedBuffer{}}
	p.start()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("%s output (last 6000 bytes):\n%s", name, lastBytes(p.out.String(), 6000))
		}
	})
	return p
}

func (p *proc) start() {
	p.t.Helper()
	p.cmd = exec.Command(siyuBin, p.args...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.done = make(chan error, 1)
	require.NoError(p.t, p.cmd.Start())
	go func(cmd *exec.Cmd, done chan error) { done <- cmd.Wait() }(p.cmd, p.done)
}

// exited reports the exit of the process, if it has exited.
func (p *proc) exited() (error, bool) {
	select {
	case err := <-p.done:
		p.done <- err
		return err, true
	default:
		return nil, false
	}
}

// kill sends SIGKILL and waits for the exit.
func (p *proc) kill() {
	if _, ok := p.exited(); ok {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	p.done <- nil
}

// waitExit waits up to limit for the process to exit and returns its error.
func (p *proc) waitExit(limit time.Duration) (error, bool) {
	select {
	case err := <-p.done:
		p.done <- err
		return err, true
	case <-time.After(limit):
		return nil, false
	}
}

func lastBytes(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// site is a `siyu run` (or a serve/ingest pair) the tests talk to.
type site struct {
	t       *testing.T
	dataDir string
	http    string // host:port of the API
	broker  string
	chPort  int
	run     *proc // the `siyu run`, when there is one
}

// runArgs are the flags of a `siyu run` on s's ports.
func (s *site) runArgs(extra ...string) []string {
	args := []string{"run", "--data-dir", s.dataDir, "--http-addr", s.http, "--kafka-addr", s.broker,
		"--clickhouse-port", strconv.Itoa(s.chPort), "--clickhouse-http-port", strconv.Itoa(s.chPort + 1),
		"--batch-max-wait", "50ms", "--partitions", "3"}
	return append(args, extra...)
}

// startRun starts `siyu run` on a new data dir and waits until it is ready.
// A port that was free a moment ago can be taken by another process before
// siyu run binds it: then it tries again with fresh ports.
func startRun(t *testing.T, extra ...string) *site {
	t.Helper()
	for attempt := 1; ; attempt++ {
		s := &site{t: t, dataDir: t.TempDir(), http: "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t)),
			broker: "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t)), chPort: freePair(t)}
		s.run = startProc(t, "siyu run", s.runArgs(extra...)...)
		err := s.awaitReady(120 * time.Second)
		if err == nil {
			return s
		}
		out := s.run.out.String()
		if _, exited := s.run.exited(); exited && attempt < 5 &&
			(strings.Contains(out, "address already in use") || strings.Contains(out, "is taken")) {
			t.Logf("siyu run found a port taken (attempt %d); again with other ports", attempt)
			continue
		}
		t.Fatal(err)
	}
}

// freePair finds a port whose next port is free too (ClickHouse's native
// and HTTP ports).
func freePair(t *testing.T) int {
	for range 50 {
		p := testenv.FreePort(t)
		if p < 65535 && portFree(p+1) {
			return p
		}
	}
	t.Fatal("no two consecutive free ports")
	return 0
}

func portFree(port int) bool {
	cmd := exec.Command("sh", "-c", "! (exec 3<>/dev/tcp/127.0.0.1/"+strconv.Itoa(port)+") 2>/dev/null")
	return cmd.Run() == nil
}

// readyz returns /readyz's status and body (0 when nothing answers).
func (s *site) readyz() (int, string) {
	return readyzAt(s.http)
}

func readyzAt(addr string) (int, string) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/readyz")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (s *site) waitReady(limit time.Duration) time.Duration {
	s.t.Helper()
	start := time.Now()
	if err := s.awaitReady(limit); err != nil {
		s.t.Fatal(err)
	}
	return time.Since(start)
}

// awaitReady waits until /readyz answers 200, and stops early when the
// siyu run process exits.
func (s *site) awaitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		if s.run != nil {
			if err, ok := s.run.exited(); ok {
				return fmt.Errorf("siyu run exited (%v):\n%s", err, lastBytes(s.run.out.String(), 4000))
			}
		}
		code, body := s.readyz()
		if code == 200 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready within %s: readyz %d: %s", limit, code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// key creates an API key with siyu keys create.
func (s *site) key(tenant, role, staff string) string {
	s.t.Helper()
	args := []string{"keys", "create", "--data-dir", s.dataDir, "--tenant", tenant, "--role", role}
	if staff != "" {
		args = append(args, "--staff-id", staff)
	}
	out, err := exec.Command(siyuBin, args...).Output()
	require.NoError(s.t, err, "siyu %v", args)
	return strings.TrimSpace(string(out))
}

// call sends a request to the API and returns the status, body and headers.
func (s *site) call(method, path, key, contentType string, body []byte) (int, []byte, http.Header) {
	req, err := http.NewRequest(method, "http://"+s.http+path, bytes.NewReader(body))
	if err != nil {
		return 0, []byte(err.Error()), nil
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	c := http.Client{Timeout: 30 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return 0, []byte(err.Error()), nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// clickhouse connects to the site's ClickHouse.
func (s *site) clickhouse() driver.Conn {
	s.t.Helper()
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{"127.0.0.1:" + strconv.Itoa(s.chPort)},
		Auth: clickhouse.Auth{Database: "siyu"}, DialTimeout: 2 * time.Second})
	require.NoError(s.t, err)
	s.t.Cleanup(func() { conn.Close() })
	return conn
}

// clickhousePID is the pid of the ClickHouse server of dataDir.
func clickhousePID(t *testing.T, dataDir string) int {
	t.Helper()
	var pid int
	testenv.Eventually(t, 30*time.Second, func() error {
		out, _ := exec.Command("pgrep", "-f", "--", filepath.Join(dataDir, "clickhouse", "config")).Output()
		fields := strings.Fields(string(out))
		if len(fields) == 0 {
			return fmt.Errorf("no clickhouse server of %s", dataDir)
		}
		pid, _ = strconv.Atoi(fields[0])
		return nil
	})
	return pid
}

func execOutput(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}

func splitFields(s string) []string { return strings.Fields(s) }

// killGroup SIGKILLs pid's process group (ClickHouse runs in its own).
func killGroup(t *testing.T, pid int) {
	t.Helper()
	require.NoError(t, syscall.Kill(-pid, syscall.SIGKILL))
}

// producer is a Kafka producer with the broker's record limit.
func producer(t *testing.T, broker string) *kgo.Client {
	t.Helper()
	// An idempotent producer never fails a record in flight to a broker
	// that died (its sequence numbers would break), whatever the context
	// says: the test's producer is not idempotent, so its records time out
	// (and may be written twice, which is what the pipeline must absorb).
	opts := append(kafka.ProducerOpts([]string{broker}), kgo.DisableIdempotentWrite(),
		kgo.RecordDeliveryTimeout(20*time.Second))
	cl, err := kgo.NewClient(opts...)
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return cl
}

// produce writes values with key to the events topic and waits for the acks.
func produce(t *testing.T, cl *kgo.Client, key string, values ...[]byte) {
	t.Helper()
	recs := make([]*kgo.Record, len(values))
	for i, v := range values {
		recs[i] = &kgo.Record{Topic: "siyu.events", Key: []byte(key), Value: v}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, cl.ProduceSync(ctx, recs...).FirstErr())
}

// chat is a valid chat.message event.
func chat(id, tenant, contact string, at time.Time) []byte {
	return fmt.Appendf(nil, `{"specversion":"1.0","id":%q,"source":"faults","type":"chat.message","time":%q,"tenant":%q,"subject":%q,"data":{"staff_id":"s1","direction":"in","chars":3}}`,
		id, at.UTC().Format(time.RFC3339Nano), tenant, contact)
}

// added is a valid contact.added event.
func added(id, tenant, contact, staff string, at time.Time) []byte {
	return fmt.Appendf(nil, `{"specversion":"1.0","id":%q,"source":"faults","type":"contact.added","time":%q,"tenant":%q,"subject":%q,"data":{"staff_id":%q,"name":"客户 %s"}}`,
		id, at.UTC().Format(time.RFC3339Nano), tenant, contact, staff, contact)
}

// stream produces chat events of tenants round robin until stopped, each
// id once (and every 7th redelivered), and remembers what it produced.
type stream struct {
	t        *testing.T
	cl       *kgo.Client
	tenants  []string
	prefix   string // of the event ids
	mu       sync.Mutex
	produced map[string]int // distinct events per tenant, acknowledged
	unsure   map[string]int // events whose produce failed: stored or not
	stop     chan struct{}
	done     chan struct{}
}

func startStream(t *testing.T, broker string, perSecond int, prefix string, tenants ...string) *stream {
	s := &stream{t: t, cl: producer(t, broker), tenants: tenants, prefix: prefix, produced: map[string]int{}, unsure: map[string]int{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go s.loop(perSecond)
	t.Cleanup(s.halt)
	return s
}

func (s *stream) loop(perSecond int) {
	defer close(s.done)
	tick := time.NewTicker(time.Second / time.Duration(perSecond))
	defer tick.Stop()
	at := time.Now().Add(-time.Hour)
	for n := 0; ; n++ {
		select {
		case <-s.stop:
			return
		case <-tick.C:
		}
		tenant := s.tenants[n%len(s.tenants)]
		id := fmt.Sprintf("%s%s-%d", s.prefix, tenant, n)
		contact := fmt.Sprintf("c%d", n%50)
		v := chat(id, tenant, contact, at.Add(time.Duration(n)*time.Millisecond))
		recs := []*kgo.Record{{Topic: "siyu.events", Key: []byte(tenant + "/" + contact), Value: v}}
		if n%7 == 3 {
			recs = append(recs, &kgo.Record{Topic: "siyu.events", Key: recs[0].Key, Value: v})
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		err := s.cl.ProduceSync(ctx, recs...).FirstErr()
		cancel()
		if err != nil { // the broker is gone (kill -9 of siyu run): this one may or may not be stored
			s.mu.Lock()
			s.unsure[tenant]++
			s.mu.Unlock()
			return
		}
		s.mu.Lock()
		s.produced[tenant]++
		s.mu.Unlock()
	}
}

func (s *stream) halt() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
}

func (s *stream) count(tenant string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.produced[tenant]
}

// requireExact waits until each tenant's acknowledged events are stored,
// each once (an event whose produce failed when the broker died may be
// stored too, once).
func (s *stream) requireExact(t *testing.T, conn driver.Conn, limit time.Duration) {
	t.Helper()
	s.halt()
	for _, tenant := range s.tenants {
		s.mu.Lock()
		want, unsure := s.produced[tenant], s.unsure[tenant]
		s.mu.Unlock()
		testenv.Eventually(t, limit, func() error {
			d, r, err := stored(context.Background(), conn, tenant, s.prefix)
			if err != nil {
				return err
			}
			if int(d) < want || int(d) > want+unsure || r != d {
				return fmt.Errorf("tenant %s: %d distinct / %d rows stored, want %d (+%d unsure), each once", tenant, d, r, want, unsure)
			}
			return nil
		})
		requireProfilesMatch(t, conn, tenant)
	}
}

// stored counts a tenant's distinct stored events and its stored rows once
// merged (FINAL): both must equal what was produced.
func stored(ctx context.Context, conn driver.Conn, tenant, idPrefix string) (distinct, rows uint64, err error) {
	err = conn.QueryRow(ctx, "SELECT uniqExact(id), count() FROM events FINAL WHERE tenant = ? AND startsWith(id, ?)",
		tenant, idPrefix).Scan(&distinct, &rows)
	return distinct, rows, err
}

// requireProfilesMatch checks that tenant's folded profiles count each
// inbound message once: the sum of the profiles' messages_in equals the
// distinct inbound messages stored, once the pipeline has caught up.
func requireProfilesMatch(t *testing.T, conn driver.Conn, tenant string) {
	t.Helper()
	testenv.Eventually(t, 30*time.Second, func() error {
		var folded, raw uint64
		ctx := context.Background()
		if err := conn.QueryRow(ctx, `SELECT sum(n) FROM (SELECT uniqExactIfMerge(msgs_in) AS n FROM profile_state
			WHERE tenant = ? GROUP BY contact_id)`, tenant).Scan(&folded); err != nil {
			return err
		}
		if err := conn.QueryRow(ctx, `SELECT uniqExact(source, id) FROM events
			WHERE tenant = ? AND type = 'chat.message' AND direction = 'in'`, tenant).Scan(&raw); err != nil {
			return err
		}
		if folded != raw || raw == 0 {
			return fmt.Errorf("tenant %s: profiles count %d inbound messages, %d are stored", tenant, folded, raw)
		}
		return nil
	})
}

// waitStored waits until tenant has exactly want events with idPrefix, each once.
func waitStored(t *testing.T, conn driver.Conn, tenant, idPrefix string, want int, limit time.Duration) {
	t.Helper()
	testenv.Eventually(t, limit, func() error {
		d, r, err := stored(context.Background(), conn, tenant, idPrefix)
		if err != nil {
			return err
		}
		if int(d) != want || int(r) != want {
			return fmt.Errorf("tenant %s: %d distinct / %d rows stored, want %d", tenant, d, r, want)
		}
		return nil
	})
}

// waitEvent waits until the event id of tenant is stored and returns how long it took.
func waitEvent(t *testing.T, conn driver.Conn, tenant, id string, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	testenv.Eventually(t, limit, func() error {
		var n uint64
		if err := conn.QueryRow(context.Background(), "SELECT count() FROM events WHERE tenant = ? AND id = ?", tenant, id).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("event %s of %s not stored yet", id, tenant)
		}
		return nil
	})
	return time.Since(start)
}

// decode unmarshals JSON or fails the test.
func decode(t *testing.T, b []byte, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(b, v), "%s", b)
}
