package console_test

// The console's journeys, walked in a real browser (Debian's chromium,
// headless, driven by chromedp) against the real binary: `siyu run --demo`
// with its own ClickHouse server and embedded Kafka, as a new user starts
// it. One site serves every journey; each signs in as its demo user.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/internal/testenv"
)

// demo is the demo tenant's set-up, as `siyu run --demo` leaves it in the
// data dir (demo.json).
type demo struct {
	Tenant        string            `json:"tenant"`
	AdminKey      string            `json:"admin_key"`
	RepStaff      string            `json:"rep_staff_id"`
	ContactID     string            `json:"contact_id"`
	Password      string            `json:"console_password"`
	Users         map[string]string `json:"console_users"` // role (rep2: a second rep) → login
	OtherContact  string            `json:"other_contact_id"`
	OtherRepStaff string            `json:"other_rep_staff_id"`
}

// site is the running binary and the browser.
var site struct {
	base    string
	grafana string // the Grafana stand-in's address (--grafana-url)
	demo    demo
	out     *testenv.LockedBuffer
	browser context.Context
	once    sync.Once
	stop    func()
	err     error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if site.stop != nil {
		if code != 0 && site.out != nil {
			fmt.Fprintln(os.Stderr, "siyu run output (last 4000 bytes):\n"+lastBytes(site.out.String(), 4000))
		}
		site.stop()
	}
	os.Exit(code)
}

// started starts the site once, for the first journey that needs it (unit
// tests of the package run without it).
func started(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("browser journeys need the real binary and chromium")
	}
	site.once.Do(func() {
		var err error
		if site.stop, err = startSite(); err != nil {
			site.err = err
			if site.out != nil {
				site.err = fmt.Errorf("%w\nsiyu run output:\n%s", err, lastBytes(site.out.String(), 4000))
			}
		}
	})
	require.NoError(t, site.err, "start the site")
}

func lastBytes(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// startSite builds siyu, runs it with the demo tenant and starts chromium.
func startSite() (stop func(), err error) {
	var stops []func()
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	dir, err := os.MkdirTemp("", "siyu-console-")
	if err != nil {
		return stop, err
	}
	stops = append(stops, func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "siyu")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/siyu").CombinedOutput(); err != nil {
		return stop, fmt.Errorf("build siyu: %v\n%s", err, out)
	}
	ports := freePorts(4)
	site.base = "http://127.0.0.1:" + strconv.Itoa(ports[0])
	site.out = &testenv.LockedBuffer{}
	cmd := exec.Command(bin, "run", "--demo", "--demo-events", "6000", "--data-dir", filepath.Join(dir, "data"),
		"--http-addr", "127.0.0.1:"+strconv.Itoa(ports[0]), "--kafka-addr", "127.0.0.1:"+strconv.Itoa(ports[1]),
		"--clickhouse-port", strconv.Itoa(ports[2]), "--clickhouse-http-port", strconv.Itoa(ports[3]),
		"--batch-max-wait", "50ms", "--partitions", "3")
	wecomSite := startWeComStandIn()
	stops = append(stops, wecomSite.Close)
	cmd.Args = append(cmd.Args, "--wecom-api-base", wecomSite.URL, "--wecom-oauth-base", wecomSite.URL, "--wecom-qr-base", wecomSite.URL)
	grafana := startGrafanaStandIn()
	stops = append(stops, grafana.Close)
	site.grafana = grafana.URL
	cmd.Args = append(cmd.Args, "--grafana-url", grafana.URL)
	cmd.Env = append(os.Environ(), "SIYU_GRAFANA_TOKEN="+grafanaToken)
	cmd.Stdout, cmd.Stderr = site.out, site.out
	if err := cmd.Start(); err != nil {
		return stop, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stops = append(stops, func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	if err := waitReady(filepath.Join(dir, "data", "demo.json"), done); err != nil {
		return stop, err
	}
	browser, cancel, err := startBrowser()
	if err != nil {
		return stop, err
	}
	stops = append(stops, cancel)
	site.browser = browser
	return stop, nil
}

func freePorts(n int) []int {
	seen := map[int]bool{}
	out := make([]int, 0, n)
	for len(out) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !seen[p] && !seen[p-1] && !seen[p+1] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// waitReady waits for the demo's set-up and for /readyz, and for the demo
// stream to be folded (the rep's customer readable).
func waitReady(demoFile string, done <-chan error) error {
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			return fmt.Errorf("siyu run exited: %v", err)
		default:
		}
		if b, err := os.ReadFile(demoFile); err == nil && json.Unmarshal(b, &site.demo) == nil && ready() {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("siyu run not ready within 3 minutes")
}

func ready() bool {
	resp, err := http.Get(site.base + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false
	}
	req, _ := http.NewRequest(http.MethodGet, site.base+"/v1/customers/"+site.demo.ContactID, nil)
	req.Header.Set("Authorization", "Bearer "+site.demo.AdminKey)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// startBrowser starts headless chromium (as root it needs --no-sandbox).
func startBrowser() (context.Context, func(), error) {
	path := chromePath()
	if path == "" {
		return nil, func() {}, fmt.Errorf("no chromium: run scripts/setup --test (installs Debian's chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("lang", "zh-CN"), chromedp.WindowSize(1280, 900))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	if err := chromedp.Do(browser); err != nil {
		cancelBrowser()
		cancelAlloc()
		return nil, func() {}, fmt.Errorf("start chromium: %w", err)
	}
	return browser, func() { cancelBrowser(); cancelAlloc() }, nil
}

// chromePath is $CHROME_PATH or Debian's chromium ("" when there is none).
func chromePath() string {
	if p := os.Getenv("CHROME_PATH"); p != "" {
		return p
	}
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// tab is a fresh browser tab with its own cookies (an incognito-like
// context), so journeys do not share sessions.
func tab(t *testing.T) context.Context {
	t.Helper()
	started(t)
	ctx, cancel := chromedp.NewContext(site.browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancelT)
	require.NoError(t, chromedp.Do(ctx))
	return ctx
}

// phone makes ctx's tab a 390 px wide touch screen.
func phone(t *testing.T, ctx context.Context) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile)))
}

// signIn signs in as the demo user of role through the sign-in form.
func signIn(t *testing.T, ctx context.Context, role string) {
	t.Helper()
	login := site.demo.Users[role]
	require.NotEmpty(t, login, "demo user for %s", role)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(site.base+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`#login`)),
		chromedp.SendKeys(chromedp.CSS(`#login`), login),
		chromedp.SendKeys(chromedp.CSS(`#password`), site.demo.Password),
		chromedp.Submit(chromedp.CSS(`#password`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-test=who], [data-test=error]`)),
	), "sign in as %s", role)
	require.NotContains(t, location(t, ctx), "/login", "sign in as %s: %s", role, text(t, ctx, "main"))
}

// text is the text of the first element matching sel.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel))), "wait for %s", sel)
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	require.NoError(t, err, "text of %s", sel)
	return strings.TrimSpace(s)
}

// open navigates to path and returns the page's HTTP status.
func open(t *testing.T, ctx context.Context, path string) int {
	t.Helper()
	resp, err := chromedp.RunResponse(ctx, chromedp.Navigate(site.base+path))
	require.NoError(t, err, "open %s", path)
	return int(resp.Status)
}

// location is the tab's current path and query.
func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	u, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	return strings.TrimPrefix(u, site.base)
}

// adminAPI calls the API with the demo's admin key (the journeys' set-up,
// outside the browser); a non-2xx answer fails the test.
func adminAPI(t *testing.T, method, path string, body, out any) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		require.NoError(t, err)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, site.base+path, rd)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+site.demo.AdminKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.True(t, resp.StatusCode/100 == 2, "%s %s: %d %s", method, path, resp.StatusCode, b)
	if out != nil {
		require.NoError(t, json.Unmarshal(b, out))
	}
}
