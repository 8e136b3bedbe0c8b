package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestLoadgenStart: --start takes a day (UTC midnight) or an instant, so
// that a stream can begin at a reporting day's midnight in any zone.
func TestLoadgenStart(t *testing.T) {
	now := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"2026-11-05":                time.Date(2026, 11, 5, 0, 0, 0, 0, time.UTC),
		"2026-11-05T00:00:00+08:00": time.Date(2026, 11, 4, 16, 0, 0, 0, time.UTC),
		"":                          now.Add(-30 * 24 * time.Hour),
	} {
		l := loadgenFlags{seed: 1, tenants: 1, staff: 1, contacts: 10, events: 10, days: 30, paidShare: 0.5, start: in}
		c, err := l.config(now)
		require.NoError(t, err, in)
		require.True(t, want.Equal(c.Start), "%s: %s", in, c.Start)
	}
	l := loadgenFlags{seed: 1, tenants: 1, staff: 1, contacts: 10, events: 10, days: 30, start: "yesterday"}
	_, err := l.config(now)
	require.ErrorContains(t, err, "RFC 3339")
}

// TestLoadgenScenarioCDP: --scenario cdp writes loadgen.CDPTenant, named by
// --tenant-names; an unknown scenario is a usage error.
func TestLoadgenScenarioCDP(t *testing.T) {
	var out, errOut strings.Builder
	require.Equal(t, 0, run([]string{"loadgen", "--scenario", "cdp", "--tenant-names", "seg1", "--contacts", "2", "--out", "-"}, &out, &errOut), errOut.String())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.GreaterOrEqual(t, len(lines), 300+2*21)
	require.LessOrEqual(t, len(lines), 300+2*27)
	require.Contains(t, lines[0], `"type":"tag.defined"`)
	require.Contains(t, lines[300], `"type":"contact.added","time":`)
	require.Contains(t, lines[300], `"tenant":"seg1","subject":"wm00000000"`)
	require.Equal(t, 2, run([]string{"loadgen", "--scenario", "nope", "--out", "-"}, &out, &errOut))
}
