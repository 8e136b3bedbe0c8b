package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fastjson"
)

// postTenant owns the admin key and every posted event.
const postTenant = "t0001"

// postResult is the POST /v1/events figure.
type postResult struct {
	accepted int
	requests int
	failures int
	firstErr string
	elapsed  time.Duration
	rate     float64
	p50, p99 time.Duration
}

// adminKey creates an admin key for tenant with `siyu keys create` in the
// end-to-end database, and returns that database's DSN and the key.
func (h *harness) adminKey(ctx context.Context, tenant string) (dsn, key string, err error) {
	conn, dsn, err := h.env.database(ctx, e2eDatabase)
	if err != nil {
		return "", "", err
	}
	conn.Close()
	out, err := runChild(ctx, h.cfg.siyu, "keys", "create", "--clickhouse-dsn", dsn, "--tenant", tenant, "--role", "admin")
	if err != nil {
		return "", "", err
	}
	return dsn, strings.TrimSpace(out), nil
}

// measurePost starts `siyu serve`, creates an admin key with `siyu keys
// create`, and posts prebuilt 1,000-event batches from concurrent
// keep-alive clients for the figure's duration.
func (h *harness) measurePost(ctx context.Context) error {
	dsn, key, err := h.adminKey(ctx, postTenant)
	if err != nil {
		return err
	}
	bodies, err := h.postBodies(ctx)
	if err != nil {
		return err
	}
	srv, addr, err := h.startServe(ctx, dsn)
	if err != nil {
		return err
	}
	defer h.release(ctx, srv)
	h.say("posting %d-event batches from %d clients for %s", h.cfg.postBatch, h.cfg.postClients, h.cfg.postFor)
	load := postLoad{url: "http://" + addr + "/v1/events", key: key, bodies: bodies, want: h.cfg.postBatch}
	cpu := h.meter(map[string]int{"siyu serve": srv.pid()})
	r := load.run(ctx, h.cfg.postClients, h.cfg.postFor)
	h.recordCPU("POST /v1/events", cpu)
	h.res.post = &r
	h.say("POST /v1/events: %s events/s, p99 %s, %d failures of %d requests", thousands(int(r.rate)), round(r.p99), r.failures, r.requests)
	if err := srv.exited(); err != nil {
		return err
	}
	return srv.stop(15 * time.Second)
}

// startServe starts `siyu serve` on a free port and waits for /healthz.
func (h *harness) startServe(ctx context.Context, dsn string) (*child, string, error) {
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	h.say("starting siyu serve on %s (log: %s)", addr, h.env.logFile("serve"))
	srv, err := startChild("serve", h.env.logFile("serve"), h.cfg.siyu, "serve",
		"--clickhouse-dsn", dsn, "--kafka-brokers", h.env.broker, "--http-addr", addr)
	if err != nil {
		return nil, "", err
	}
	if err := waitHealthy(ctx, "http://"+addr+"/healthz", srv); err != nil {
		_ = srv.stop(5 * time.Second)
		return nil, "", err
	}
	return srv, addr, nil
}

// waitHealthy polls url until it answers 200, the child exits, or 30 s pass.
func waitHealthy(ctx context.Context, url string, c *child) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if err := c.exited(); err != nil {
			return err
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer %s within 30 s; see %s", c.name, url, c.log)
}

// postBodies prebuilds JSON array bodies of the batch size from a loadgen
// stream of the key's tenant; the clients cycle through them.
func (h *harness) postBodies(ctx context.Context) ([][]byte, error) {
	n := 200
	if h.cfg.quick {
		n = 60
	}
	s := stream{seed: seedPost, events: n * h.cfg.postBatch, tenants: []string{postTenant}}
	evs, err := s.lines(ctx, h.cfg.siyu, filepath.Join(h.cfg.dir, "streams", "post.jsonl"))
	if err != nil {
		return nil, err
	}
	bodies := make([][]byte, 0, n)
	for len(evs) > 0 && len(bodies) < n {
		b := []byte{'['}
		for i := 0; i < h.cfg.postBatch && len(evs) > 0; i++ {
			if i > 0 {
				b = append(b, ',')
			}
			b, evs = append(b, evs[0].value...), evs[1:]
		}
		bodies = append(bodies, append(b, ']'))
	}
	return bodies, nil
}

// postLoad posts bodies to url, each of which must be accepted whole.
type postLoad struct {
	url    string
	key    string
	bodies [][]byte
	want   int // events per body
}

// clientStats is what one client saw.
type clientStats struct {
	accepted, requests, failures int
	firstErr                     string
	latencies                    []time.Duration
}

// run posts from clients concurrent clients until dur has passed and
// merges what they saw.
func (l postLoad) run(ctx context.Context, clients int, dur time.Duration) postResult {
	return drive(ctx, clients, dur, len(l.bodies), l.want, func() sender {
		var p fastjson.Parser
		return func(ctx context.Context, hc *http.Client, i int) error {
			return l.post(ctx, hc, &p, l.bodies[i%len(l.bodies)])
		}
	})
}

// sender sends request i (any int: it cycles over what it has) and returns
// an error unless the server took it whole. One client calls it at a time.
type sender func(ctx context.Context, hc *http.Client, i int) error

// drive runs clients concurrent keep-alive clients until dur has passed,
// each with its own sender from newSender, and merges what they saw. The
// clients start spread over the n requests; each accepted request counts
// per (events, callbacks) towards the rate.
func drive(ctx context.Context, clients int, dur time.Duration, n, per int, newSender func() sender) postResult {
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	stats := make([]clientStats, clients)
	start := time.Now()
	deadline := start.Add(dur)
	var wg sync.WaitGroup
	for c := range clients {
		first := c * n / clients
		send := newSender()
		wg.Go(func() { stats[c] = client(ctx, hc, send, first, per, deadline) })
	}
	wg.Wait()
	return mergeStats(stats, time.Since(start))
}

// client sends one request after another, from the first, until the deadline.
func client(ctx context.Context, hc *http.Client, send sender, first, per int, deadline time.Time) clientStats {
	var s clientStats
	for i := first; time.Now().Before(deadline) && ctx.Err() == nil; i++ {
		start := time.Now()
		err := send(ctx, hc, i)
		s.latencies = append(s.latencies, time.Since(start))
		s.requests++
		if err != nil {
			s.failures++
			if s.firstErr == "" {
				s.firstErr = err.Error()
			}
			continue
		}
		s.accepted += per
	}
	return s
}

// post sends one body and checks that the API accepted every event in it.
func (l postLoad) post(ctx context.Context, hc *http.Client, p *fastjson.Parser, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+l.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %.200s", resp.StatusCode, b)
	}
	v, err := p.ParseBytes(b)
	if err != nil {
		return fmt.Errorf("response is not JSON: %w", err)
	}
	if got := v.GetInt("accepted"); got != l.want {
		return fmt.Errorf("accepted %d of %d events", got, l.want)
	}
	return nil
}

// mergeStats adds up the clients' counts and takes the latency quantiles.
func mergeStats(stats []clientStats, elapsed time.Duration) postResult {
	r := postResult{elapsed: elapsed}
	var lat []time.Duration
	for _, s := range stats {
		r.accepted += s.accepted
		r.requests += s.requests
		r.failures += s.failures
		if r.firstErr == "" {
			r.firstErr = s.firstErr
		}
		lat = append(lat, s.latencies...)
	}
	r.rate = perSecond(r.accepted, elapsed)
	if len(lat) > 0 {
		slices.Sort(lat)
		r.p50, r.p99 = quantile(lat, 0.50), quantile(lat, 0.99)
	}
	return r
}
