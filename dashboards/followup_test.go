package dashboards_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/adoption"
	"github.com/siyu-dev/siyu/dashboards"
	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/followup"
)

// poolEvents recycles every eighth added customer into the pool a day after
// it was added, and has another rep claim every sixteenth a day later (the
// load generator has no assignee.changed).
func poolEvents(evs []event.Event) []event.Event {
	var out []event.Event
	n := 0
	for _, e := range evs {
		if e.Type != event.ContactAdded {
			continue
		}
		if n++; n%8 != 0 {
			continue
		}
		r := event.Event{ID: fmt.Sprintf("recycle-%d", n), Source: "test", Type: event.AssigneeChanged,
			Tenant: e.Tenant, Subject: e.Subject, Time: e.Time.AddDate(0, 0, 1)}
		r.Data.Set(event.FReason, "recycle")
		r.Data.Set(event.FFromStaffID, e.Data.StaffID)
		out = append(out, r)
		if n%16 == 0 {
			c := event.Event{ID: fmt.Sprintf("claim-%d", n), Source: "test", Type: event.AssigneeChanged,
				Tenant: e.Tenant, Subject: e.Subject, Time: e.Time.AddDate(0, 0, 2)}
			c.Data.Set(event.FReason, "claim")
			c.Data.Set(event.FToStaffID, e.Data.StaffID+"-claimer")
			out = append(out, c)
		}
	}
	return out
}

// checkFollowupPanels compares the sales follow-up panels with
// followup.Reader (the daily digest's overdue counts and the funnel) and
// with counts over the events (follow-ups per rep, pool changes). Called by
// TestPanelsOnClickHouse after the stream went through the pipeline.
func checkFollowupPanels(t *testing.T, ctx context.Context, conn driver.Conn, evs []event.Event, from, to adoption.Day) {
	reader := followup.NewReader(conn)
	rows := map[string]int{}
	for tenant, req := range requests(from, to) {
		tns := tenants
		if tenant != "" {
			tns = []string{tenant}
		}
		for _, p := range dashboards.FollowUp().Panels {
			q, err := dashboards.Expand(p.Targets[0].RawSQL, req)
			require.NoError(t, err)
			res, err := dashboards.QueryResult(ctx, conn, q)
			require.NoError(t, err, q)
			rows[p.Title] += len(res.Rows)
			t.Run(p.Title+"/"+tenant, func(t *testing.T) {
				var want, got map[string][2]float64
				switch p.Title {
				case "Follow-ups per rep":
					want, got = followupsReference(evs, tns, from, to), keyed(res, 2)
				case "Overdue follow-ups":
					want, got = map[string][2]float64{}, keyed(res, 2)
					for _, tn := range tns {
						digest, err := reader.DailyDigest(ctx, tn, followup.Scope{}, to.Date())
						require.NoError(t, err)
						for _, d := range digest {
							if d.OverdueCount > 0 {
								want[tn+"/"+d.StaffID] = [2]float64{float64(d.OverdueCount)}
							}
						}
					}
					for k, v := range got {
						got[k] = [2]float64{v[0]}
					}
				case "Stage funnel":
					want, got = map[string][2]float64{}, keyed(res, 1)
					for _, tn := range tns {
						f, err := reader.Funnel(ctx, tn, followup.Stages, followup.Scope{}, from.Date(), to.Date())
						require.NoError(t, err)
						for _, c := range f.Current {
							w := want[c.Stage]
							w[0] += float64(c.Count)
							want[c.Stage] = w
						}
						for _, c := range f.Conversions {
							w := want[c.Stage]
							w[1] += float64(c.Entered)
							want[c.Stage] = w
						}
					}
					for k, v := range want {
						if v == [2]float64{} {
							delete(want, k)
						}
					}
				case "Pool claims and recycles":
					want, got = poolReference(evs, tns, from, to), map[string][2]float64{}
					for _, row := range res.Rows {
						got[adoption.DayOf(row[0].(time.Time)).String()+"/"+row[1].(string)] = [2]float64{row[2].(float64)}
					}
				default:
					t.Fatalf("panel %q is not compared", p.Title)
				}
				require.NotEmpty(t, want)
				require.Equal(t, want, got, q)
			})
		}
	}
	for _, p := range dashboards.FollowUp().Panels {
		require.Positive(t, rows[p.Title], "%s: the comparison must not be vacuous", p.Title)
	}
}

// keyed reads a table's rows by their first n string columns, with the
// next two numbers (only one when the row has no second).
func keyed(res dashboards.Result, n int) map[string][2]float64 {
	out := map[string][2]float64{}
	for _, row := range res.Rows {
		k := fmt.Sprint(row[0])
		for _, c := range row[1:n] {
			k += "/" + fmt.Sprint(c)
		}
		var v [2]float64
		for i := 0; i < 2 && n+i < len(row); i++ {
			if f, ok := row[n+i].(float64); ok {
				v[i] = f
			}
		}
		out[k] = v
	}
	return out
}

// inRange reports whether e is one of tns and on a day of [from, to].
func inRange(e event.Event, tns []string, from, to adoption.Day) bool {
	d := adoption.DayOf(e.Time)
	for _, tn := range tns {
		if e.Tenant == tn {
			return d >= from && d <= to
		}
	}
	return false
}

// followupsReference counts, per (tenant, rep), the distinct follow-ups
// logged in the range and the distinct customers they were about.
func followupsReference(evs []event.Event, tns []string, from, to adoption.Day) map[string][2]float64 {
	logs, customers := map[string]map[string]bool{}, map[string]map[string]bool{}
	for _, e := range evs {
		if e.Type != event.FollowupLogged || !inRange(e, tns, from, to) {
			continue
		}
		k := e.Tenant + "/" + e.Data.StaffID
		if logs[k] == nil {
			logs[k], customers[k] = map[string]bool{}, map[string]bool{}
		}
		logs[k][e.Source+"\x00"+e.ID] = true
		customers[k][e.Subject] = true
	}
	out := map[string][2]float64{}
	for k := range logs {
		out[k] = [2]float64{float64(len(logs[k])), float64(len(customers[k]))}
	}
	return out
}

// poolReference counts, per day and reason, the distinct claims and
// recycles.
func poolReference(evs []event.Event, tns []string, from, to adoption.Day) map[string][2]float64 {
	seen := map[string]bool{}
	out := map[string][2]float64{}
	for _, e := range evs {
		r := e.Data.Reason
		if e.Type != event.AssigneeChanged || (r != "claim" && r != "recycle") || !inRange(e, tns, from, to) ||
			seen[e.Tenant+e.Source+e.ID] {
			continue
		}
		seen[e.Tenant+e.Source+e.ID] = true
		k := adoption.DayOf(e.Time).String() + "/" + r
		out[k] = [2]float64{out[k][0] + 1}
	}
	return out
}

// statsReplies is GET /v1/followups/stats (followup.Reader.Stats) summed
// over every rep of tns per day: customer-initiated chats, answered ones,
// and the minutes of reply time over the answered (from the rounded
// averages, so within 0.005 minutes).
type replyTotals struct {
	chats, answered, minutes float64
}

func statsReplies(t *testing.T, ctx context.Context, conn driver.Conn, tns []string, from, to adoption.Day) map[adoption.Day]*replyTotals {
	reader := followup.NewReader(conn)
	out := map[adoption.Day]*replyTotals{}
	for _, tn := range tns {
		stats, err := reader.Stats(ctx, tn, followup.Scope{}, from.Date(), to.Date())
		require.NoError(t, err)
		for _, s := range stats {
			if s.CustomerChatCnt == 0 {
				continue
			}
			d, err := adoption.ParseDay(s.Day)
			require.NoError(t, err)
			if out[d] == nil {
				out[d] = &replyTotals{}
			}
			answered := float64(int(*s.ReplyPercentage*float64(s.CustomerChatCnt)/100 + 0.5))
			out[d].chats += float64(s.CustomerChatCnt)
			out[d].answered += answered
			if s.AvgReplyTime != nil {
				out[d].minutes += *s.AvgReplyTime * answered
			}
		}
	}
	return out
}

// value is a reply panel's figure on d; false when the panel has no row.
func (r *replyTotals) value(title string) (float64, bool) {
	switch {
	case r == nil:
		return 0, false
	case title == "Reply percentage":
		return 100 * r.answered / r.chats, true
	}
	return r.minutes / r.answered, r.answered > 0
}
