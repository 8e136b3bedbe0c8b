package store

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRestartBackoff(t *testing.T) {
	p := DefaultRestartPolicy()
	var got []time.Duration
	for n := 1; n <= 7; n++ {
		got = append(got, p.backoff(n))
	}
	s := time.Second
	require.Equal(t, []time.Duration{s, 2 * s, 4 * s, 8 * s, 16 * s, 30 * s, 30 * s}, got)
}

func TestRecentDeaths(t *testing.T) {
	now := time.Now()
	ts := []time.Time{now.Add(-10 * time.Minute), now.Add(-4 * time.Minute), now.Add(-time.Second)}
	want := []time.Time{ts[1], ts[2]}
	require.Equal(t, want, recent(ts, now, 5*time.Minute))
}
