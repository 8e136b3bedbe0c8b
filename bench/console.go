package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"
)

// The console figures (issue 15), on the CDP figures' tenant of
// --cdp-contacts customers, through `siyu serve` with console sessions:
// each page's server time (sequential requests on a warm connection, the
// page rendered from the API's in-process answers), the sidebar's customer
// card (profile + first timeline page, from the memory read models) over
// random customers, and the bytes of script and style the sidebar ships.
const (
	targetConsolePage = 50 * time.Millisecond
	targetSidebarCard = 100 * time.Millisecond
	targetSidebarKB   = 150 // compressed JS + CSS
	consolePassword   = "bench-console-pass"
	// pageBudget bounds the time spent on one page's figure (a slow page
	// is timed fewer times, at least 10).
	pageBudget = 20 * time.Second
)

// consoleUser creates a console user of the CDP tenant with `siyu users
// create` and signs in; it returns the session cookie.
func (c *cdpRun) consoleUser(ctx context.Context, dsn, login, role string) (*http.Cookie, error) {
	cmd := exec.CommandContext(ctx, c.h.cfg.siyu, "users", "create", "--clickhouse-dsn", dsn, "--tenant", cdpTenant,
		"--login", login, "--role", role, "--name", "bench "+role)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Env = append(os.Environ(), "SIYU_PASSWORD="+consolePassword)
	if out, err := cmd.CombinedOutput(); err != nil && !bytes.Contains(out, []byte("taken")) {
		return nil, fmt.Errorf("siyu users create %s: %w: %s", login, err, bytes.TrimSpace(out))
	}
	body, _ := json.Marshal(map[string]string{"login": login, "password": consolePassword})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/v1/sessions", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if ck.Name == "siyu_session" {
			return ck, nil
		}
	}
	b, _ := io.ReadAll(resp.Body)
	return nil, fmt.Errorf("sign in as %s: %s %s", login, resp.Status, b)
}

// measureConsole times the console's pages and the sidebar's card.
func (c *cdpRun) measureConsole(ctx context.Context) error {
	dsn := c.dsn
	admin, err := c.consoleUser(ctx, dsn, "bench-admin@cdp", "admin")
	if err != nil {
		return err
	}
	billing, err := c.consoleUser(ctx, dsn, "bench-billing@cdp", "billing")
	if err != nil {
		return err
	}
	contact := cdpContact(7)
	staff, err := c.staffOf(ctx, contact)
	if err != nil {
		return err
	}
	// The pages are timed on the memory read models, as a tenant in use is
	// served: the first board read registers the tenant's memory board.
	loaded, err := waitMemory(ctx, strings.TrimPrefix(c.base, "http://"), "siyu_board_reads_total", func() error {
		_, err := c.do(ctx, http.MethodGet, "/v1/followups/board?staff_id="+staff, nil)
		return err
	})
	if err != nil {
		return err
	}
	c.h.say("console: the tenant's memory board served %s after the first read", round(loaded))
	// And its rep statistics (the team page), by a first read of one rep's
	// (the whole tenant's, read from ClickHouse until memory serves, is
	// what the memory is for).
	loaded, err = waitMemory(ctx, strings.TrimPrefix(c.base, "http://"), "siyu_rep_stats_reads_total", func() error {
		_, err := c.do(ctx, http.MethodGet, "/v1/followups/stats?staff_id="+staff, nil)
		return err
	})
	if err != nil {
		return err
	}
	c.h.say("console: the tenant's rep statistics served from memory %s after the first read", round(loaded))
	c.settle(ctx)
	pages := []struct {
		path string
		who  *http.Cookie
	}{
		{"/app/customers/" + contact, admin},
		{"/app/day?staff_id=" + staff, admin},
		{"/app/pool", admin},
		{"/app/team", admin},
		{"/app/tags", admin},
		{"/app/segments", admin},
		{"/app/segments/" + c.countSeg, admin},
		{"/app/adoption", admin},
		{"/app/admin", admin},
		{"/app/billing", billing},
	}
	n := 100
	if c.h.cfg.quick {
		n = 30
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}, CheckRedirect: noRedirect}
	var worst time.Duration
	var worstPage string
	for _, p := range pages {
		what := fmt.Sprintf("console: GET %s (%s customers, %%d requests)", trimQuery(p.path), thousands(c.h.cfg.cdpContacts))
		lat, err := timeGets(ctx, hc, p.who, n, func(int) string { return c.base + p.path })
		if err != nil { // recorded, and the other pages still timed
			c.h.say("console: %s failed: %v", p.path, err)
			c.h.record(row{fmt.Sprintf(what, len(lat)), "failed: " + err.Error(), "p95 ≤ " + round(targetConsolePage), pass(false)})
			continue
		}
		p95 := quantile(lat, 0.95)
		c.h.say("console: %s p50 %s p95 %s", p.path, round(quantile(lat, 0.5)), round(p95))
		if p95 > worst {
			worst, worstPage = p95, p.path
		}
		c.h.record(row{fmt.Sprintf(what, len(lat)),
			"p95 " + round(p95), "p95 ≤ " + round(targetConsolePage), pass(p95 <= targetConsolePage)})
	}
	c.h.say("console: the slowest page at p95 is %s (%s)", worstPage, round(worst))
	c.adoptionCalls(ctx, hc, admin)
	r := rand.New(rand.NewPCG(15, 15))
	cards := 3 * n
	lat, err := timeGets(ctx, hc, admin, cards, func(int) string {
		return c.base + "/sidebar?contact=" + cdpContact(r.IntN(c.h.cfg.cdpContacts))
	})
	if err != nil {
		return err
	}
	p95 := quantile(lat, 0.95)
	c.h.record(row{fmt.Sprintf("console: sidebar customer card (profile + first timeline page), random of %s customers, %d requests", thousands(c.h.cfg.cdpContacts), cards),
		fmt.Sprintf("p50 %s, p95 %s", round(quantile(lat, 0.5)), round(p95)), "p95 ≤ " + round(targetSidebarCard), pass(p95 <= targetSidebarCard)})
	kb, err := c.sidebarBytes(ctx, admin, contact)
	if err != nil {
		return err
	}
	c.h.record(row{"console: the sidebar's JS + CSS, gzip as served", fmt.Sprintf("%.1f KB", kb), fmt.Sprintf("≤ %d KB", targetSidebarKB), pass(kb <= targetSidebarKB)})
	return nil
}

// adoptionCalls times, one after the other, the API calls the executive
// page makes together (its default range), to say which of them its time
// is made of.
func (c *cdpRun) adoptionCalls(ctx context.Context, hc *http.Client, who *http.Cookie) {
	zone, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		c.h.say("console: %v", err)
		return
	}
	to := time.Now().In(zone)
	f, t := to.AddDate(0, 0, -29).Format(time.DateOnly), to.Format(time.DateOnly)
	for _, p := range []string{
		"/v1/metrics?metrics=dau,wau,mau,paid_dau,stickiness,new_dau,customer_dau&from=" + f + "&to=" + t,
		"/v1/meters/contacts_total?from=" + t + "&to=" + t,
		"/v1/meters/contact_cap?from=" + t + "&to=" + t,
		"/v1/metrics/retention?cohort_from=" + f + "&cohort_to=" + t,
	} {
		lat, err := timeGets(ctx, hc, who, 50, func(int) string { return c.base + p })
		if err != nil {
			c.h.say("console: the executive page's %s: %v", trimQuery(p), err)
			continue
		}
		c.h.say("console: the executive page's %s alone: p50 %s p95 %s", trimQuery(p), round(quantile(lat, 0.5)), round(quantile(lat, 0.95)))
	}
}

// settle waits, at most settleMax, until siyu serve, ClickHouse and the
// rest of the machine use less than settledCores together over 2 s: the
// pages are timed in steady state, not beside what a bulk load of a
// million customers leaves running (rollup merges, the stored results'
// first computation, the collection of the loads' garbage). It says how
// long it waited and what was busy when it gave up.
func (c *cdpRun) settle(ctx context.Context) {
	start := time.Now()
	for {
		m := c.h.meter(map[string]int{"siyu serve": c.srv.pid()})
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
		busy := 0.0
		cores := m.cores()
		for _, v := range cores {
			busy += v
		}
		if busy < settledCores {
			c.h.say("console: the machine settled (%.2f cores busy) %s after the memory models served", busy, round(time.Since(start)))
			return
		}
		if time.Since(start) > settleMax {
			c.h.say("console: the machine did not settle within %s (%.2f cores busy: %v); timing anyway", settleMax, busy, cores)
			return
		}
	}
}

const (
	settledCores = 0.3
	settleMax    = 3 * time.Minute
)

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func trimQuery(p string) string {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		return p[:i]
	}
	return p
}

// timeGets sends n GETs (after 5 unmeasured), or as many as fit in
// pageBudget but at least 10, and returns their sorted latencies; anything
// but 200 is an error.
func timeGets(ctx context.Context, hc *http.Client, who *http.Cookie, n int, url func(int) string) ([]time.Duration, error) {
	lat := make([]time.Duration, 0, n)
	start := time.Now()
	for i := range n + 5 {
		if len(lat) >= 10 && time.Since(start) > pageBudget {
			break
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url(i), nil)
		if err != nil {
			return nil, err
		}
		req.AddCookie(who)
		req.Header.Set("Accept-Encoding", "gzip")
		start := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %s: %.300s", req.URL.Path, resp.Status, b)
		}
		if i >= 5 {
			lat = append(lat, time.Since(start))
		}
	}
	slices.Sort(lat)
	return lat, nil
}

var assetRef = regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`)

// sidebarBytes sums the compressed bytes of every script and style sheet
// the sidebar page references, as the server sends them.
func (c *cdpRun) sidebarBytes(ctx context.Context, who *http.Cookie, contact string) (float64, error) {
	plain, err := c.getWith(ctx, who, "/sidebar?contact="+contact, "identity")
	if err != nil {
		return 0, err
	}
	total := 0
	for _, m := range assetRef.FindAllSubmatch(plain, -1) {
		b, err := c.getWith(ctx, who, strings.ReplaceAll(string(m[1]), "&amp;", "&"), "gzip")
		if err != nil {
			return 0, err
		}
		total += len(b)
	}
	return float64(total) / 1000, nil
}

// getWith reads path's body as sent (a transport that asks for an encoding
// itself does not decompress).
func (c *cdpRun) getWith(ctx context.Context, who *http.Cookie, path, encoding string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, err
	}
	req.AddCookie(who)
	req.Header.Set("Accept-Encoding", encoding)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return b, err
}

// staffOf is a rep holding contact (for the day page's figure).
func (c *cdpRun) staffOf(ctx context.Context, contact string) (string, error) {
	b, err := c.do(ctx, http.MethodGet, "/v1/customers/"+contact, nil)
	if err != nil {
		return "", err
	}
	var p struct {
		Relations []struct {
			StaffID string `json:"staff_id"`
		} `json:"relations"`
	}
	if err := json.Unmarshal(b, &p); err != nil || len(p.Relations) == 0 {
		return "", fmt.Errorf("customer %s has no rep: %.200s", contact, b)
	}
	return p.Relations[0].StaffID, nil
}
