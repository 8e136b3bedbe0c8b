package adoption_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/adoption"
)

func day(t testing.TB, s string) adoption.Day {
	d, err := adoption.ParseDay(s)
	require.NoError(t, err)
	return d
}

func TestDayOfZoneEdges(t *testing.T) {
	at := func(s string) time.Time { tm, err := time.Parse(time.RFC3339, s); require.NoError(t, err); return tm }
	require.Equal(t, "2026-09-20", adoption.DayOf(at("2026-09-20T23:59:59+08:00")).String())
	require.Equal(t, "2026-09-21", adoption.DayOf(at("2026-09-21T00:00:00+08:00")).String())
	require.Equal(t, "2026-09-21", adoption.DayOf(at("2026-09-20T16:00:00Z")).String())
	require.Equal(t, at("2026-09-21T00:00:00+08:00").UnixNano(), day(t, "2026-09-20").EndNs())
}

func TestTimelineOn(t *testing.T) {
	ns := func(s string) int64 {
		tm, err := time.Parse(time.RFC3339, s)
		require.NoError(t, err)
		return tm.UnixNano()
	}
	tl := adoption.NewTimeline([]adoption.Change{
		{Tenant: "a", TimeNs: ns("2026-09-10T23:59:59+08:00"), ID: "1", Plan: "pro", Paid: true},
		{Tenant: "a", TimeNs: ns("2026-09-12T00:00:00+08:00"), ID: "2", Plan: "basic", Paid: false},
		{Tenant: "a", TimeNs: ns("2026-09-14T10:00:00+08:00"), ID: "b", Plan: "basic", Paid: false},
		{Tenant: "a", TimeNs: ns("2026-09-14T10:00:00+08:00"), ID: "a", Plan: "pro", Paid: true},
		{Tenant: "a", TimeNs: ns("2026-09-10T23:59:59+08:00"), ID: "1", Plan: "pro", Paid: true}, // a duplicate
	})
	tests := []struct {
		day      string
		wantPlan string
		wantPaid bool
	}{
		{"2026-09-09", adoption.NoPlan, false},
		{"2026-09-10", "pro", true}, // 23:59:59 is still the 10th
		{"2026-09-11", "pro", true},
		{"2026-09-12", "basic", false}, // 00:00:00 is the 12th
		{"2026-09-14", "basic", false}, // equal times: the greater id wins
	}
	for _, tt := range tests {
		t.Run(tt.day, func(t *testing.T) {
			plan, paid := tl.On("a", day(t, tt.day))
			require.Equal(t, tt.wantPlan, plan)
			require.Equal(t, tt.wantPaid, paid)
		})
	}
	plan, _ := tl.On("other", day(t, "2026-09-14"))
	require.Equal(t, adoption.NoPlan, plan)
}

func values(r adoption.Result) []float64 {
	out := make([]float64, len(r.Series))
	for i, p := range r.Series {
		out[i] = -1
		if p.Value != nil {
			out[i] = *p.Value
		}
	}
	return out
}

// TestComputeWindows checks the covered-days window math on a small case:
// s1 active on days 0, 2 and 40; s2 on day 2; s1 of another tenant on day 1.
func TestComputeWindows(t *testing.T) {
	d0 := day(t, "2026-01-01")
	in := adoption.Input{Active: []adoption.ActiveDays{
		{Actor: adoption.Actor{Tenant: "a", ID: "s1"}, Days: []adoption.Day{d0, d0 + 2, d0 + 40}},
		{Actor: adoption.Actor{Tenant: "a", ID: "s2"}, Days: []adoption.Day{d0 + 2}},
		{Actor: adoption.Actor{Tenant: "b", ID: "s1"}, Days: []adoption.Day{d0 + 1}},
	}}
	at := func(m adoption.Metric, from, to adoption.Day) []float64 {
		return values(adoption.Compute(adoption.Query{Metric: m, From: from, To: to}, in))
	}
	require.Equal(t, []float64{1, 1, 2, 0}, at(adoption.DAU, d0, d0+3))
	require.Equal(t, []float64{3, 3, 3, 3, 2}, at(adoption.WAU, d0+4, d0+8))
	require.Equal(t, []float64{3, 3, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1}, at(adoption.MAU, d0+29, d0+40))
	// Day 2: DAU 2, MAU 3; day 32: no one in the month, stickiness is null.
	require.Equal(t, []float64{2.0 / 3}, at(adoption.Stickiness, d0+2, d0+2))
	require.Equal(t, []float64{-1}, at(adoption.Stickiness, d0+32, d0+32))

	byTenant := adoption.Compute(adoption.Query{Metric: adoption.DAU, From: d0, To: d0 + 3, GroupBy: adoption.ByTenant}, in)
	require.Len(t, byTenant.Groups, 2)
	require.Equal(t, "a", byTenant.Groups[0].Key)
	require.Equal(t, []float64{1, 0, 2, 0}, values(adoption.Result{Series: byTenant.Groups[0].Series}))
}
