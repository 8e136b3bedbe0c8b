package followup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
// fold plus the changes this decider produced. It is touched only by the
// tenant's decider goroutine.
type book struct {
	tenant    string
	rules     Rules
	customers map[string]*customer
	held      map[string]int              // staff → customers held
	claims    map[string]map[string]int64 // staff → claim event id → time
	releases  map[[2]string]int64         // (staff, contact) → latest release time
	transfers map[string]map[string]int64 // contact → transfer event id → time
	loadedAt  time.Time
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

// change is one assignee.changed, as produced or read back.
type change struct {
	contact, from, to, reason string
	key                       EventKey
}

// apply folds a change into the book: the customer's assignee by
// last-writer-wins, the counted claims, releases and transfers by event id.
func (b *book) apply(ch change) {
	c := b.customers[ch.contact]
	if c == nil {
		c = &customer{}
		b.customers[ch.contact] = c
		b.held[""]++
	}
	if c.holding.LastKey.Less(ch.key) {
		b.held[c.holding.Assignee()]--
		c.holding.LastTo, c.holding.LastKey = ch.to, ch.key
		b.held[ch.to]++
	}
	b.count(ch)
}

// count records the claim, release or transfer of ch for the rules.
func (b *book) count(ch change) {
	switch ch.reason {
	case "claim":
		addID(b.claims, ch.to, ch.key)
	case "release":
		k := [2]string{ch.from, ch.contact}
		b.releases[k] = max(b.releases[k], ch.key.TimeNs)
	case "transfer":
		addID(b.transfers, ch.contact, ch.key)
	}
}

func addID(m map[string]map[string]int64, k string, key EventKey) {
	if m[k] == nil {
		m[k] = map[string]int64{}
	}
	m[k][key.ID+"\x00"+key.Source] = key.TimeNs
}

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

// decision is a batch of changes being decided: refusals, and the events
// of the accepted ones.
type decision struct {
	ctx     context.Context
	pool    *Pool
	b       *book
	now     time.Time
	source  string
	out     Outcome
	changes []change
	events  []event.Event
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
	d.b.apply(ch)
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
			d.refuse(id, RuleMaxClaimsPerDay, "you claimed "+itoa(r.MaxClaimsPerDay)+" customers today (Asia/Shanghai); the most is "+itoa(r.MaxClaimsPerDay))
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
		day := due.In(Shanghai).Format("2006-01-02")
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
