package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// followupSizes are the sizes of the follow-up figures (--quick shrinks
// those not set).
type followupSizes struct {
	customers    int // customers of the board tenant
	reps         int // reps of the board tenant
	hold         int // customers of the rep whose board is read
	boardClients int
	boardFor     time.Duration
	pool         int // customers in the pool of the claims figure
	poolReps     int
	poolClients  int
	poolFor      time.Duration
}

// bindFollowupFlags registers the follow-up sizes on fs.
func bindFollowupFlags(fs *flag.FlagSet) *followupSizes {
	s := &followupSizes{boardClients: 8, boardFor: 20 * time.Second, poolReps: 50, poolClients: 32, poolFor: 20 * time.Second}
	fs.IntVar(&s.customers, "followup-customers", 1_000_000, "customers of the board figure's tenant")
	fs.IntVar(&s.reps, "followup-reps", 500, "reps of the board figure's tenant")
	fs.IntVar(&s.hold, "followup-hold", 20_000, "customers assigned to the rep whose board is read")
	fs.IntVar(&s.pool, "followup-pool", 300_000, "customers in the pool of the claims figure (enough for claims to last the whole measuring time)")
	return s
}

// quick shrinks the sizes not set on the command line.
func (s *followupSizes) quick(set map[string]bool) {
	for name, p := range map[string]*int{"followup-customers": &s.customers, "followup-reps": &s.reps,
		"followup-hold": &s.hold, "followup-pool": &s.pool} {
		if !set[name] {
			*p = map[string]int{"followup-customers": 50_000, "followup-reps": 50, "followup-hold": 2_000, "followup-pool": 2_000}[name]
		}
	}
	s.boardFor, s.poolFor = 5*time.Second, 5*time.Second
}

// The follow-up figures run their own databases and topic, so that the
// foundation's stream never reaches them.
const (
	poolDatabase  = "bench_pool"
	boardDatabase = "bench_board"
	followupTopic = "siyu.bench.followup"
	poolBenchTen  = "pool"
	boardBenchTen = "board"
	bigRep        = "big"
)

// measurePoolClaims seeds a pool, sets the rules, and claims from it
// through `siyu serve` over HTTP from concurrent clients, each claim one
// customer for one of the reps; then checks every invariant against the
// answers and the state ClickHouse folds (`siyu ingest` runs alongside).
func (h *harness) measurePoolClaims(ctx context.Context) error {
	s := h.cfg.fu
	conn, dsn, err := h.env.database(ctx, poolDatabase)
	if err != nil {
		return err
	}
	defer conn.Close()
	keys, err := h.benchKeys(ctx, dsn, poolBenchTen, s.poolReps)
	if err != nil {
		return err
	}
	ids := make([]string, s.pool)
	for i := range ids {
		ids[i] = fmt.Sprintf("p%07d", i)
	}
	h.say("seeding a pool of %s customers", thousands(s.pool))
	if err := h.seed(ctx, dsn, "pool", poolSeed(ids)); err != nil {
		return err
	}
	srv, addr, err := h.startServeOn(ctx, dsn, "serve-followup", followupTopic)
	if err != nil {
		return err
	}
	defer h.release(ctx, srv)
	ing, err := h.startIngestOn(dsn, "ingest-followup", followupTopic)
	if err != nil {
		return err
	}
	defer h.release(ctx, ing)
	rules := poolRules{MaxHold: int64(s.pool/s.poolReps + 20), MaxClaimsPerDay: int64(s.pool/s.poolReps + 40)}
	if err := httpJSON(ctx, http.MethodPut, "http://"+addr+"/v1/pool/rules", keys["admin"], rules, nil); err != nil {
		return err
	}
	h.say("claiming from %d clients for at most %s (rules: max_hold %d, max_claims_per_day %d)", s.poolClients, s.poolFor, rules.MaxHold, rules.MaxClaimsPerDay)
	cpu := h.meter(map[string]int{"siyu serve": srv.pid(), "siyu ingest": ing.pid()})
	r := claimLoad(ctx, "http://"+addr+"/v1/pool/claim", keys, ids, s.poolClients, s.poolFor)
	h.recordCPU("pool claims", cpu)
	if r.err != nil {
		return r.err
	}
	rate := perSecond(r.requests, r.elapsed)
	h.say("pool claims: %s decisions/s (%s accepted), p99 %s", thousands(int(rate)), thousands(len(r.owner)), round(r.p99))
	verr := h.checkClaims(ctx, conn, r, rules)
	ok := "yes"
	if rate < 1000 || verr != nil {
		ok = "NO"
	}
	inv := "held"
	if verr != nil {
		inv = verr.Error()
	}
	h.record(row{"pool claims through siyu serve (HTTP, one claim per request)",
		fmt.Sprintf("%s claims/s (%s accepted, p99 %s); invariants %s", thousands(int(rate)), thousands(len(r.owner)), round(r.p99), inv),
		"≥ 1,000 claims/s, invariants held", ok})
	return verr
}

// claimResult is what the claim clients saw.
type claimRun struct {
	requests int
	owner    map[string]string // customer → rep that claimed it
	perRep   map[string]int
	elapsed  time.Duration
	p99      time.Duration
	err      error
}

// claimLoad sends one-customer claims until every customer was asked for
// once (a tenth of the requests ask again for an earlier one, to contend)
// or d passes.
func claimLoad(ctx context.Context, url string, keys map[string]string, ids []string, clients int, d time.Duration) claimRun {
	var next atomic.Int64
	var mu sync.Mutex
	run := claimRun{owner: map[string]string{}, perRep: map[string]int{}}
	var lat []time.Duration
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(c), 3))
			for time.Now().Before(deadline) && ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(ids) {
					return
				}
				if rnd.IntN(10) == 0 {
					i = rnd.IntN(i + 1)
				}
				rep := fmt.Sprintf("r%03d", rnd.IntN(len(keys)-1))
				var out struct {
					Claimed []string `json:"claimed"`
				}
				t0 := time.Now()
				err := httpJSON(ctx, http.MethodPost, url, keys[rep], map[string]any{"customer_ids": []string{ids[i]}}, &out)
				took := time.Since(t0)
				mu.Lock()
				run.requests++
				lat = append(lat, took)
				if err != nil && run.err == nil {
					run.err = err
				}
				for _, id := range out.Claimed {
					if prev := run.owner[id]; prev != "" && run.err == nil {
						run.err = fmt.Errorf("%s claimed by %s and %s", id, prev, rep)
					}
					run.owner[id] = rep
					run.perRep[rep]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	run.elapsed = time.Since(start)
	slices.Sort(lat)
	if len(lat) > 0 {
		run.p99 = quantile(lat, 0.99)
	}
	return run
}

// checkClaims checks the invariants: no rep over the rules in the answers,
// and ClickHouse, once the pipeline has the claims, agrees with every
// accepted claim and has no rep over max_hold.
func (h *harness) checkClaims(ctx context.Context, conn driver.Conn, r claimRun, rules poolRules) error {
	for rep, n := range r.perRep {
		if int64(n) > rules.MaxHold || int64(n) > rules.MaxClaimsPerDay {
			return fmt.Errorf("%s was granted %d claims", rep, n)
		}
	}
	h.say("waiting for ClickHouse to fold %s claims", thousands(len(r.owner)))
	deadline := time.Now().Add(2 * time.Minute)
	for {
		state, err := assigneesIn(ctx, conn, poolBenchTen)
		if err != nil {
			return err
		}
		missing, held := 0, map[string]int{}
		for c, rep := range r.owner {
			if state[c] != rep {
				missing++
			}
		}
		for _, rep := range state {
			held[rep]++
		}
		for rep, n := range held {
			if rep != "" && int64(n) > rules.MaxHold {
				return fmt.Errorf("ClickHouse: %s holds %d customers", rep, n)
			}
		}
		if missing == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("ClickHouse lacks %d accepted claims after 2 minutes", missing)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func assigneesIn(ctx context.Context, conn driver.Conn, tenant string) (map[string]string, error) {
	// The binary's own query, so that the check folds as `siyu serve` does.
	q, err := catalogQuery("assignee_tenant")
	if err != nil {
		return nil, err
	}
	rows, err := conn.Query(ctx, q, clickhouse.Named("tenant", tenant), clickhouse.Named("contact_id", ""))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var c, first, lastTo, lastID, lastSrc string
		var firstNs, lastNs, fu int64
		if err := rows.Scan(&c, &first, &firstNs, &lastTo, &lastNs, &lastID, &lastSrc, &fu); err != nil {
			return nil, err
		}
		out[c] = first
		if lastID != "" {
			out[c] = lastTo
		}
	}
	return out, rows.Err()
}

// measureBoard builds a tenant of many customers and reps in which one rep
// holds many, and reads that rep's board's first page from concurrent
// clients through `siyu serve`.
func (h *harness) measureBoard(ctx context.Context) error {
	s := h.cfg.fu
	conn, dsn, err := h.env.database(ctx, boardDatabase)
	if err != nil {
		return err
	}
	defer conn.Close()
	h.say("building a tenant of %s customers and %d reps; %s hold %s of them", thousands(s.customers), s.reps, bigRep, thousands(s.hold))
	if err := h.seed(ctx, dsn, "board", boardSeed(s)); err != nil {
		return err
	}
	key, err := h.createKey(ctx, dsn, boardBenchTen, "rep", bigRep, "bench")
	if err != nil {
		return err
	}
	srv, addr, err := h.startServeOn(ctx, dsn, "serve-followup", followupTopic)
	if err != nil {
		return err
	}
	defer h.release(ctx, srv)
	url := "http://" + addr + "/v1/followups/board?limit=50"
	var first boardPage
	if err := httpJSON(ctx, http.MethodGet, url, key, nil, &first); err != nil {
		return err
	}
	if len(first.Items) != 50 {
		return fmt.Errorf("the board's first page has %d customers, want 50", len(first.Items))
	}
	h.say("waiting for the tenant's memory board (the first read registered it)")
	before, _ := procStatusKB(srv.pid(), "VmRSS")
	loaded, err := waitMemory(ctx, addr, "siyu_board_reads_total", func() error {
		var page boardPage
		return httpJSON(ctx, http.MethodGet, url, key, nil, &page)
	})
	if err != nil {
		return err
	}
	time.Sleep(2 * time.Second) // the load's garbage is collected
	after, _ := procStatusKB(srv.pid(), "VmRSS")
	h.say("memory board served %s after the first read", round(loaded))
	h.record(row{fmt.Sprintf("memory board of a tenant of %s customers: first read → served from memory; siyu serve RSS before → after", thousands(s.customers)),
		fmt.Sprintf("%s; %s → %s MB", round(loaded), thousands(int(before/1024)), thousands(int(after/1024))), "—", ""})
	h.say("reading the first page from %d clients for %s", s.boardClients, s.boardFor)
	cpu := h.meter(map[string]int{"siyu serve": srv.pid()})
	lat, err := readLoad(ctx, url, key, nil, s.boardClients, s.boardFor)
	h.recordCPU("board first page", cpu)
	if err != nil {
		return err
	}
	p99 := quantile(lat, 0.99)
	rate := perSecond(len(lat), s.boardFor)
	ok := "yes"
	if p99 > 50*time.Millisecond {
		ok = "NO"
	}
	h.say("board: p99 %s, %s req/s", round(p99), thousands(int(rate)))
	h.record(row{fmt.Sprintf("board first page, rep of %s in a tenant of %s customers (%d clients)", thousands(s.hold), thousands(s.customers), s.boardClients),
		fmt.Sprintf("p99 %s, p50 %s, %s req/s", round(p99), round(quantile(lat, 0.5)), thousands(int(rate))), "p99 ≤ 50 ms", ok})
	return h.measureTimeline(ctx, dsn, addr, key)
}

// timelineEvents is the length of the timeline figure's customer's history.
const timelineEvents = 5_000

// measureTimeline gives one of the big rep's customers a history of
// timelineEvents chat messages and reads its timeline's first page from
// concurrent clients through the same `siyu serve`.
func (h *harness) measureTimeline(ctx context.Context, dsn, addr, key string) error {
	s := h.cfg.fu
	const id = "c0000000" // the big rep's first customer (boardSeed)
	at := time.Now().Add(-24 * time.Hour).UTC()
	h.say("giving %s a history of %s chat messages", id, thousands(timelineEvents))
	err := h.seed(ctx, dsn, "timeline", func(yield func(wireEvent) bool) {
		for i := range timelineEvents {
			e := wireEvent{ID: fmt.Sprintf("msg-%d", i), Source: "bench", Type: "chat.message", Tenant: boardBenchTen,
				Subject: id, Time: at.Add(time.Duration(i) * time.Second)}
			if !yield(e.with("staff_id", bigRep).with("direction", []string{"in", "out"}[i%2])) {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	url := "http://" + addr + "/v1/customers/" + id + "/timeline?limit=50"
	var first timelinePage
	if err := httpJSON(ctx, http.MethodGet, url, key, nil, &first); err != nil {
		return err
	}
	if len(first.Items) != 50 || first.NextCursor == "" {
		return fmt.Errorf("the timeline's first page has %d events, want 50 and a next cursor", len(first.Items))
	}
	for _, how := range []struct {
		name, target string
		hdr          http.Header
	}{
		{"timeline first page", "p99 ≤ 30 ms", nil},
		{"timeline first page, Cache-Control: no-cache (ClickHouse every read)", "—", http.Header{"Cache-Control": {"no-cache"}}},
	} {
		h.say("reading the %s from %d clients for %s", how.name, s.boardClients, s.boardFor)
		lat, err := readLoad(ctx, url, key, how.hdr, s.boardClients, s.boardFor)
		if err != nil {
			return err
		}
		p99 := quantile(lat, 0.99)
		ok := ""
		if how.hdr == nil {
			ok = "yes"
			if p99 > 30*time.Millisecond {
				ok = "NO"
			}
		}
		h.say("%s: p99 %s", how.name, round(p99))
		h.record(row{fmt.Sprintf("%s, customer of %s events (%d clients)", how.name, thousands(timelineEvents), s.boardClients),
			fmt.Sprintf("p99 %s, p50 %s, %s req/s", round(p99), round(quantile(lat, 0.5)), thousands(int(perSecond(len(lat), s.boardFor)))), how.target, ok})
	}
	return nil
}

// readLoad GETs url from clients for d and returns the sorted latencies.
func readLoad(ctx context.Context, url, key string, hdr http.Header, clients int, d time.Duration) ([]time.Duration, error) {
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t0 := time.Now()
				err := httpDo(ctx, http.MethodGet, url, key, hdr, nil, nil)
				mu.Lock()
				lat = append(lat, time.Since(t0))
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	slices.Sort(lat)
	if len(lat) == 0 {
		return nil, fmt.Errorf("no request finished")
	}
	return lat, firstErr
}

// startServeOn starts `siyu serve` on topic (and its dead-letter topic),
// logging to name's log file.
func (h *harness) startServeOn(ctx context.Context, dsn, name, topic string) (*child, string, error) {
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	h.say("starting siyu serve on %s (log: %s)", addr, h.env.logFile(name))
	srv, err := startChild(name, h.env.logFile(name), h.cfg.siyu, "serve", "--clickhouse-dsn", dsn,
		"--kafka-brokers", h.env.broker, "--http-addr", addr, "--topic", topic, "--dlq-topic", topic+".dlq")
	if err != nil {
		return nil, "", err
	}
	if err := waitHealthy(ctx, "http://"+addr+"/healthz", srv); err != nil {
		_ = srv.stop(5 * time.Second)
		return nil, "", err
	}
	return srv, addr, nil
}

// startIngestOn starts `siyu ingest` on topic (and its dead-letter topic),
// logging to name's log file.
func (h *harness) startIngestOn(dsn, name, topic string) (*child, error) {
	return startChild(name, h.env.logFile(name), h.cfg.siyu, "ingest", "--clickhouse-dsn", dsn,
		"--kafka-brokers", h.env.broker, "--metrics-addr", "", "--topic", topic, "--dlq-topic", topic+".dlq")
}

// benchKeys creates an admin key and rep keys r000… of tenant with `siyu
// keys create`.
func (h *harness) benchKeys(ctx context.Context, dsn, tenant string, reps int) (map[string]string, error) {
	out := map[string]string{}
	var err error
	if out["admin"], err = h.createKey(ctx, dsn, tenant, "admin", "", "bench-admin"); err != nil {
		return nil, err
	}
	for i := range reps {
		staff := fmt.Sprintf("r%03d", i)
		if out[staff], err = h.createKey(ctx, dsn, tenant, "rep", staff, "bench-"+staff); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// createKey creates an API key with `siyu keys create` and returns it.
func (h *harness) createKey(ctx context.Context, dsn, tenant, role, staff, name string) (string, error) {
	args := []string{"keys", "create", "--clickhouse-dsn", dsn, "--tenant", tenant, "--role", role, "--name", name}
	if staff != "" {
		args = append(args, "--staff-id", staff)
	}
	out, err := runChild(ctx, h.cfg.siyu, args...)
	return strings.TrimSpace(out), err
}

// poolRules is the body of PUT /v1/pool/rules.
type poolRules struct {
	MaxHold         int64 `json:"max_hold"`
	MaxClaimsPerDay int64 `json:"max_claims_per_day"`
	RecycleDays     int64 `json:"recycle_days"`
	CooldownDays    int64 `json:"cooldown_days"`
}

// boardPage and timelinePage are the parts of the answers the figures check.
type boardPage struct {
	Items      []json.RawMessage `json:"items"`
	NextCursor string            `json:"next_cursor"`
}

type timelinePage = boardPage

// poolSeed adds each customer (by "seed") and releases it to the pool.
func poolSeed(ids []string) func(yield func(wireEvent) bool) {
	at := time.Now().Add(-time.Hour).UTC()
	return func(yield func(wireEvent) bool) {
		for i, id := range ids {
			add := wireEvent{ID: "add-" + id, Source: "bench", Type: "contact.added", Tenant: poolBenchTen, Subject: id,
				Time: at.Add(time.Duration(i))}.with("staff_id", "seed")
			rel := wireEvent{ID: "rel-" + id, Source: "bench", Type: "assignee.changed", Tenant: poolBenchTen, Subject: id,
				Time: at.Add(time.Minute)}.with("from_staff_id", "seed").with("reason", "release")
			if !yield(add) || !yield(rel) {
				return
			}
		}
	}
}

// boardSeed adds the board tenant's customers: every (customers/hold)th by
// the big rep (so its customers are spread over the whole key range, the
// worst case for the primary-key lookups), the others over the other reps; each has a follow-up with a
// next time spread over 30 days, so that the board sorts for real.
func boardSeed(s *followupSizes) func(yield func(wireEvent) bool) {
	at := time.Now().Add(-48 * time.Hour).UTC()
	return func(yield func(wireEvent) bool) {
		step := max(1, s.customers/max(1, s.hold))
		for i := range s.customers {
			id := fmt.Sprintf("c%07d", i)
			staff := fmt.Sprintf("r%03d", i%max(1, s.reps-1))
			if i%step == 0 && i/step < s.hold {
				staff = bigRep // spread over the tenant, as customers come
			}
			add := wireEvent{ID: "add-" + id, Source: "bench", Type: "contact.added", Tenant: boardBenchTen, Subject: id,
				Time: at}.with("staff_id", staff).with("name", "Customer "+id)
			fu := wireEvent{ID: "fu-" + id, Source: "bench", Type: "followup.logged", Tenant: boardBenchTen, Subject: id,
				Time: at.Add(time.Hour)}.with("staff_id", staff).with("channel", "call").
				with("next_at", at.Add(time.Duration(i*7919%(30*24*60))*time.Minute))
			if !yield(add) || !yield(fu) {
				return
			}
		}
	}
}

// httpJSON sends body as JSON with key and decodes a 2xx answer into out.
func httpJSON(ctx context.Context, method, url, key string, body, out any) error {
	return httpDo(ctx, method, url, key, nil, body, out)
}

// httpDo is httpJSON with extra request headers.
func httpDo(ctx context.Context, method, url, key string, hdr http.Header, body, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, b)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

// waitMemory calls read until `siyu serve` says (its counter
// metric{source="memory"}) it served a read from memory, and returns how
// long that took.
func waitMemory(ctx context.Context, addr, metric string, read func() error) (time.Duration, error) {
	start := time.Now()
	for time.Since(start) < 5*time.Minute {
		if err := read(); err != nil {
			return 0, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
		if err != nil {
			return 0, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return 0, err
		}
		for _, line := range strings.Split(string(body), "\n") {
			if strings.HasPrefix(line, metric+`{source="memory"} `) {
				return time.Since(start), nil
			}
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return 0, fmt.Errorf("%s: nothing was served from memory within 5 minutes: see the serve log", metric)
}
