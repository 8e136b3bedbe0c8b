package dashboards_test

import (
	"context"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/adoption"
	"github.com/siyu-dev/siyu/dashboards"
	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/metering"
)

// meterPanels maps each contact time-series panel to the metering meter it
// must equal, day by day (a day without a row is 0).
var meterPanels = map[string]metering.Meter{
	"New contacts by channel": metering.ContactsNew, // summed over channels
	"Lost contacts":           metering.ContactsLost,
	"Contacts":                metering.ContactsTotal,
	"Contacts now":            metering.ContactsTotal, // a stat: its last value
	"Over cap now":            metering.ContactsOverCap,
	"Contacts over cap":       metering.ContactsOverCap,
	"Link acquisitions":       metering.LinkAcquisitions,
}

// checkContactPanels compares the contact panels of the engagement and
// metering dashboards with metering.Service over the same days, and the
// reply panels with a brute-force count over the events. Called by
// TestPanelsOnClickHouse after the stream went through the pipeline.
func checkContactPanels(t *testing.T, ctx context.Context, conn driver.Conn, evs []event.Event, from, to adoption.Day) {
	svc := metering.NewService(conn, nil)
	nonZero := map[string]int{}
	for tenant, req := range requests(from, to) {
		daily, err := svc.Daily(ctx, tenant, from, to)
		require.NoError(t, err)
		tns := tenants
		if tenant != "" {
			tns = []string{tenant}
		}
		replies := statsReplies(t, ctx, conn, tns, from, to)
		for _, d := range []dashboards.Dashboard{dashboards.Engagement(), dashboards.Metering()} {
			for _, p := range d.Panels {
				q, err := dashboards.Expand(p.Targets[0].RawSQL, req)
				require.NoError(t, err)
				res, err := dashboards.QueryResult(ctx, conn, q)
				require.NoError(t, err, q)
				t.Run(d.UID+"/"+p.Title+"/"+tenant, func(t *testing.T) {
					switch m, ok := meterPanels[p.Title]; {
					case ok:
						got := daySums(res)
						for i := from; i <= to; i++ {
							want := float64(sumMeter(daily, m, i))
							require.Equal(t, want, got[i], "day %s\n%s", i, q)
							if want != 0 {
								nonZero[p.Title]++
							}
						}
					case p.Title == "Reply percentage" || p.Title == "Average reply time":
						got := daySums(res)
						for i := from; i <= to; i++ {
							want, ok := replies[i].value(p.Title)
							if !ok {
								require.NotContains(t, got, i, "day %s", i)
								continue
							}
							require.InDelta(t, want, got[i], 0.005, "day %s\n%s", i, q)
							nonZero[p.Title]++
						}
					case p.Title == "Contacts against cap":
						checkCapTable(t, res, daily, to)
						nonZero[p.Title] += len(res.Rows)
					case p.Title == "Month-to-date usage":
						monthStart := adoption.DateDay(time.Date(to.Date().Year(), to.Date().Month(), 1, 0, 0, 0, 0, time.UTC))
						month, err := svc.Daily(ctx, tenant, monthStart, to)
						require.NoError(t, err)
						checkMonthTable(t, res, month)
						nonZero[p.Title] += len(res.Rows)
					}
				})
			}
		}
	}
	for title := range meterPanels {
		require.Positive(t, nonZero[title], "%s: the comparison must not be vacuous", title)
	}
	for _, title := range []string{"Reply percentage", "Average reply time", "Contacts against cap", "Month-to-date usage"} {
		require.Positive(t, nonZero[title], "%s: the comparison must not be vacuous", title)
	}
}

// daySums reads a time series, wide or long, as the sum of its values per
// reporting day.
func daySums(res dashboards.Result) map[adoption.Day]float64 {
	out := map[adoption.Day]float64{}
	for _, row := range res.Rows {
		d := adoption.DayOf(row[0].(time.Time))
		out[d] += row[len(row)-1].(float64)
	}
	return out
}

func sumMeter(daily map[string][]metering.Daily, m metering.Meter, d adoption.Day) int64 {
	var n int64
	for _, ds := range daily {
		for _, x := range ds {
			if x.Day == d {
				n += m.Of(x)
			}
		}
	}
	return n
}

// checkCapTable: one row per tenant with live contacts on the last day.
func checkCapTable(t *testing.T, res dashboards.Result, daily map[string][]metering.Daily, last adoption.Day) {
	want := map[string][3]float64{}
	for tn, ds := range daily {
		x := ds[len(ds)-1]
		require.Equal(t, last, x.Day)
		if x.ContactsTotal > 0 {
			want[tn] = [3]float64{float64(x.ContactsTotal), float64(x.ContactCap), float64(x.ContactsOverCap)}
		}
	}
	got := map[string][3]float64{}
	for _, row := range res.Rows {
		got[row[0].(string)] = [3]float64{row[1].(float64), row[2].(float64), row[3].(float64)}
	}
	require.Equal(t, want, got)
}

// checkMonthTable: billing's usage figures of the month so far per tenant.
func checkMonthTable(t *testing.T, res dashboards.Result, month map[string][]metering.Daily) {
	want := map[string][3]float64{}
	for tn, ds := range month {
		var peak, over, links int64
		for _, x := range ds {
			peak, over, links = max(peak, x.ContactsTotal), max(over, x.ContactsOverCap), links+x.LinkAcquisitions
		}
		if peak > 0 {
			want[tn] = [3]float64{float64(peak), float64(over), float64(links)}
		}
	}
	got := map[string][3]float64{}
	for _, row := range res.Rows {
		got[row[0].(string)] = [3]float64{row[1].(float64), row[2].(float64), row[3].(float64)}
	}
	require.Equal(t, want, got)
}
