package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The rep's-day figures (issue 4): a rep holding many customers logs a
// follow-up and reads their board; the follow-up must be on it within 1 s.
// Then the rep's other day reads are timed (no targets: for the record).
// It runs on a topic, consumer group and database of its own, so that it
// neither waits behind nor disturbs the foundation's streams.
const (
	fdayTenant    = "fday"
	fdayStaff     = "s0001"
	fdayTopic     = "fday.events"
	fdayGroup     = "fday-ingest"
	fdayDatabase  = "followupday"
	targetFollowp = time.Second
	fdayReadLimit = 10 * time.Second
)

// fdayResult is the follow-up → board figure.
type fdayResult struct {
	samples    int
	firstFresh int // samples whose first read after the write reflected it
	p50, p99   time.Duration
	max        time.Duration
	// The POST alone (until Kafka acked the event), for the breakdown.
	postP50, postP99 time.Duration
}

// measureFollowupToBoard seeds a rep holding cfg.fdayCustomers customers,
// runs `siyu ingest` and `siyu serve` on the figure's own topic, then, one
// sample after another, logs a follow-up (POST /v1/customers/{id}/followups)
// and reads the board with the write's token (Siyu-Read-After) until the
// follow-up shows; the figure is the time from sending the POST to the
// first board answer that shows it.
func (h *harness) measureFollowupToBoard(ctx context.Context) error {
	conn, dsn, err := h.env.database(ctx, fdayDatabase)
	if err != nil {
		return err
	}
	conn.Close()
	if err := h.env.ensureTopics(ctx, fdayTopic, fdayTopic+".dlq"); err != nil {
		return err
	}
	out, err := runChild(ctx, h.cfg.siyu, "keys", "create", "--clickhouse-dsn", dsn, "--tenant", fdayTenant, "--role", "rep", "--staff-id", fdayStaff)
	if err != nil {
		return err
	}
	key := strings.TrimSpace(out)
	n := h.cfg.fdayCustomers
	h.say("seeding %s customers held by %s", thousands(n), fdayStaff)
	if err := seedRepBook(ctx, h.env.producer, n); err != nil {
		return err
	}
	kf := []string{"--kafka-brokers", h.env.broker, "--topic", fdayTopic, "--dlq-topic", fdayTopic + ".dlq", "--group", fdayGroup}
	ing, err := startChild("ingest-fday", h.env.logFile("ingest-fday"), h.cfg.siyu,
		append([]string{"ingest", "--clickhouse-dsn", dsn, "--metrics-addr", ""}, kf...)...)
	if err != nil {
		return err
	}
	defer h.release(ctx, ing)
	if err := waitGroupCommitted(ctx, h.env.producer, fdayGroup, fdayTopic, 5*time.Minute); err != nil {
		return fmt.Errorf("seed not ingested: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	srv, err := startChild("serve-fday", h.env.logFile("serve-fday"), h.cfg.siyu,
		append([]string{"serve", "--clickhouse-dsn", dsn, "--http-addr", addr}, kf...)...)
	if err != nil {
		return err
	}
	defer h.release(ctx, srv)
	if err := waitHealthy(ctx, "http://"+addr+"/healthz", srv); err != nil {
		return err
	}
	cpu := h.meter(map[string]int{"siyu ingest": ing.pid(), "siyu serve": srv.pid()})
	r, err := followupSamples(ctx, "http://"+addr, key, n, h.cfg.fdaySamples)
	h.recordCPU("follow-up → board", cpu)
	if err != nil {
		return err
	}
	figure := fmt.Sprintf("log a follow-up → on the board, p99 (rep of %s customers, %d samples)", thousands(n), r.samples)
	h.record(
		row{figure, round(r.p99), "≤ " + round(targetFollowp), pass(r.p99 <= targetFollowp)},
		info("log a follow-up → on the board, p50 / max", round(r.p50)+" / "+round(r.max)),
		info("of which POST /v1/customers/{id}/followups (Kafka acked), p50 / p99", round(r.postP50)+" / "+round(r.postP99)),
		info("board reads fresh on the first read after the write (Siyu-Read-After)", fmt.Sprintf("%d of %d", r.firstFresh, r.samples)),
	)
	h.say("follow-up → board: p50 %s, p99 %s, max %s; %d of %d fresh on the first read",
		round(r.p50), round(r.p99), round(r.max), r.firstFresh, r.samples)
	return h.timeReads(ctx, "http://"+addr, key, n, max(20, h.cfg.fdaySamples/3))
}

// seedRepBook produces the rep's book of n customers c000000…: each added
// eight days ago, moved to a stage, and in a chat on one of the last seven
// days (an inbound message, answered minutes later), so that the day reads
// have something to count.
func seedRepBook(ctx context.Context, cl *kgo.Client, n int) error {
	now := time.Now().UTC()
	recs := make([]*kgo.Record, 0, 1000)
	for i := range n {
		day := now.Add(-time.Duration(1+i%7) * 24 * time.Hour)
		evs := []wireEvent{
			fdayEvent(i, "add", "contact.added", now.Add(-8*24*time.Hour)).with("name", "customer "+strconv.Itoa(i)),
			fdayEvent(i, "stage", "followup.stage_changed", day).with("stage", []string{"contacted", "qualified", "proposal", "won"}[i%4]),
			fdayEvent(i, "in", "chat.message", day.Add(time.Minute)).with("direction", "in"),
			fdayEvent(i, "out", "chat.message", day.Add(time.Duration(2+i%30)*time.Minute)).with("direction", "out"),
		}
		for j := range evs {
			recs = append(recs, evs[j].record(fdayTopic))
		}
		if len(recs) >= 996 || i == n-1 {
			if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				return fmt.Errorf("seed: %w", err)
			}
			recs = recs[:0]
		}
	}
	return nil
}

func fdayEvent(i int, kind, typ string, at time.Time) wireEvent {
	return wireEvent{ID: fmt.Sprintf("fday-%s-%d", kind, i), Source: "bench", Type: typ,
		Tenant: fdayTenant, Subject: fdayContact(i), Time: at}.with("staff_id", fdayStaff)
}

// fdayReads are the day reads timed after the follow-up samples.
var fdayReads = []struct{ name, path string }{
	{"GET /v1/followups/reminders?within=24h", "/v1/followups/reminders?within=24h"},
	{"GET /v1/followups/digest", "/v1/followups/digest"},
	{"GET /v1/followups/funnel (7 days)", "/v1/followups/funnel"},
	{"GET /v1/followups/stats (7 days)", "/v1/followups/stats"},
}

// timeReads times n sequential requests of each day read and records p50 / p99.
func (h *harness) timeReads(ctx context.Context, base, key string, customers, n int) error {
	hc := &http.Client{Timeout: 30 * time.Second}
	for _, r := range fdayReads {
		lat := make([]time.Duration, 0, n)
		for range n {
			start := time.Now()
			if err := getOK(ctx, hc, base+r.path, key); err != nil {
				return fmt.Errorf("%s: %w", r.name, err)
			}
			lat = append(lat, time.Since(start))
		}
		p50, p99, _ := quantiles(lat)
		h.record(info(fmt.Sprintf("%s, p50 / p99 (rep of %s customers, %d reads)", r.name, thousands(customers), n),
			round(p50)+" / "+round(p99)))
		h.say("%s: p50 %s, p99 %s", r.name, round(p50), round(p99))
	}
	return nil
}

func getOK(ctx context.Context, hc *http.Client, url, key string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%d %s", resp.StatusCode, b)
	}
	return nil
}

func fdayContact(i int) string { return fmt.Sprintf("c%06d", i) }

// followupSamples logs follow-ups one after another, each with a next
// follow-up earlier than all before it, so that it heads the board's first
// page; each sample waits for the board to show it.
func followupSamples(ctx context.Context, base, key string, customers, samples int) (fdayResult, error) {
	hc := &http.Client{Timeout: 30 * time.Second}
	first := time.Now().Add(48 * time.Hour).Truncate(time.Second)
	var lat, posts []time.Duration
	r := fdayResult{}
	for i := range samples {
		contact := fdayContact(i * 7919 % customers)
		next := first.Add(-time.Duration(i) * time.Second)
		start := time.Now()
		token, err := postFollowup(ctx, hc, base, key, contact, next)
		if err != nil {
			return r, err
		}
		posts = append(posts, time.Since(start))
		fresh, reads, err := waitOnBoard(ctx, hc, base, key, token, contact, next)
		if err != nil {
			return r, fmt.Errorf("sample %d: %w", i, err)
		}
		lat = append(lat, time.Since(start))
		if fresh && reads == 1 {
			r.firstFresh++
		}
	}
	r.samples = len(lat)
	r.p50, r.p99, r.max = quantiles(lat)
	r.postP50, r.postP99, _ = quantiles(posts)
	return r, nil
}

// quantiles returns the p50, p99 and max of d (sorted in place).
func quantiles(d []time.Duration) (p50, p99, maximum time.Duration) {
	slices.Sort(d)
	return d[len(d)/2], d[min(len(d)-1, len(d)*99/100)], d[len(d)-1]
}

func postFollowup(ctx context.Context, hc *http.Client, base, key, contact string, next time.Time) (string, error) {
	body, _ := json.Marshal(map[string]string{"channel": "call", "note": "bench", "next_at": next.Format(time.RFC3339)})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/customers/"+contact+"/followups", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("POST follow-up: %d %s", resp.StatusCode, b)
	}
	return resp.Header.Get("Siyu-Write-Token"), nil
}

type boardHead struct {
	Items []struct {
		ContactID      string     `json:"contact_id"`
		NextFollowupAt *time.Time `json:"next_followup_at"`
	} `json:"items"`
}

// waitOnBoard reads the board's first page (with the write token) until it
// starts with contact at next; it reports whether the first read answered
// Siyu-Consistency: fresh, and how many reads it took.
func waitOnBoard(ctx context.Context, hc *http.Client, base, key, token, contact string, next time.Time) (bool, int, error) {
	deadline := time.Now().Add(fdayReadLimit)
	firstFresh := false
	for reads := 1; time.Now().Before(deadline); reads++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/followups/board?view=all&limit=20", nil)
		if err != nil {
			return false, reads, err
		}
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Siyu-Read-After", token)
		resp, err := hc.Do(req)
		if err != nil {
			return false, reads, err
		}
		var page boardHead
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return false, reads, fmt.Errorf("GET board: %d %v", resp.StatusCode, err)
		}
		if reads == 1 {
			firstFresh = resp.Header.Get("Siyu-Consistency") == "fresh"
		}
		if len(page.Items) > 0 && page.Items[0].ContactID == contact && page.Items[0].NextFollowupAt != nil &&
			page.Items[0].NextFollowupAt.Equal(next) {
			return firstFresh, reads, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false, 0, fmt.Errorf("%s's follow-up not on the board within %s", contact, fdayReadLimit)
}
