package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// The CDP figures (issue 3): one tenant of --cdp-contacts customers, each
// with about 20 tags of 300 and 30 days of chats (loadgen.CDPTenant, made
// by `siyu loadgen --scenario cdp` and stored by `siyu ingest`: the views
// build every rollup), then measured through `siyu serve` over HTTP.
const (
	cdpDatabase = "bench_cdp"
	cdpTenant   = "cdp0001"
	// cdpExportChannel is the channel of about a fifth of the customers:
	// the export figure's segment (200,000 members of 1,000,000).
	cdpExportChannel = "ad"

	targetCDPCount   = 150 * time.Millisecond
	targetCDPPage    = 150 * time.Millisecond
	targetCDPExport  = 5 * time.Second
	targetCDPProfile = 20 * time.Millisecond
)

// cdpTopic is the events topic of the CDP group's `siyu serve` and `siyu ingest`.
const cdpTopic = "siyu.bench.cdp"

// cdpCountSegment has three tag conditions, a channel and a recency condition.
const cdpCountSegment = `{"and": [
	{"tags": {"any": ["tag001", "tag002", "tag003"]}},
	{"not": {"tag": {"has": "tag004"}}},
	{"tag_group": {"has": "group01"}},
	{"field": "channel", "op": "in", "value": ["ad", "qr", "referral"]},
	{"field": "last_inbound_at", "op": "within", "value": "7d"}]}`

// cdpExportSegment is every customer acquired through cdpExportChannel.
const cdpExportSegment = `{"field": "channel", "op": "=", "value": "` + cdpExportChannel + `"}`

// cdpSteps are the CDP group's steps: one, so that the loaded database and
// its `siyu serve` are released on every way out. A failed figure does not
// stop the others.
func (h *harness) cdpSteps() []step {
	return []step{{"cdp: segments and profiles", func(ctx context.Context) error {
		c := &cdpRun{h: h}
		defer c.release(ctx)
		if err := c.load(ctx); err != nil {
			return err
		}
		var errs []error
		for _, f := range []func(context.Context) error{c.measureCount, c.measurePage, c.measureExport, c.measureProfiles, c.measureConsole} {
			if ctx.Err() != nil {
				break
			}
			errs = append(errs, f(ctx))
		}
		if c.srv != nil {
			errs = append(errs, c.srv.exited())
		}
		return errors.Join(errs...)
	}}}
}

type cdpRun struct {
	h        *harness
	srv, ing *child
	base     string // http://addr
	key      string
	dsn      string
	countSeg string // saved segment ids
	exportSg string
}

// load generates the tenant's events, inserts them, settles the rollups,
// then starts `siyu serve` with an admin key and saves the two segments.
func (c *cdpRun) load(ctx context.Context) error {
	h := c.h
	conn, dsn, err := h.env.database(ctx, cdpDatabase)
	if err != nil {
		return err
	}
	defer conn.Close()
	n := h.cfg.cdpContacts
	start := time.Now()
	err = h.seedWith(ctx, dsn, "cdp", func(topic string) (int, error) {
		_, err := runChild(ctx, h.cfg.siyu, "loadgen", "--scenario", "cdp", "--tenant-names", cdpTenant,
			"--contacts", strconv.Itoa(n), "--kafka-brokers", h.env.broker, "--topic", topic)
		return 0, err
	})
	if err != nil {
		return err
	}
	h.say("cdp: the events of %s contacts stored in %s", thousands(n), round(time.Since(start)))
	if err := settle(ctx, conn); err != nil {
		return err
	}
	h.say("cdp: rollups merged, %s after the start", round(time.Since(start)))
	out, err := runChild(ctx, h.cfg.siyu, "keys", "create", "--clickhouse-dsn", dsn, "--tenant", cdpTenant, "--role", "admin")
	if err != nil {
		return err
	}
	c.key = strings.TrimSpace(out)
	c.dsn = dsn
	srv, addr, err := h.startServeOn(ctx, dsn, "serve-cdp", cdpTopic)
	if err != nil {
		return err
	}
	c.srv, c.base = srv, "http://"+addr
	// The pipeline, as in production: saved segments, tags and jobs are
	// events, and the memory segments load once it has committed them.
	if c.ing, err = h.startIngestOn(dsn, "ingest-cdp", cdpTopic); err != nil {
		return err
	}
	if c.countSeg, err = c.saveSegment(ctx, "count figure", cdpCountSegment); err != nil {
		return err
	}
	if c.exportSg, err = c.saveSegment(ctx, "export figure", cdpExportSegment); err != nil {
		return err
	}
	return c.measureMemoryLoad(ctx, n)
}

// measureMemoryLoad times the tenant's memory segments: from the first
// segment read (which registers the tenant) until one is served from
// memory, with `siyu serve`'s RSS before and after.
func (c *cdpRun) measureMemoryLoad(ctx context.Context, contacts int) error {
	h := c.h
	h.say("cdp: waiting for the tenant's memory segments (the first count registers it)")
	before, _ := procStatusKB(c.srv.pid(), "VmRSS")
	body := []byte(`{"definition": ` + cdpExportSegment + `, "limit": 0}`)
	loaded, err := waitMemory(ctx, strings.TrimPrefix(c.base, "http://"), "siyu_cdp_reads_total", func() error {
		_, err := c.do(ctx, http.MethodPost, "/v1/segments/preview", body)
		return err
	})
	if err != nil {
		return err
	}
	time.Sleep(2 * time.Second) // the load's garbage is collected
	after, _ := procStatusKB(c.srv.pid(), "VmRSS")
	h.say("cdp: memory segments served %s after the first read", round(loaded))
	h.record(row{fmt.Sprintf("cdp: memory segments of a tenant of %s contacts: first read → served from memory; siyu serve RSS before → after", thousands(contacts)),
		fmt.Sprintf("%s; %s → %s MB", round(loaded), thousands(int(before/1024)), thousands(int(after/1024))), "—", ""})
	return nil
}

// settle merges the rollups the segments read, as background merges
// would a while after a bulk load: the figures are of a settled tenant.
func settle(ctx context.Context, conn driver.Conn) error {
	for _, t := range []string{"profile_state", "contact_tag_state", "relation_events", "acquisition_state", "tag_library_state", "tag_member_state"} {
		if err := conn.Exec(ctx, "OPTIMIZE TABLE "+t+" FINAL"); err != nil {
			return fmt.Errorf("optimize %s: %w", t, err)
		}
	}
	return nil
}

func (c *cdpRun) release(ctx context.Context) {
	for _, ch := range []*child{c.srv, c.ing} {
		if ch != nil {
			c.h.release(ctx, ch)
		}
	}
}

func (c *cdpRun) saveSegment(ctx context.Context, name, def string) (string, error) {
	body := `{"name": "` + name + `", "definition": ` + def + `}`
	resp, err := c.do(ctx, http.MethodPost, "/v1/segments", []byte(body))
	if err != nil {
		return "", err
	}
	var s struct{ ID string }
	if err := json.Unmarshal(resp, &s); err != nil || s.ID == "" {
		return "", fmt.Errorf("save segment: %s", resp)
	}
	return s.ID, nil
}

// do sends one request with the admin key and returns the body of a 2xx.
func (c *cdpRun) do(ctx context.Context, method, path string, body []byte) ([]byte, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, out)
	}
	return out, nil
}

// repeat times n calls of f after one warm-up and returns the sorted latencies.
func repeat(ctx context.Context, n int, f func(context.Context) error) ([]time.Duration, error) {
	if err := f(ctx); err != nil {
		return nil, err
	}
	lat := make([]time.Duration, n)
	for i := range lat {
		start := time.Now()
		if err := f(ctx); err != nil {
			return nil, err
		}
		lat[i] = time.Since(start)
	}
	slices.Sort(lat)
	return lat, nil
}

func (c *cdpRun) rounds() int {
	if c.h.cfg.quick {
		return 10
	}
	return 30
}

func (c *cdpRun) measureCount(ctx context.Context) error {
	var count uint64
	body := []byte(`{"definition": ` + cdpCountSegment + `, "limit": 0}`)
	lat, err := repeat(ctx, c.rounds(), func(ctx context.Context) error {
		out, err := c.do(ctx, http.MethodPost, "/v1/segments/preview", body)
		if err != nil {
			return err
		}
		var p struct{ Count uint64 }
		if err := json.Unmarshal(out, &p); err != nil {
			return err
		}
		count = p.Count
		return nil
	})
	if err != nil {
		return err
	}
	p95 := quantile(lat, 0.95)
	c.h.say("cdp: segment count %s members, p50 %s, p95 %s", thousands(int(count)), round(quantile(lat, 0.5)), round(p95))
	c.h.record(row{fmt.Sprintf("cdp: segment count, 3 tag conditions + channel + recency (%s contacts, %s members)",
		thousands(c.h.cfg.cdpContacts), thousands(int(count))), "p95 " + round(p95), "p95 ≤ " + round(targetCDPCount),
		pass(p95 <= targetCDPCount && count > 0)})
	return nil
}

func (c *cdpRun) measurePage(ctx context.Context) error {
	path := "/v1/segments/" + c.countSeg + "/customers?limit=100"
	got := 0
	lat, err := repeat(ctx, c.rounds(), func(ctx context.Context) error {
		out, err := c.do(ctx, http.MethodGet, path, nil)
		if err != nil {
			return err
		}
		var p struct{ Customers []json.RawMessage }
		if err := json.Unmarshal(out, &p); err != nil {
			return err
		}
		got = len(p.Customers)
		return nil
	})
	if err != nil {
		return err
	}
	p95 := quantile(lat, 0.95)
	c.h.say("cdp: first page of %d members, p50 %s, p95 %s", got, round(quantile(lat, 0.5)), round(p95))
	c.h.record(row{fmt.Sprintf("cdp: first page of 100 members (GET /v1/segments/{id}/customers, %d returned)", got),
		"p95 " + round(p95), "p95 ≤ " + round(targetCDPPage), pass(p95 <= targetCDPPage && got > 0)})
	return nil
}

// measureExport times full CSV exports of the export segment and checks
// that each has one row per member.
func (c *cdpRun) measureExport(ctx context.Context) error {
	out, err := c.do(ctx, http.MethodPost, "/v1/segments/preview", []byte(`{"definition": `+cdpExportSegment+`, "limit": 0}`))
	if err != nil {
		return err
	}
	var p struct{ Count uint64 }
	if err := json.Unmarshal(out, &p); err != nil {
		return err
	}
	lat, err := repeat(ctx, 3, func(ctx context.Context) error {
		rows, err := c.exportRows(ctx)
		if err == nil && rows != int(p.Count) {
			err = fmt.Errorf("the export has %d rows, the segment %d members", rows, p.Count)
		}
		return err
	})
	if err != nil {
		return err
	}
	worst := lat[len(lat)-1]
	c.h.say("cdp: CSV export of %s members: best %s, worst %s", thousands(int(p.Count)), round(lat[0]), round(worst))
	c.h.record(row{fmt.Sprintf("cdp: full CSV export (%s members, worst of 3)", thousands(int(p.Count))),
		round(worst), "≤ " + round(targetCDPExport), pass(worst <= targetCDPExport && p.Count > 0)})
	return nil
}

// exportRows streams one CSV export and counts its data rows.
func (c *cdpRun) exportRows(ctx context.Context) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/v1/segments/"+c.exportSg+"/export?format=csv", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return 0, fmt.Errorf("export: %d %s", resp.StatusCode, b)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	lines := 0
	for sc.Scan() {
		lines++
	}
	return lines - 1, sc.Err()
}

// measureProfiles reads random profiles from 8 keep-alive clients for the
// figure's duration.
func (c *cdpRun) measureProfiles(ctx context.Context) error {
	const clients = 8
	dur := 15 * time.Second
	if c.h.cfg.quick {
		dur = 5 * time.Second
	}
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	var wg sync.WaitGroup
	deadline := time.Now().Add(dur)
	start := time.Now()
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine, err := c.readProfiles(ctx, uint64(i), deadline)
			mu.Lock()
			defer mu.Unlock()
			lat = append(lat, mine...)
			if err != nil && firstErr == nil {
				firstErr = err
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return firstErr
	}
	if len(lat) == 0 {
		return fmt.Errorf("no profile read finished")
	}
	slices.Sort(lat)
	p99, rate := quantile(lat, 0.99), perSecond(len(lat), elapsed)
	c.h.say("cdp: %s profile reads, %s/s, p50 %s, p99 %s", thousands(len(lat)), thousands(int(rate)), round(quantile(lat, 0.5)), round(p99))
	c.h.record(row{fmt.Sprintf("cdp: GET /v1/customers/{id}, %d clients (%s requests/s)", clients, thousands(int(rate))),
		"p99 " + round(p99), "p99 ≤ " + round(targetCDPProfile), pass(p99 <= targetCDPProfile)})
	return nil
}

func (c *cdpRun) readProfiles(ctx context.Context, seed uint64, deadline time.Time) ([]time.Duration, error) {
	r := rand.New(rand.NewPCG(seed, 99))
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	var lat []time.Duration
	for time.Now().Before(deadline) && ctx.Err() == nil {
		path := "/v1/customers/" + cdpContact(r.IntN(c.h.cfg.cdpContacts))
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
		if err != nil {
			return lat, err
		}
		req.Header.Set("Authorization", "Bearer "+c.key)
		start := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			return lat, err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			return lat, err
		}
		if resp.StatusCode != http.StatusOK {
			return lat, fmt.Errorf("GET %s: %d", path, resp.StatusCode)
		}
		lat = append(lat, time.Since(start))
	}
	return lat, nil
}

func cdpContact(i int) string { return fmt.Sprintf("wm%08d", i) }
