// Package metering computes the contact meters billing is based on
// (shared/spec/metrics.md, "Contact metering (billing)") and exports a
// billing period's usage lines.
//
// ClickHouse keeps every event that starts or ends a (contact, staff)
// relation (sql/migrations/0007_metering.sql, relation_events); Compute
// replays them per pair in (time, id, source) order and reads off each day's
// state at its end. That is exact whatever the delivery order and however
// often an event was redelivered. It reads a tenant's whole relation
// history on every call: fine per tenant, not tuned for the whole platform
// (docs/decisions.md, "Metering").
package metering

import (
	"sort"
	"time"

	"github.com/siyu-dev/siyu/adoption"
)

// LinkAddWay is the WeCom add_way of an acquisition link.
const LinkAddWay = 16

// Event types a relation row comes from.
const (
	typeAdded       = "contact.added"
	typeRemoved     = "contact.removed"
	typeTransferred = "contact.transferred"
)

// Row is one side of a relation event: it starts (Live) or ends the
// relation of (Tenant, Contact, Staff) at its time.
type Row struct {
	Tenant, Contact, Staff string
	TimeNs                 int64
	ID, Source             string
	Type                   string
	Live                   bool
	RemovedBy              string
	AddWay                 int64
}

// Cap is one subscription change's contact cap (0: none).
type Cap struct {
	Tenant     string
	TimeNs     int64
	ID, Source string
	ContactCap int64
}

// Daily is a tenant's meters for one day: the state at the end of the day.
type Daily struct {
	Day              adoption.Day
	ContactsTotal    int64
	ContactsNew      int64
	ContactsLost     int64
	LinkAcquisitions int64
	ContactCap       int64
	ContactsOverCap  int64
}

type evKey struct {
	ns         int64
	id, source string
}

func (a evKey) less(b evKey) bool {
	if a.ns != b.ns {
		return a.ns < b.ns
	}
	if a.id != b.id {
		return a.id < b.id
	}
	return a.source < b.source
}

// Compute returns every tenant's meters for each day of [from, to]. Rows
// and caps may come in any order and repeat. A tenant appears when it has a
// row or a cap.
func Compute(rows []Row, caps []Cap, from, to adoption.Day) map[string][]Daily {
	out := map[string][]Daily{}
	byTenant := map[string][]Row{}
	for _, r := range rows {
		byTenant[r.Tenant] = append(byTenant[r.Tenant], r)
	}
	capsBy := map[string][]Cap{}
	for _, c := range caps {
		capsBy[c.Tenant] = append(capsBy[c.Tenant], c)
	}
	for tn := range capsBy {
		if _, ok := byTenant[tn]; !ok {
			byTenant[tn] = nil
		}
	}
	for tn, rs := range byTenant {
		out[tn] = computeTenant(rs, capsBy[tn], from, to)
	}
	return out
}

func computeTenant(rows []Row, caps []Cap, from, to adoption.Day) []Daily {
	days := make([]Daily, 0, max(0, int(to-from)+1))
	for d := from; d <= to; d++ {
		days = append(days, Daily{Day: d, ContactCap: capOn(caps, d)})
	}
	byContact := map[string][]Row{}
	for _, r := range rows {
		byContact[r.Contact] = append(byContact[r.Contact], r)
	}
	for _, rs := range byContact {
		addContact(days, contactHistory(rs), from, to)
	}
	for i := range days {
		if days[i].ContactCap > 0 {
			days[i].ContactsOverCap = max(0, days[i].ContactsTotal-days[i].ContactCap)
		}
	}
	return days
}

// capOn is the contact cap of the latest change with time ≤ end of d.
func capOn(caps []Cap, d adoption.Day) int64 {
	end := d.EndNs()
	var best *Cap
	for i := range caps {
		c := &caps[i]
		if c.TimeNs >= end {
			continue
		}
		if best == nil || (evKey{best.TimeNs, best.ID, best.Source}).less(evKey{c.TimeNs, c.ID, c.Source}) {
			best = c
		}
	}
	if best == nil {
		return 0
	}
	return best.ContactCap
}

// step is the contact's state after one event (all its relation sides).
type step struct {
	ns        int64
	live      bool // at least one live relation after the event
	ended     bool // this event ended the contact's last live relation
	lostByCus bool // ... with a contact.removed by the customer
}

// history is what the meters need of one contact.
type history struct {
	steps     []step
	firstAdd  int64 // 0: never added
	firstLink int64 // 0: never added through an acquisition link
	hasAdd    bool
	hasLink   bool
}

// contactHistory replays a contact's rows in (time, id, source) order; the
// sides of one transfer apply together. Identical rows count once.
func contactHistory(rows []Row) history {
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if ka, kb := (evKey{a.TimeNs, a.ID, a.Source}), (evKey{b.TimeNs, b.ID, b.Source}); ka != kb {
			return ka.less(kb)
		}
		return a.Staff < b.Staff
	})
	var h history
	pairs := map[string]bool{}
	liveCount := 0
	for i := 0; i < len(rows); {
		k := evKey{rows[i].TimeNs, rows[i].ID, rows[i].Source}
		wasLive := liveCount > 0
		j := i
		for ; j < len(rows) && (evKey{rows[j].TimeNs, rows[j].ID, rows[j].Source}) == k; j++ {
			r := rows[j]
			if pairs[r.Staff] != r.Live {
				pairs[r.Staff] = r.Live
				if r.Live {
					liveCount++
				} else {
					liveCount--
				}
			}
			h.noteAdd(r)
		}
		r := rows[i]
		lost := wasLive && liveCount == 0 && r.Type == typeRemoved && r.RemovedBy == "customer"
		ended := wasLive && liveCount == 0
		h.steps = append(h.steps, step{ns: k.ns, live: liveCount > 0, ended: ended, lostByCus: lost})
		i = j
	}
	return h
}

func (h *history) noteAdd(r Row) {
	if r.Type != typeAdded {
		return
	}
	if !h.hasAdd || r.TimeNs < h.firstAdd {
		h.firstAdd, h.hasAdd = r.TimeNs, true
	}
	if r.AddWay == LinkAddWay && (!h.hasLink || r.TimeNs < h.firstLink) {
		h.firstLink, h.hasLink = r.TimeNs, true
	}
}

// addContact adds one contact's contribution to each day.
func addContact(days []Daily, h history, from, to adoption.Day) {
	if h.hasAdd {
		addOn(days, from, to, adoption.DayOf(nsTime(h.firstAdd)), func(d *Daily) { d.ContactsNew++ })
	}
	if h.hasLink {
		addOn(days, from, to, adoption.DayOf(nsTime(h.firstLink)), func(d *Daily) { d.LinkAcquisitions++ })
	}
	// lastEnd is the step that most recently left the contact without a
	// live relation; it counts as lost on its day if the customer removed
	// the rep and the contact is still without one at the end of that day.
	s := 0
	var cur *step
	var lastEnd *step
	for i := range days {
		end := days[i].Day.EndNs()
		for ; s < len(h.steps) && h.steps[s].ns < end; s++ {
			cur = &h.steps[s]
			if cur.ended {
				lastEnd = cur
			}
		}
		if cur == nil {
			continue
		}
		if cur.live {
			days[i].ContactsTotal++
			continue
		}
		if lastEnd != nil && lastEnd.lostByCus && lastEnd.ns >= (days[i].Day-1).EndNs() {
			days[i].ContactsLost++
		}
	}
}

func nsTime(ns int64) time.Time { return time.Unix(0, ns) }

// addOn applies f to day d's meters when d is in [from, to].
func addOn(days []Daily, from, to, d adoption.Day, f func(*Daily)) {
	if d >= from && d <= to {
		f(&days[d-from])
	}
}
