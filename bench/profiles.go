package main

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// The profile figure (issue 3): one tenant of 1,000,000 contacts, profile
// reads by any id (contact id, unionid, phone) from 8 concurrent clients.
// It is in-process (cdp.Profiles.Get over cdp.Memory), so it is cdp's
// BenchmarkProfileReads, run against the harness's ClickHouse.
const (
	profilesDatabase = "bench_profiles"
	profileClients   = 8
	targetProfileP99 = 20 * time.Millisecond
)

// measureProfiles runs BenchmarkProfileReads and records its figures.
func (h *harness) measureProfiles(ctx context.Context) error {
	contacts, events, readFor := 1_000_000, 12_000_000, 30
	if h.cfg.quick {
		contacts, events, readFor = 20_000, 240_000, 5
	}
	lines, err := h.goBench(ctx, "./cdp", "BenchmarkProfileReads", "profile reads",
		"SIYU_BENCH_CLICKHOUSE_DSN="+h.env.dsnOf(profilesDatabase),
		fmt.Sprintf("SIYU_BENCH_PROFILES=%d,%d,%d", contacts, events, readFor))
	if err != nil {
		return err
	}
	m, err := metricsOf(lines, "BenchmarkProfileReads", "p50-ms", "p99-ms", "reads/s", "failures",
		"ch-p50-ms", "ch-p99-ms", "ch-reads/s", "load-ms")
	if err != nil {
		return err
	}
	h.record(profileRows(contacts, m)...)
	return nil
}

// profileRows are the figure's rows from the benchmark's metrics, in
// metricsOf's order.
func profileRows(contacts int, m []float64) []row {
	p99 := time.Duration(m[1] * float64(time.Millisecond))
	label := fmt.Sprintf("profile read by any id, p50 / p99 (%d clients, %s contacts; tenant in memory)", profileClients, thousands(contacts))
	return []row{
		{label, fmt.Sprintf("%.1f ms / %.1f ms", m[0], m[1]), "p99 ≤ 20 ms", pass(p99 <= targetProfileP99 && m[2] > 0)},
		info("profile reads per second (tenant in memory)", rateValue(m[2], "reads/s")),
		info("the same reads from ClickHouse only, p50 / p99, reads/s (same run)",
			fmt.Sprintf("%.1f ms / %.1f ms, %s", m[4], m[5], rateValue(m[6], "reads/s"))),
		info("loading the tenant into memory (cdp.Memory)", round(time.Duration(m[7]*float64(time.Millisecond)))),
		{"profile read failures", strconv.Itoa(int(m[3])), "0", pass(m[3] == 0)},
	}
}
