package followup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"github.com/siyu-dev/siyu/internal/reporting"
	"time"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/kafka"
)

// The rules a refusal names.
const (
	RuleUnknownCustomer = "unknown_customer"
	RuleNotInPool       = "not_in_pool"
	RuleMaxHold         = "max_hold"
	RuleMaxClaimsPerDay = "max_claims_per_day"
	RuleCooldown        = "cooldown"
	RuleNotAssignedFrom = "not_assigned_to_from"
	RuleMaxTransfers    = "max_transfers_90d"
)

// MaxTransfers is WeCom's limit on in-service transfers of one customer
// within TransferWindow.
const (
	MaxTransfers   = 2
	TransferWindow = 90 * 24 * time.Hour
)

// Rules are a tenant's pool rules; 0 means no limit (or no recycling).
type Rules struct {
	MaxHold         int64 `json:"max_hold"`
	MaxClaimsPerDay int64 `json:"max_claims_per_day"`
	RecycleDays     int64 `json:"recycle_days"`
	CooldownDays    int64 `json:"cooldown_days"`
}

// Refusal says why one customer was not claimed, assigned or transferred.
type Refusal struct {
	ContactID string `json:"customer_id"`
	Rule      string `json:"rule"`
	Reason    string `json:"reason"`
}

// Outcome is the answer to a batch of decisions.
type Outcome struct {
	Accepted []string  `json:"accepted"`
	Refused  []Refusal `json:"refused"`
	// Written: where the batch's events landed in Kafka, the read-your-writes
	// token of the request (none when nothing was written).
	Written []kafka.Position `json:"-"`
}

// customer is what the decider knows of one customer.
type customer struct {
	holding        Holding
	lastFollowupNs int64
}

// idleSinceNs is when the customer was last looked after: its latest
// follow-up, assignment or first add.
func (c *customer) idleSinceNs() int64 {
	return max(c.lastFollowupNs, c.holding.LastKey.TimeNs, c.holding.FirstKey.TimeNs)
}

// book is one tenant's assignee state as the decider sees it: ClickHouse's
// fold plus the changes this decider produced and the events its tail
// brought. It is touched only by the tenant's decider goroutine.
type book struct {
	tenant    string
	rules     Rules
	rulesKey  EventKey // of the rules set by this decider or its tail (zero: read from ClickHouse)
	customers map[string]*customer
	held      map[string]int              // staff → customers held
	claims    map[string]map[string]int64 // staff → claim event id → time
	releases  map[[2]string]int64         // (staff, contact) → latest release time
	transfers map[string]map[string]int64 // contact → transfer event id → time
	loadedAt  time.Time
	// asOf: the ingest group's committed offsets (the next offset per
	// partition) read before the book was: every event before them is in it.
	asOf offsets
}

func newBook(tenant string) *book {
	return &book{tenant: tenant, customers: map[string]*customer{}, held: map[string]int{},
		claims: map[string]map[string]int64{}, releases: map[[2]string]int64{},
		transfers: map[string]map[string]int64{}}
}

// setCustomer puts a customer's state read from ClickHouse, keeping the
// newer of it and what the book has (a change of ours not yet ingested).
func (b *book) setCustomer(contact string, h Holding, lastFollowupNs int64) {
	c := b.customers[contact]
	if c == nil {
		c = &customer{}
		b.customers[contact] = c
	} else {
		b.held[c.holding.Assignee()]--
	}
	c.holding.FirstStaff, c.holding.FirstKey = h.FirstStaff, h.FirstKey
	if c.holding.LastKey.Less(h.LastKey) {
		c.holding.LastTo, c.holding.LastKey = h.LastTo, h.LastKey
	}
	c.lastFollowupNs = max(c.lastFollowupNs, lastFollowupNs)
	b.held[c.holding.Assignee()]++
}

// added folds a contact.added read from the tail: the first adder holds
// until a change. ClickHouse gives only the time of the first add, so an
// add at the same nanosecond as the one read from it does not replace it.
func (b *book) added(contact, staff string, key EventKey) {
	c := b.customers[contact]
	if c == nil {
		c = &customer{}
		b.customers[contact] = c
		b.held[""]++
	}
	first := c.holding.FirstKey
	earlier := first.IsZero() || key.TimeNs < first.TimeNs || (key.TimeNs == first.TimeNs && first.ID != fromClickHouse && key.Less(first))
	if !earlier {
		return
	}
	b.held[c.holding.Assignee()]--
	c.holding.FirstStaff, c.holding.FirstKey = staff, key
	b.held[c.holding.Assignee()]++
}

// followedUp folds a followup.logged read from the tail (a customer with
// only follow-ups is known, in the pool, as ClickHouse's fold has it).
func (b *book) followedUp(contact string, atNs int64) {
	c := b.customers[contact]
	if c == nil {
		c = &customer{}
		b.customers[contact] = c
		b.held[""]++
	}
	c.lastFollowupNs = max(c.lastFollowupNs, atNs)
}

// setRules takes a rule set written at key unless the book has a newer one.
func (b *book) setRules(r Rules, key EventKey) {
	if b.rulesKey.IsZero() || !key.Less(b.rulesKey) {
		b.rules, b.rulesKey = r, key
	}
}

// change is one assignee.changed, as produced or read back.
type change struct {
	contact, from, to, reason string
	key                       EventKey
}

// undo is what apply changed, for a decision that is rolled back.
type undo struct {
	ch      change
	had     bool    // the customer was in the book
	prev    Holding // its holding before
	counted counted
}

// apply folds a change into the book: the customer's assignee by
// last-writer-wins, the counted claims, releases and transfers by event id.
// It returns how to take the change back.
func (b *book) apply(ch change) undo {
	c := b.customers[ch.contact]
	u := undo{ch: ch, had: c != nil}
	if c == nil {
		c = &customer{}
		b.customers[ch.contact] = c
		b.held[""]++
	} else {
		u.prev = c.holding
	}
	if c.holding.LastKey.Less(ch.key) {
		b.held[c.holding.Assignee()]--
		c.holding.LastTo, c.holding.LastKey = ch.to, ch.key
		b.held[ch.to]++
	}
	u.counted = b.count(ch)
	return u
}

// revert takes back a change apply made (the latest first).
func (b *book) revert(u undo) {
	c := b.customers[u.ch.contact]
	b.held[c.holding.Assignee()]--
	if u.had {
		c.holding = u.prev
		b.held[c.holding.Assignee()]++
	} else {
		delete(b.customers, u.ch.contact)
	}
	b.uncount(u.ch, u.counted)
}

// counted is what count changed: whether the event id was new, or the
// release time it replaced.
type counted struct {
	newID       bool
	hadRelease  bool
	prevRelease int64
}

// count records the claim, release or transfer of ch for the rules.
func (b *book) count(ch change) counted {
	switch ch.reason {
	case "claim":
		return counted{newID: addID(b.claims, ch.to, ch.key)}
	case "release":
		k := [2]string{ch.from, ch.contact}
		prev, had := b.releases[k]
		b.releases[k] = max(prev, ch.key.TimeNs)
		return counted{hadRelease: had, prevRelease: prev}
	case "transfer":
		return counted{newID: addID(b.transfers, ch.contact, ch.key)}
	}
	return counted{}
}

func (b *book) uncount(ch change, c counted) {
	switch ch.reason {
	case "claim":
		if c.newID {
			delete(b.claims[ch.to], idKey(ch.key))
		}
	case "release":
		k := [2]string{ch.from, ch.contact}
		if c.hadRelease {
			b.releases[k] = c.prevRelease
		} else {
			delete(b.releases, k)
		}
	case "transfer":
		if c.newID {
			delete(b.transfers[ch.contact], idKey(ch.key))
		}
	}
}

// addID records key under k and reports whether it was new.
func addID(m map[string]map[string]int64, k string, key EventKey) bool {
	if m[k] == nil {
		m[k] = map[string]int64{}
	}
	id := idKey(key)
	_, had := m[k][id]
	m[k][id] = key.TimeNs
	return !had
}

func idKey(key EventKey) string { return key.ID + "\x00" + key.Source }

// claimsOn counts staff's claims on the Asia/Shanghai day of now.
func (b *book) claimsOn(staff string, now time.Time) int64 {
	start, end := DayBounds(now)
	var n int64
	for _, t := range b.claims[staff] {
		if t >= start && t < end {
			n++
		}
	}
	return n
}

// transfersSince counts the customer's transfers from sinceNs on.
func (b *book) transfersSince(contact string, sinceNs int64) int {
	n := 0
	for _, t := range b.transfers[contact] {
		if t >= sinceNs {
			n++
		}
	}
	return n
}

// decision is one request being decided: refusals, and the events of the
// accepted changes, already applied to the book so that later decisions
// of the batch see them; rollback takes them back.
type decision struct {
	ctx     context.Context
	pool    *Pool
	b       *book
	now     time.Time
	source  string
	out     Outcome
	changes []change
	events  []event.Event
	undos   []undo
	// inputs name the request's values that its events carry, for the
	// error of an event the contract refuses (see check).
	inputs []input
	// rules0 and rulesKey0 are the book's rules before the decision.
	rules0    Rules
	rulesKey0 EventKey
}

func (d *decision) refuse(contact, rule, reason string) {
	d.out.Refused = append(d.out.Refused, Refusal{ContactID: contact, Rule: rule, Reason: reason})
}

// accept applies a change to the book at once (so later decisions of the
// batch see it) and builds its event. id "" draws a random one.
func (d *decision) accept(contact, from, to, reason, note, id string, at time.Time) {
	if id == "" {
		id = newID()
	}
	ch := change{contact: contact, from: from, to: to, reason: reason,
		key: EventKey{TimeNs: at.UnixNano(), ID: id, Source: d.source}}
	d.undos = append(d.undos, d.b.apply(ch))
	d.changes = append(d.changes, ch)
	d.out.Accepted = append(d.out.Accepted, contact)
	ev := event.Event{ID: id, Source: d.source, Type: event.AssigneeChanged, Tenant: d.b.tenant, Subject: contact, Time: at.UTC()}
	ev.Data.Set(event.FReason, reason)
	if from != "" {
		ev.Data.Set(event.FFromStaffID, from)
	}
	if to != "" {
		ev.Data.Set(event.FToStaffID, to)
	}
	if note != "" {
		ev.Data.Set(event.FNote, note)
	}
	d.events = append(d.events, ev)
}

// rollback takes the decision's changes out of the book: it decided
// nothing.
func (d *decision) rollback() {
	for i := len(d.undos) - 1; i >= 0; i-- {
		d.b.revert(d.undos[i])
	}
	d.b.rules, d.b.rulesKey = d.rules0, d.rulesKey0
	d.undos, d.changes, d.events = nil, nil, nil
	d.out = Outcome{}
}

// claim decides staff's claim of each customer, in order.
func (d *decision) claim(staff string, contacts []string) {
	r := d.b.rules
	for _, id := range contacts {
		c := d.b.customers[id]
		switch {
		case c == nil:
			d.refuse(id, RuleUnknownCustomer, "no such customer in this tenant")
		case c.holding.Assignee() != "":
			d.refuse(id, RuleNotInPool, "the customer is assigned to "+c.holding.Assignee())
		case r.CooldownDays > 0 && d.now.UnixNano()-d.b.releases[[2]string{staff, id}] < days(r.CooldownDays):
			d.refuse(id, RuleCooldown, "you released this customer less than "+plural(r.CooldownDays, "day")+" ago")
		case r.MaxHold > 0 && int64(d.b.held[staff]) >= r.MaxHold:
			d.refuse(id, RuleMaxHold, "you hold "+plural(int64(d.b.held[staff]), "customer")+"; the most is "+itoa(r.MaxHold))
		case r.MaxClaimsPerDay > 0 && d.b.claimsOn(staff, d.now) >= r.MaxClaimsPerDay:
			d.refuse(id, RuleMaxClaimsPerDay, "you claimed "+itoa(r.MaxClaimsPerDay)+" customers today (Asia/reporting.Zone); the most is "+itoa(r.MaxClaimsPerDay))
		default:
			d.accept(id, "", staff, "claim", "", "", d.now)
		}
	}
}

// transfer moves customers from one rep to another, at most MaxTransfers
// times per customer within TransferWindow.
func (d *decision) transfer(from, to string, contacts []string) {
	since := d.now.Add(-TransferWindow).UnixNano()
	for _, id := range contacts {
		c := d.b.customers[id]
		switch {
		case c == nil:
			d.refuse(id, RuleUnknownCustomer, "no such customer in this tenant")
		case c.holding.Assignee() != from:
			d.refuse(id, RuleNotAssignedFrom, "the customer is not assigned to "+from)
		case d.b.transfersSince(id, since) >= MaxTransfers:
			d.refuse(id, RuleMaxTransfers, "the customer was transferred "+itoa(MaxTransfers)+" times in the last 90 days (WeCom's limit)")
		default:
			d.accept(id, from, to, "transfer", "", "", d.now)
		}
	}
}

// depart hands every customer of staff over to successor ("" = the pool).
// idFor gives each change's event id (deterministic for the sweep).
func (d *decision) depart(staff, successor string, idFor func(contact string) string) {
	for id, c := range d.b.customers {
		if c.holding.Assignee() == staff {
			d.accept(id, staff, successor, "depart", "", idFor(id), d.now)
		}
	}
}

// recycle returns to the pool every assigned customer without a follow-up
// for RecycleDays. Each recycle's id and time are those of the (customer,
// due day), so that deciding it twice writes the same event.
func (d *decision) recycle() {
	n := d.b.rules.RecycleDays
	if n <= 0 {
		return
	}
	for id, c := range d.b.customers {
		staff := c.holding.Assignee()
		due := time.Unix(0, c.idleSinceNs()+days(n))
		if staff == "" || due.After(d.now) {
			continue
		}
		day := due.In(reporting.Zone).Format("2006-01-02")
		d.accept(id, staff, "", "recycle", "", stableID("recycle", d.b.tenant, id, day), due)
	}
}

// stableID is an event id that depends only on parts.
func stableID(kind string, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return "siyu-" + kind + "-" + hex.EncodeToString(h.Sum(nil))[:32]
}

func days(n int64) int64 { return n * int64(24*time.Hour) }
