package reference

import (
	"sort"

	"github.com/siyu-dev/siyu/event"
)

// Assignees replays every contact.added and assignee.changed in
// (time, id, source) order, each distinct event once, and returns each
// customer's assignee ("" = the pool) keyed "tenant/contact": the first
// adder holds the customer until the first change; then each change sets
// the assignee to its to_staff_id.
func Assignees(evs []event.Event) map[string]string {
	seen := map[[3]string]bool{}
	var in []event.Event
	for _, e := range evs {
		k := [3]string{e.Tenant, e.Source, e.ID}
		if seen[k] || (e.Type != event.ContactAdded && e.Type != event.AssigneeChanged) {
			continue
		}
		seen[k] = true
		in = append(in, e)
	}
	sort.Slice(in, func(i, j int) bool { return keyOf(&in[i]).less(keyOf(&in[j])) })
	out := map[string]string{}
	changed := map[string]bool{}
	for _, e := range in {
		c := e.Tenant + "/" + e.Subject
		switch {
		case e.Type == event.AssigneeChanged:
			out[c], changed[c] = e.Data.ToStaffID, true
		case !changed[c]:
			if _, added := out[c]; !added {
				out[c] = e.Data.StaffID
			}
		}
	}
	return out
}
