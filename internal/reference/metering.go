package reference

import (
	"github.com/siyu-dev/siyu/adoption"
	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/metering"
)

// Metering recomputes the contact meters of shared/spec/metrics.md by brute
// force: every (contact, staff) state at every instant is found by scanning
// all the contact's events for the last writer, with no replay.
type Metering struct {
	contacts map[[2]string][]*event.Event // (tenant, contact) → relation events
	subs     map[string][]*event.Event
	tenants  map[string]bool
}

// NewMetering folds events (any order; duplicates by (tenant, source, id)
// are dropped).
func NewMetering(events []event.Event) *Metering {
	m := &Metering{contacts: map[[2]string][]*event.Event{}, subs: map[string][]*event.Event{}, tenants: map[string]bool{}}
	seen := map[[3]string]bool{}
	for i := range events {
		e := &events[i]
		id := [3]string{e.Tenant, e.Source, e.ID}
		if seen[id] {
			continue
		}
		seen[id] = true
		switch e.Type {
		case event.ContactAdded, event.ContactRemoved, event.ContactTransferred:
			k := [2]string{e.Tenant, e.Subject}
			m.contacts[k] = append(m.contacts[k], e)
			m.tenants[e.Tenant] = true
		case event.SubscriptionChanged:
			m.subs[e.Tenant] = append(m.subs[e.Tenant], e)
			m.tenants[e.Tenant] = true
		}
	}
	return m
}

// Tenants is every tenant with a relation event or a subscription change.
func (m *Metering) Tenants() map[string]bool { return m.tenants }

// sides is what an event says about each staff member's relation.
func sides(e *event.Event) map[string]bool {
	switch e.Type {
	case event.ContactAdded:
		return map[string]bool{e.Data.StaffID: true}
	case event.ContactRemoved:
		return map[string]bool{e.Data.StaffID: false}
	}
	s := map[string]bool{e.Data.FromStaffID: false}
	s[e.Data.ToStaffID] = true // a transfer to the same staff keeps it live
	return s
}

// liveAt reports whether the contact has a live relation once every event
// with key ≤ upTo (inclusive) has happened.
func liveAt(evs []*event.Event, upTo key) bool {
	latest := map[string]lww[bool]{}
	for _, e := range evs {
		k := keyOf(e)
		if upTo.less(k) {
			continue
		}
		for staff, live := range sides(e) {
			r := latest[staff]
			r.put(k, live)
			latest[staff] = r
		}
	}
	for _, r := range latest {
		if r.v {
			return true
		}
	}
	return false
}

// endKey is the greatest key before the end of d.
func endKey(d adoption.Day) key {
	return key{ns: d.EndNs() - 1, id: "\xff\xff\xff\xff", source: "\xff\xff\xff\xff"}
}

// Day is a tenant's meters on d.
func (m *Metering) Day(tenant string, d adoption.Day) metering.Daily {
	out := metering.Daily{Day: d, ContactCap: m.capOn(tenant, d)}
	start := (d - 1).EndNs()
	for c, evs := range m.contacts {
		if c[0] != tenant {
			continue
		}
		if liveAt(evs, endKey(d)) {
			out.ContactsTotal++
		} else if m.lostOn(evs, start, d.EndNs()) {
			out.ContactsLost++
		}
		if first, ok := firstAdd(evs, false); ok && first >= start && first < d.EndNs() {
			out.ContactsNew++
		}
		if first, ok := firstAdd(evs, true); ok && first >= start && first < d.EndNs() {
			out.LinkAcquisitions++
		}
	}
	if out.ContactCap > 0 && out.ContactsTotal > out.ContactCap {
		out.ContactsOverCap = out.ContactsTotal - out.ContactCap
	}
	return out
}

// lostOn: the last event that left the contact with no live relation, up to
// the end of the day, is on the day and is a removal by the customer.
func (m *Metering) lostOn(evs []*event.Event, start, end int64) bool {
	var last *event.Event
	for _, e := range evs {
		k := keyOf(e)
		if k.ns >= end {
			continue
		}
		before := liveAt(evs, key{ns: k.ns, id: k.id, source: k.source}.prev(evs))
		if before && !liveAt(evs, k) && (last == nil || keyOf(last).less(k)) {
			last = e
		}
	}
	return last != nil && last.TimeNs() >= start && last.Type == event.ContactRemoved && last.Data.By == "customer"
}

// prev is the greatest key among evs strictly below k (the zero key if none).
func (k key) prev(evs []*event.Event) key {
	best := key{ns: -1 << 63}
	for _, e := range evs {
		if ek := keyOf(e); ek.less(k) && best.less(ek) {
			best = ek
		}
	}
	return best
}

func firstAdd(evs []*event.Event, link bool) (int64, bool) {
	var first int64
	found := false
	for _, e := range evs {
		if e.Type != event.ContactAdded || (link && e.Data.AddWay != metering.LinkAddWay) {
			continue
		}
		if !found || e.TimeNs() < first {
			first, found = e.TimeNs(), true
		}
	}
	return first, found
}

func (m *Metering) capOn(tenant string, d adoption.Day) int64 {
	var best *event.Event
	for _, e := range m.subs[tenant] {
		if e.TimeNs() < d.EndNs() && (best == nil || keyOf(best).less(keyOf(e))) {
			best = e
		}
	}
	if best == nil {
		return 0
	}
	return best.Data.ContactCap
}
