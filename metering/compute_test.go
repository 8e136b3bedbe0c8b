package metering_test

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/adoption"
	"github.com/siyu-dev/siyu/internal/reference"
	"github.com/siyu-dev/siyu/metering"
)

func day(t testing.TB, s string) adoption.Day {
	d, err := adoption.ParseDay(s)
	require.NoError(t, err)
	return d
}

func TestComputeEdges(t *testing.T) {
	evs := edgeEvents()
	from, to := day(t, "2026-09-01"), day(t, "2026-09-12")
	rows, caps := rowsOf(evs)
	// Shuffled and with every row twice: the answer must not move.
	rows = append(rows, rows...)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	got := metering.Compute(rows, caps, from, to)[edgeTenant]

	type want struct{ total, new, lost, link, cap, over int64 }
	wants := map[string]want{
		"2026-09-01": {},
		"2026-09-02": {total: 4, new: 4, link: 2, cap: 1, over: 3}, // c1 c2 c3 c5
		"2026-09-03": {total: 3, lost: 1, cap: 1, over: 2},         // c3 lost
		"2026-09-04": {total: 4, link: 1, cap: 1, over: 3},         // c3 back; c2 keeps s2
		"2026-09-05": {total: 3, lost: 1, cap: 1, over: 2},         // c1 lost
		"2026-09-06": {total: 2, cap: 1, over: 1},                  // c2 removed by staff
		"2026-09-07": {total: 2, new: 1, lost: 1, cap: 1, over: 1}, // c4 added and lost
		"2026-09-08": {total: 2, cap: 5},
		"2026-09-10": {total: 3, cap: 5}, // c1 re-added: not new, not billed again
	}
	ref := reference.NewMetering(evs)
	for i, d := range got {
		require.Equal(t, ref.Day(edgeTenant, d.Day), d, "day %s", d.Day)
		require.Equal(t, from+adoption.Day(i), d.Day)
		if w, ok := wants[d.Day.String()]; ok {
			require.Equal(t, w, want{d.ContactsTotal, d.ContactsNew, d.ContactsLost, d.LinkAcquisitions, d.ContactCap, d.ContactsOverCap}, "day %s", d.Day)
		}
	}
}

func TestAggregate(t *testing.T) {
	from, to := day(t, "2026-09-29"), day(t, "2026-10-02")
	mk := func(d string, total, link int64) metering.Daily {
		return metering.Daily{Day: day(t, d), ContactsTotal: total, LinkAcquisitions: link}
	}
	a := []metering.Daily{mk("2026-09-29", 3, 1), mk("2026-09-30", 5, 2), mk("2026-10-01", 4, 1), mk("2026-10-02", 2, 0)}
	b := []metering.Daily{mk("2026-09-29", 1, 1), mk("2026-09-30", 0, 0), mk("2026-10-01", 1, 0), mk("2026-10-02", 6, 1)}
	month := metering.Aggregate(metering.ContactsTotal, metering.Month, [][]metering.Daily{a, b}, from, to)
	require.Len(t, month, 2)
	require.Equal(t, int64(5), month[0].Value, "peak of 4, 5")
	require.Equal(t, int64(8), month[1].Value, "peak of 5, 8")
	require.Equal(t, "2026-09-28T16:00:00Z", month[0].Start.Format("2006-01-02T15:04:05Z07:00"))
	require.Equal(t, month[1].Start, month[0].End)
	links := metering.Aggregate(metering.LinkAcquisitions, metering.Month, [][]metering.Daily{a, b}, from, to)
	require.Equal(t, []int64{4, 2}, []int64{links[0].Value, links[1].Value})
	days := metering.Aggregate(metering.LinkAcquisitions, metering.Day, [][]metering.Daily{a}, from, to)
	require.Len(t, days, 4)
}

func TestReconcile(t *testing.T) {
	figs := map[string]map[string]int64{"t0001": {metering.PeakContacts: 10, metering.PeakOverCap: 0, metering.LinkUsage: 3}}
	first, add := metering.Reconcile("2026-09", true, figs, nil)
	require.Len(t, add, 3)
	require.Equal(t, "t0001:2026-09:peak_contacts", first.Lines[0].Key)

	again, add2 := metering.Reconcile("2026-09", true, figs, add)
	require.Empty(t, add2)
	require.Equal(t, first, again)

	figs["t0001"][metering.LinkUsage] = 5
	late, add3 := metering.Reconcile("2026-09", true, figs, add)
	require.Equal(t, []metering.Record{{Tenant: "t0001", Meter: metering.LinkUsage, Seq: 1, Value: 2}}, add3)
	require.Equal(t, first.Lines, late.Lines[:3])
	require.Equal(t, metering.Line{Key: "t0001:2026-09:link_acquisitions:adjustment:1", Tenant: "t0001",
		Period: "2026-09", Meter: "link_acquisitions_adjustment", Value: 2}, late.Lines[3])

	open, add4 := metering.Reconcile("2026-11", false, figs, nil)
	require.Empty(t, add4)
	require.Len(t, open.Lines, 3)
}
