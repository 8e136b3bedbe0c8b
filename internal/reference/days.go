package reference

import (
	"fmt"
	"time"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/internal/reporting"
)

// dayFacts is one contact's day in contact_day_state.
type dayFacts struct {
	in, out, followups map[[2]string]bool
	gender             lww[int64]
	phone              lww[string]
}

var dayTypes = map[event.Type]bool{
	event.ChatMessage: true, event.FollowupLogged: true, event.ContactAdded: true, event.ContactUpdated: true,
}

// dayLines folds events into the dump lines of contact_day_state:
// D|tenant|contact|day|in|out|followups|gender|phone, days in reporting.Zone.
func dayLines(events []event.Event) []string {
	zone := reporting.Zone
	days := map[[3]string]*dayFacts{}
	for i := range events {
		e := &events[i]
		if !dayTypes[e.Type] {
			continue
		}
		k := [3]string{e.Tenant, e.Subject, e.Time.In(zone).Format(time.DateOnly)}
		f := days[k]
		if f == nil {
			f = &dayFacts{in: map[[2]string]bool{}, out: map[[2]string]bool{}, followups: map[[2]string]bool{}}
			days[k] = f
		}
		id, d := [2]string{e.Source, e.ID}, &e.Data
		switch {
		case e.Type == event.ChatMessage && d.Direction == "in":
			f.in[id] = true
		case e.Type == event.ChatMessage:
			f.out[id] = true
		case e.Type == event.FollowupLogged:
			f.followups[id] = true
		}
		if d.Present.Has(event.FGender) {
			f.gender.put(keyOf(e), d.Gender)
		}
		if d.Present.Has(event.FPhone) {
			f.phone.put(keyOf(e), d.Phone)
		}
	}
	out := make([]string, 0, len(days))
	for k, f := range days {
		out = append(out, fmt.Sprintf("D|%s|%s|%s|%d|%d|%d|%d|%s", k[0], k[1], k[2], len(f.in), len(f.out),
			len(f.followups), f.gender.v, f.phone.v))
	}
	return out
}

// linkLines lists identity_links: L|tenant|node|peer|kind|dir, both directions.
func linkLines(events []event.Event) []string {
	seen := map[string]bool{}
	for i := range events {
		e := &events[i]
		for _, l := range []struct {
			f     event.Field
			kind  string
			value string
		}{{event.FUnionID, "unionid", e.Data.UnionID}, {event.FPhone, "phone", phoneID(e.Data.Phone)}} {
			if !e.Data.Present.Has(l.f) || l.value == "" || l.value == e.Subject {
				continue
			}
			seen[fmt.Sprintf("L|%s|%s|%s|%s|1", e.Tenant, e.Subject, l.value, l.kind)] = true
			seen[fmt.Sprintf("L|%s|%s|%s|%s|0", e.Tenant, l.value, e.Subject, l.kind)] = true
		}
	}
	out := make([]string, 0, len(seen))
	for l := range seen {
		out = append(out, l)
	}
	return out
}
