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

// randomAssigneeEvents makes adds and changes over few customers, staff and
// times, so that ties on time (broken by id) and changes before the first
// add are common.
func randomAssigneeEvents(r *rand.Rand, tenant string, n int) []event.Event {
	base := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	staff := []string{"", "s1", "s2", "s3"}
	reasons := event.AssigneeReasons
	evs := make([]event.Event, n)
	for i := range evs {
		e := event.Event{ID: fmt.Sprintf("e%03d", r.IntN(1000)), Source: []string{"siyu-api", "wecom/x"}[r.IntN(2)],
			Tenant: tenant, Subject: fmt.Sprintf("c%d", r.IntN(6)), Time: base.Add(time.Duration(r.IntN(8)) * time.Second)}
		if r.IntN(3) == 0 {
			e.Type = event.ContactAdded
			e.Data.Set(event.FStaffID, staff[1+r.IntN(3)])
		} else {
			e.Type = event.AssigneeChanged
			e.Data.Set(event.FReason, reasons[r.IntN(len(reasons))])
			if to := staff[r.IntN(4)]; to != "" {
				e.Data.Set(event.FToStaffID, to)
			}
		}
		evs[i] = e
	}
	return dedupeIdentity(evs)
}

// dedupeIdentity keeps one event per (tenant, source, id): the contract
// makes a repeat the same event.
func dedupeIdentity(evs []event.Event) []event.Event {
	seen := map[[3]string]bool{}
	out := evs[:0]
	for _, e := range evs {
		k := [3]string{e.Tenant, e.Source, e.ID}
		if !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	return out
}

func factsOf(evs []event.Event) []followup.AssigneeFact {
	out := make([]followup.AssigneeFact, len(evs))
	for i, e := range evs {
		f := followup.AssigneeFact{Contact: e.Subject, Added: e.Type == event.ContactAdded, Key: followup.EventKey{TimeNs: e.TimeNs(), ID: e.ID, Source: e.Source}}
		if f.Added {
			f.Staff = e.Data.StaffID
		} else {
			f.Staff = e.Data.ToStaffID
		}
		out[i] = f
	}
	return out
}

// shuffledWithRepeats is evs in a random order with some events repeated.
func shuffledWithRepeats(r *rand.Rand, evs []event.Event) []event.Event {
	out := append([]event.Event(nil), evs...)
	for range len(evs) / 3 {
		out = append(out, evs[r.IntN(len(evs))])
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func assigneesOf(holdings map[string]followup.Holding, tenant string) map[string]string {
	out := map[string]string{}
	for c, h := range holdings {
		out[tenant+"/"+c] = h.Assignee()
	}
	return out
}

// TestFoldAssigneesProperty: the Go fold equals the brute-force replay
// whatever the order and however often events repeat.
func TestFoldAssigneesProperty(t *testing.T) {
	for seed := range uint64(200) {
		r := rand.New(rand.NewPCG(seed, 7))
		evs := randomAssigneeEvents(r, "acme", 5+r.IntN(40))
		want := reference.Assignees(evs)
		for range 3 {
			got := assigneesOf(followup.FoldAssignees(factsOf(shuffledWithRepeats(r, evs))), "acme")
			require.Equal(t, want, got, "seed %d", seed)
		}
	}
}

// TestAssigneeRollupProperty: the contact_facts rollup, fed by the real
// pipeline with events shuffled and redelivered, gives the brute-force
// replay's assignees.
func TestAssigneeRollupProperty(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	conn, _ := testenv.Database(t)
	_, broker := testenv.Kafka(t)
	p := testenv.StartPipeline(t, ctx, conn, broker, "siyu.events")
	var all []event.Event
	want := map[string]string{}
	for seed := range uint64(8) {
		r := rand.New(rand.NewPCG(seed, 11))
		tenant := fmt.Sprintf("t%d", seed)
		evs := randomAssigneeEvents(r, tenant, 40)
		for k, v := range reference.Assignees(evs) {
			want[k] = v
		}
		all = append(all, shuffledWithRepeats(r, evs)...)
	}
	p.Produce(ctx, all)
	p.WaitIngested(ctx, all)
	got := map[string]string{}
	for seed := range 8 {
		tenant := fmt.Sprintf("t%d", seed)
		assignees, err := followup.AssigneesForTest(ctx, conn, tenant)
		require.NoError(t, err)
		for contact, staff := range assignees {
			got[tenant+"/"+contact] = staff
		}
	}
	require.Equal(t, want, got)
}
