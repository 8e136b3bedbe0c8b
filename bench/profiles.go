package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/siyu-dev/siyu/cdp"
	"github.com/siyu-dev/siyu/ingest"
	"github.com/siyu-dev/siyu/internal/progress"
	"github.com/siyu-dev/siyu/loadgen"
	"github.com/siyu-dev/siyu/store"
)

// The profile figure (issue 3): one tenant of 1,000,000 contacts, profile
// reads by any id (contact id, unionid, phone) from 8 concurrent clients.
const (
	profilesDatabase = "bench_profiles"
	seedProfiles     = 4
	profileClients   = 8
	targetProfileP99 = 20 * time.Millisecond
)

// measureProfiles loads the tenant straight into ClickHouse (columnar
// inserts into events, views included: the pipeline's own write path minus
// Kafka), then times cdp.Profiles.Get, identity walk included.
func (h *harness) measureProfiles(ctx context.Context) error {
	contacts, events, readFor := 1_000_000, 12_000_000, 30*time.Second
	if h.cfg.quick {
		contacts, events, readFor = 20_000, 240_000, 5*time.Second
	}
	conn, _, err := h.env.database(ctx, profilesDatabase)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := h.loadProfiles(ctx, conn, contacts, events); err != nil {
		return err
	}
	ids, err := sampleIDs(ctx, conn)
	if err != nil {
		return err
	}
	h.say("reading profiles from ClickHouse by %d sampled ids with %d clients for %s", len(ids), profileClients, readFor)
	chLat, _, _ := readProfiles(ctx, cdp.NewProfiles(conn, nil), ids, readFor)
	h.say("loading the tenant into memory (what `siyu serve` does on its first read)")
	mem := cdp.NewMemory(conn, nil, nil, h.env.log)
	start := time.Now()
	if err := mem.LoadNow(ctx, "t0001"); err != nil {
		return err
	}
	loaded := time.Since(start)
	profiles := cdp.NewProfiles(conn, mem)
	h.say("reading profiles from memory by the same ids with %d clients for %s", profileClients, readFor)
	lat, failures, firstErr := readProfiles(ctx, profiles, ids, readFor)
	p50, p99 := percentile(lat, 0.50), percentile(lat, 0.99)
	label := fmt.Sprintf("profile read by any id, p50 / p99 (%d clients, %s contacts; tenant in memory)", profileClients, thousands(contacts))
	h.record(
		row{label, fmt.Sprintf("%s / %s", msFine(p50), msFine(p99)), "p99 ≤ 20 ms", pass(p99 <= targetProfileP99 && len(lat) > 0)},
		info("profile reads per second (tenant in memory)", rateValue(perSecond(len(lat), readFor), "reads/s")),
		info("the same reads from ClickHouse only, p50 / p99, reads/s (same run)", fmt.Sprintf("%s / %s, %s",
			msFine(percentile(chLat, 0.50)), msFine(percentile(chLat, 0.99)), rateValue(perSecond(len(chLat), readFor), "reads/s"))),
		info("loading the tenant into memory (cdp.Memory)", round(loaded)),
		row{"profile read failures", fmt.Sprintf("%d %s", failures, firstErr), "0", pass(failures == 0)},
	)
	return store.DropDatabase(ctx, conn, profilesDatabase)
}

func (h *harness) loadProfiles(ctx context.Context, conn driver.Conn, contacts, events int) error {
	g, err := loadgen.New(loadgen.Config{Seed: seedProfiles, Tenants: 1, StaffPerTenant: 200,
		ContactsPerTenant: contacts, Events: events, TagsPerTenant: 300,
		Start: time.Now().Add(-31 * 24 * time.Hour), Days: 30})
	if err != nil {
		return fmt.Errorf("loadgen: %w", err)
	}
	h.say("building and inserting %s events of one tenant into %s.events", thousands(events), profilesDatabase)
	bar := progress.New(os.Stderr, "load", g.Total())
	recs, _, err := buildRecords(g, recordRows, bar.Add)
	bar.Done()
	if err != nil {
		return err
	}
	defer releaseAll(recs)
	w := ingest.NewWriterTo(conn, "events")
	for i, r := range recs {
		if err := w.Write(ctx, r); err != nil {
			return fmt.Errorf("insert record %d: %w", i, err)
		}
	}
	return nil
}

// sampleIDs picks contact ids, unionids and phones of the tenant.
func sampleIDs(ctx context.Context, conn driver.Conn) ([]string, error) {
	var ids []string
	for _, q := range []string{
		"SELECT contact_id FROM profile_state LIMIT 3000",
		"SELECT node FROM identity_links WHERE dir = 0 LIMIT 3000",
	} {
		rows, err := conn.Query(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("sample ids: %w", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sample ids: %w", err)
			}
			ids = append(ids, id)
		}
		rows.Close()
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("sample ids: the tenant has no customers")
	}
	return ids, nil
}

// readProfiles runs profileClients readers over random ids for d and
// returns every latency, sorted.
func readProfiles(ctx context.Context, p *cdp.Profiles, ids []string, d time.Duration) ([]time.Duration, int, string) {
	var mu sync.Mutex
	var all []time.Duration
	failures, firstErr := 0, ""
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for c := range profileClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(c), 7))
			var mine []time.Duration
			for time.Now().Before(deadline) && ctx.Err() == nil {
				start := time.Now()
				_, err := p.Get(ctx, "t0001", ids[r.IntN(len(ids))])
				mine = append(mine, time.Since(start))
				if err != nil {
					mu.Lock()
					failures++
					if firstErr == "" {
						firstErr = "(first: " + err.Error() + ")"
					}
					mu.Unlock()
				}
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(all)
	return all, failures, firstErr
}

// percentile of sorted latencies (nearest rank).
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

func msFine(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}
