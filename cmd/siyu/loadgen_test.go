package main

import (
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
