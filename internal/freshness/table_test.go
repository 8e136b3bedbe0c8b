package freshness

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type doneAt time.Time

func (d doneAt) StartedAt() time.Time { return time.Time(d) }

// TestStaleAndDue: a tenant is stale when never computed or computed before
// its latest insert plus the margin; a stale tenant is due once its latest
// insert is older than the margin.
func TestStaleAndDue(t *testing.T) {
	now := time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)
	margin := 15 * time.Second
	s := State[doneAt]{
		Inputs: Inputs{Now: now, Inserted: map[string]time.Time{
			"fresh":    now.Add(-time.Hour),
			"late":     now.Add(-time.Minute),
			"never":    now.Add(-time.Hour),
			"settling": now.Add(-time.Second),
			"edge":     now.Add(-time.Hour),
		}},
		Done: map[string]doneAt{
			"fresh":    doneAt(now.Add(-time.Hour + margin + time.Second)),
			"late":     doneAt(now.Add(-time.Hour)),
			"settling": doneAt(now.Add(-time.Hour)),
			"edge":     doneAt(now.Add(-time.Hour + margin)), // insert == started − margin: stale
		},
	}
	stale := s.Stale(margin)
	require.Equal(t, []string{"edge", "late", "never", "settling"}, stale)
	require.Equal(t, []string{"edge", "late", "never"}, s.Due(stale, margin))
}

func TestScope(t *testing.T) {
	for _, c := range []struct {
		tenants []string
		filter  string
		in, out []string
	}{
		{nil, "", []string{"a", "b"}, nil},
		{[]string{"a"}, "a", []string{"a"}, []string{"b"}},
		{[]string{"a", "b"}, "", []string{"a", "b"}, []string{"c"}},
	} {
		filter, keep := Scope(c.tenants)
		require.Equal(t, c.filter, filter, c.tenants)
		for _, tn := range c.in {
			require.True(t, keep(tn), "%v keeps %s", c.tenants, tn)
		}
		for _, tn := range c.out {
			require.False(t, keep(tn), "%v drops %s", c.tenants, tn)
		}
	}
}
