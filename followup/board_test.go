package followup_test

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/followup"
	"github.com/siyu-dev/siyu/internal/reference"
	"github.com/siyu-dev/siyu/internal/testenv"
)

// boardNow is the day of the board property test's views.
var boardNow = time.Date(2026, 3, 1, 4, 0, 0, 0, time.UTC)

// randomBoardEvents: assignee events, follow-ups whose next times range from
// hours to years around boardNow (so the board reads several windows and
// falls back to the whole book), ties on time, stale follow-ups with earlier
// next times, follow-ups without a next time, and chats.
func randomBoardEvents(r *rand.Rand, tenant string, n int) []event.Event {
	base := boardNow.Add(-time.Hour)
	staff := []string{"s1", "s2", "s3"}
	spans := []time.Duration{time.Hour, 30 * time.Hour, 20 * 24 * time.Hour, 400 * 24 * time.Hour, 3000 * 24 * time.Hour}
	evs := make([]event.Event, n)
	for i := range evs {
		e := event.Event{ID: fmt.Sprintf("e%03d", r.IntN(1000)), Source: []string{"siyu-api", "wecom/x"}[r.IntN(2)],
			Tenant: tenant, Subject: fmt.Sprintf("c%02d", r.IntN(30)), Time: base.Add(time.Duration(r.IntN(20)) * time.Second)}
		switch k := r.IntN(10); {
		case k < 3:
			e.Type = event.ContactAdded
			e.Data.Set(event.FStaffID, staff[r.IntN(3)])
			if r.IntN(2) == 0 {
				e.Data.Set(event.FName, fmt.Sprintf("name %d", r.IntN(5)))
			}
		case k < 5:
			e.Type = event.AssigneeChanged
			e.Data.Set(event.FReason, "assign")
			if r.IntN(5) > 0 {
				e.Data.Set(event.FToStaffID, staff[r.IntN(3)])
			}
		case k < 9:
			e.Type = event.FollowupLogged
			e.Data.Set(event.FStaffID, staff[r.IntN(3)])
			if r.IntN(6) > 0 {
				span := spans[r.IntN(len(spans))]
				e.Data.SetTime(event.FNextAt, boardNow.Add(time.Duration(r.Int64N(int64(2*span)))-span/4))
			}
		case r.IntN(2) == 0:
			e.Type = event.FollowupStageChange
			e.Data.Set(event.FStaffID, staff[r.IntN(3)])
			e.Data.Set(event.FStage, boardStages[1+r.IntN(2)])
		default:
			e.Type = event.ChatMessage
			e.Data.Set(event.FStaffID, staff[r.IntN(3)])
			e.Data.Set(event.FDirection, []string{"in", "out"}[r.IntN(2)])
		}
		evs[i] = e
	}
	return dedupeIdentity(evs)
}

// boardStages are the stage filters the property test reads: none, and two
// stages its events move customers to.
var boardStages = []string{"", "new", "won"}

// boardWant is the brute-force board of staff in view at stage ("": any):
// contact ids in order.
func boardWant(evs []event.Event, tenant, staff, view, stage string) []string {
	assignees := reference.Assignees(evs)
	type fold struct {
		next, last int64
		fu, st     event.Event
		profile    bool
	}
	byContact := map[string]*fold{}
	for _, e := range evs {
		f := byContact[e.Subject]
		if f == nil {
			f = &fold{}
			byContact[e.Subject] = f
		}
		if e.Type == event.AssigneeChanged {
			continue
		}
		f.profile, f.last = true, max(f.last, e.Time.UnixNano())
		if e.Type == event.FollowupLogged && (f.fu.ID == "" || eventLess(f.fu, e)) {
			f.fu, f.next = e, e.Data.NextAtNs
		}
		if e.Type == event.FollowupStageChange && (f.st.ID == "" || eventLess(f.st, e)) {
			f.st = e
		}
	}
	dayStart, dayEnd := followup.DayBounds(boardNow)
	type entry struct {
		id  string
		key int64
	}
	var out []entry
	for c, f := range byContact {
		if assignees[tenant+"/"+c] != staff || !f.profile || (stage != "" && f.st.Data.Stage != stage) {
			continue
		}
		key := f.next
		switch {
		case view == followup.ViewRecent:
			key = -f.last
		case f.next == 0:
			key = math.MaxInt64
		}
		ok := map[string]bool{
			followup.ViewAll: true, followup.ViewRecent: true,
			followup.ViewDueToday: f.next >= dayStart && f.next < dayEnd,
			followup.ViewOverdue:  f.next > 0 && f.next < dayStart,
			followup.ViewUpcoming: f.next >= dayEnd,
		}[view]
		if ok {
			out = append(out, entry{c, key})
		}
	}
	slices.SortFunc(out, func(a, b entry) int { return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.id, b.id)) })
	ids := []string{}
	for _, e := range out {
		ids = append(ids, e.id)
	}
	return ids
}

// eventLess orders events as last writer wins does: time, id, source.
func eventLess(a, b event.Event) bool {
	return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.ID, b.ID), cmp.Compare(a.Source, b.Source)) < 0
}

// TestBoardProperty: every view of every rep's board, read page by page
// (windows of next times, then the whole book), lists exactly the
// brute-force board's customers in its order, with events shuffled and
// redelivered through the real pipeline.
func TestBoardProperty(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	conn, _ := testenv.Database(t)
	_, broker := testenv.Kafka(t)
	p := testenv.StartPipeline(t, ctx, conn, broker, "siyu.events")
	var all []event.Event
	perTenant := map[string][]event.Event{}
	for seed := range uint64(4) {
		r := rand.New(rand.NewPCG(seed, 23))
		tenant := fmt.Sprintf("b%d", seed)
		evs := randomBoardEvents(r, tenant, 160)
		perTenant[tenant] = evs
		all = append(all, shuffledWithRepeats(r, evs)...)
	}
	p.Produce(ctx, all)
	p.WaitIngested(ctx, all)
	reader := followup.NewReader(conn)
	for tenant, evs := range perTenant {
		for _, staff := range []string{"s1", "s2", "s3"} {
			for _, view := range followup.Views {
				for _, stage := range boardStages {
					got := []string{}
					q := followup.BoardQuery{Tenant: tenant, StaffID: staff, View: view, Stage: stage, Limit: 3, Now: boardNow}
					for range 100 {
						page, err := reader.Board(ctx, q)
						require.NoError(t, err)
						for _, e := range page.Items {
							got = append(got, e.ContactID)
						}
						if page.NextCursor == "" {
							break
						}
						q.Cursor = page.NextCursor
					}
					require.Equal(t, boardWant(evs, tenant, staff, view, stage), got, "%s %s %s %q", tenant, staff, view, stage)
				}
			}
		}
	}
}
