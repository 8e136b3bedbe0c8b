package followup_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/followup"
	"github.com/siyu-dev/siyu/internal/reference"
	"github.com/siyu-dev/siyu/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// midnight is 2026-03-02 00:00 in Asia/Shanghai: the generated events
// cluster around it, so that day edges are exercised.
var midnight = time.Date(2026, 3, 1, 16, 0, 0, 0, time.UTC)

// statEvents makes a random stream of the events rep statistics read (and
// some they must ignore) for one tenant. Times fall on a 20 s grid within a
// day of midnight, so that ties and messages on both sides of midnight occur.
func statEvents(r *rand.Rand, tenant string, n int) []event.Event {
	out := make([]event.Event, 0, n)
	for i := range n {
		e := event.Event{ID: fmt.Sprintf("%s-e%d", tenant, i), Source: "wecom/test", Tenant: tenant,
			Subject: fmt.Sprintf("c%d", r.IntN(6)),
			Time:    midnight.Add(time.Duration(r.IntN(3*3*60*6)-3*3*60*3) * 20 * time.Second)}
		if r.IntN(4) == 0 { // a burst right around midnight
			e.Time = midnight.Add(time.Duration(r.IntN(60)-30) * 20 * time.Second)
		}
		e.Data.Set(event.FStaffID, fmt.Sprintf("s%d", r.IntN(3)))
		switch k := r.IntN(20); {
		case k < 14:
			e.Type = event.ChatMessage
			e.Data.Set(event.FDirection, []string{"in", "out"}[r.IntN(2)])
		case k < 16:
			e.Type = event.ContactAdded
		case k < 18:
			e.Type = event.ContactRemoved
			e.Data.Set(event.FBy, []string{"customer", "staff"}[r.IntN(2)])
		default:
			e.Type = event.FollowupStageChange
			e.Data.Set(event.FStage, followup.Stages[r.IntN(len(followup.Stages))])
		}
		out = append(out, e)
	}
	return out
}

// TestStatsMatchReference: the rep statistics read from the rollup equal
// the brute-force reference, whatever the delivery order and however many
// duplicates, per tenant (tenant walls) and per rep.
func TestStatsMatchReference(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	conn, _ := testenv.Database(t)
	_, broker := testenv.Kafka(t)
	pipe := testenv.StartPipeline(t, ctx, conn, broker, "followup-stats")

	tenants := []string{"p0", "p1", "p2"}
	var all []event.Event
	for i, tn := range tenants {
		all = append(all, statEvents(rand.New(rand.NewPCG(uint64(i), 7)), tn, 300)...)
	}
	r := rand.New(rand.NewPCG(42, 42))
	sent := append([]event.Event(nil), all...)
	for range len(all) / 4 {
		sent = append(sent, all[r.IntN(len(all))])
	}
	r.Shuffle(len(sent), func(i, j int) { sent[i], sent[j] = sent[j], sent[i] })
	pipe.Produce(ctx, sent)
	pipe.WaitIngested(ctx, sent)

	reader := followup.NewReader(conn)
	from, to := time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)
	for _, tn := range tenants {
		for _, staff := range []string{"", "s0", "s2", "nobody"} {
			t.Run(tn+"/"+staff, func(t *testing.T) {
				got, err := reader.Stats(ctx, tn, followup.Scope{StaffID: staff}, from, to)
				require.NoError(t, err)
				want := reference.RepStats(all, tn, staff, from, to)
				require.NotEmpty(t, want)
				require.Equal(t, want, got)
				if staff == "" {
					requireNonTrivial(t, got)
				}
			})
		}
	}

	t.Run("a team is its reps", func(t *testing.T) {
		got, err := reader.Stats(ctx, "p2", followup.Scope{Team: []string{"s0", "s2", "x"}}, from, to)
		require.NoError(t, err)
		want := append(reference.RepStats(all, "p2", "s0", from, to), reference.RepStats(all, "p2", "s2", from, to)...)
		require.Equal(t, append(want, reference.RepStats(all, "p2", "x", from, to)...), got)
	})

	t.Run("one day at the midnight edge", func(t *testing.T) {
		day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
		got, err := reader.Stats(ctx, "p1", followup.Scope{}, day, day)
		require.NoError(t, err)
		require.Equal(t, reference.RepStats(all, "p1", "", day, day), got)
	})

	t.Run("funnel matches its definition over the stored history", func(t *testing.T) {
		day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
		for _, tn := range tenants {
			var changes []followup.StageChange
			for _, e := range all {
				if e.Tenant == tn && e.Type == event.FollowupStageChange {
					changes = append(changes, followup.StageChange{ContactID: e.Subject, TimeNs: e.TimeNs(), ID: e.ID,
						Source: e.Source, StaffID: e.Data.StaffID, Stage: e.Data.Stage})
				}
			}
			for _, scope := range []followup.Scope{{}, {StaffID: "s0"}, {StaffID: "s1"}, {Team: []string{"s1", "s2"}}} {
				for _, period := range [][2]time.Time{{from, to}, {day, day}, {to, to}} {
					f, err := reader.Funnel(ctx, tn, followup.Stages, scope, period[0], period[1])
					require.NoError(t, err)
					cur, conv := followup.ComputeFunnel(followup.FunnelQuery{Stages: followup.Stages, Scope: scope,
						FromNs: followup.DayStart(period[0]), ToNs: followup.DayStart(period[1].AddDate(0, 0, 1))}, changes)
					require.Equal(t, cur, f.Current, "%s %v %v", tn, scope, period)
					require.Equal(t, conv, f.Conversions, "%s %v %v", tn, scope, period)
				}
			}
			f, err := reader.Funnel(ctx, tn, followup.Stages, followup.Scope{}, from, to)
			require.NoError(t, err)
			total := 0
			for _, c := range f.Current {
				total += c.Count
			}
			require.Positive(t, total)
			require.Positive(t, f.Conversions[0].Entered)
		}
	})
}

// requireNonTrivial checks that a generated series exercises every statistic.
func requireNonTrivial(t *testing.T, days []followup.RepDay) {
	t.Helper()
	var replies, negative, added, messages int
	for _, d := range days {
		if d.AvgReplyTime != nil && *d.ReplyPercentage < 100 {
			replies++
		}
		negative += d.NegativeFeedbackCnt
		added += d.NewContactCnt
		messages += int(d.MessageCnt)
	}
	require.Positive(t, replies, "some answered customer chats, some not")
	require.Positive(t, negative)
	require.Positive(t, added)
	require.Greater(t, messages, len(days))
}
