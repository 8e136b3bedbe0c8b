package followup

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/google/btree"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/readmodel"
)

// A memBoard is one tenant's boards in memory: every customer's board facts
// folded as contact_facts, followup_facts and profile_state (name, last
// inbound message) fold them in ClickHouse, and,
// per assignee, the customers ordered by next follow-up time and by last
// event. Every fold is a join (a minimum or maximum by event key), so a
// memBoard is the same whatever the order of its facts and however often one
// repeats: the ClickHouse snapshot and the Kafka tail may overlap
// (docs/decisions.md, "Board", B8). A memBoard is not safe for concurrent use;
// Boards guards each with a lock.
type memBoard struct {
	cards map[string]*card
	staff map[string]*shelf
	// dueIndex holds, per staff member with a live relation, the customers
	// with a next follow-up, by (next follow-up, contact id): reminders and
	// the digest read a rep's due customers without reading every card.
	dueIndex map[string]*btree.BTreeG[shelved]
	strings  map[string]string // staff ids, sources and stages: one copy each
	// shelving: the shelves follow every fact; before (while the snapshot
	// loads, when nobody reads) shelveAll builds them once at the end.
	shelving bool
}

// card is a customer's board facts, and where the customer is shelved.
type card struct {
	id      string
	holding Holding  // first adder and latest assignee change
	fu      EventKey // the latest followup.logged
	nextNs  int64    // its next_at (0: none)
	lastNs  int64    // the last event time as profile_state.last_ns counts it
	stageAt EventKey // the latest followup.stage_changed
	stage   string   // its stage
	nameAt  EventKey // the latest event with a name
	name    string   // its name
	lastIn  int64    // the last inbound chat message
	friends []friend // WeCom friend relations, by staff (relation_events)

	scheduled []string // the staff whose due index holds the card, under schedKey
	schedKey  int64
	shelved   string // the staff whose shelf holds the card ("": none)
	sortKey   int64  // the keys it is shelved under
	recentAt  int64
}

// friend is one staff member's relation with a customer: live or ended by
// its latest relation event (last writer wins, as profile_relations.sql).
type friend struct {
	staff string
	at    EventKey
	live  bool
}

// shelf is one assignee's customers in board order: by next follow-up time
// (never scheduled last) and, for view recent, by last event, newest first.
type shelf struct {
	byNext   *btree.BTreeG[shelved]
	byRecent *btree.BTreeG[shelved]
}

// shelved is a card in a shelf's order: (key, contact id).
type shelved struct {
	key int64
	id  string
	c   *card
}

func shelvedLess(a, b shelved) bool {
	if a.key != b.key {
		return a.key < b.key
	}
	return a.id < b.id
}

func newMemBoard() *memBoard {
	return &memBoard{cards: map[string]*card{}, staff: map[string]*shelf{}, dueIndex: map[string]*btree.BTreeG[shelved]{}, strings: map[string]string{}}
}

// intern returns the board's copy of s, a value many customers share.
func (b *memBoard) intern(s string) string {
	if v, ok := b.strings[s]; ok {
		return v
	}
	b.strings[s] = s
	return s
}

// fact is one input of a memBoard: a ClickHouse snapshot row or an event.
type fact struct {
	contact string
	kind    factKind
	key     EventKey
	staff   string // added: the adder; assigned: to_staff_id
	nextNs  int64  // followup: next_at
	lastNs  int64  // the time this fact gives the last event (0: none)
	stage   string // staged: the stage
	named   bool   // the fact gives a name
	name    string
	inNs    int64 // the time this fact gives the last inbound message (0: none)
	// relations this fact starts or ends (contact.added, .removed, .transferred)
	relations []relationFact
}

// relationFact is one side of a relation event: staff's relation is live
// after it or not.
type relationFact struct {
	staff string
	live  bool
}

type factKind uint8

const (
	factTouch    factKind = iota // only the last event time
	factAdded                    // contact.added
	factAssigned                 // assignee.changed
	factFollowup                 // followup.logged
	factStaged                   // followup.stage_changed
)

// apply folds f into the memBoard and reshelves its customer when its
// assignee, next time or last event changed.
func (b *memBoard) apply(f fact) {
	f.key.Source, f.staff, f.stage = b.intern(f.key.Source), b.intern(f.staff), b.intern(f.stage)
	for i := range f.relations {
		f.relations[i].staff = b.intern(f.relations[i].staff)
	}
	c := b.cards[f.contact]
	if c == nil {
		c = &card{id: f.contact}
		b.cards[f.contact] = c
	}
	switch f.kind {
	case factAdded:
		c.holding.apply(AssigneeFact{Added: true, Staff: f.staff, Key: f.key})
	case factAssigned:
		c.holding.apply(AssigneeFact{Staff: f.staff, Key: f.key})
	case factFollowup:
		if c.fu.IsZero() || c.fu.Less(f.key) {
			c.fu, c.nextNs = f.key, f.nextNs
		}
	case factStaged:
		if c.stageAt.IsZero() || c.stageAt.Less(f.key) {
			c.stageAt, c.stage = f.key, f.stage
		}
	}
	if f.named && (c.nameAt.IsZero() || c.nameAt.Less(f.key)) {
		c.nameAt, c.name = f.key, f.name
	}
	for _, r := range f.relations {
		c.relate(r, f.key)
	}
	c.lastNs, c.lastIn = max(c.lastNs, f.lastNs), max(c.lastIn, f.inNs)
	if b.shelving {
		b.reshelve(c)
		b.reschedule(c)
	}
}

// shelveAll puts every customer on its shelf (in board order, which is
// the B-trees' fastest insertion order) and makes apply keep the shelves.
func (b *memBoard) shelveAll() {
	cards := make([]*card, 0, len(b.cards))
	for _, c := range b.cards {
		cards = append(cards, c)
	}
	slices.SortFunc(cards, func(x, y *card) int {
		return cmp.Or(cmp.Compare(x.sortKeyNow(), y.sortKeyNow()), strings.Compare(x.id, y.id))
	})
	for _, c := range cards {
		b.reshelve(c)
		b.reschedule(c)
	}
	b.shelving = true
}

// reschedule moves c in the due index: under each staff member it has a
// live relation with, keyed by its next follow-up, when it has one.
func (b *memBoard) reschedule(c *card) {
	var want []string
	if c.nextNs > 0 {
		for _, f := range c.friends {
			if f.live {
				want = append(want, f.staff)
			}
		}
	}
	if c.nextNs == c.schedKey && slices.Equal(want, c.scheduled) {
		return
	}
	for _, staff := range c.scheduled {
		b.dueIndex[staff].Delete(shelved{key: c.schedKey, id: c.id})
	}
	c.scheduled, c.schedKey = want, c.nextNs
	for _, staff := range want {
		t := b.dueIndex[staff]
		if t == nil {
			t = btree.NewG(32, shelvedLess)
			b.dueIndex[staff] = t
		}
		t.ReplaceOrInsert(shelved{key: c.nextNs, id: c.id, c: c})
	}
}

// relate folds one relation fact: the latest by event key wins.
func (c *card) relate(r relationFact, key EventKey) {
	for i := range c.friends {
		if f := &c.friends[i]; f.staff == r.staff {
			if f.at.Less(key) {
				f.at, f.live = key, r.live
			}
			return
		}
	}
	c.friends = append(c.friends, friend{staff: r.staff, at: key, live: r.live})
}

// sortKey is the board order of every view but recent: the next follow-up
// time, never scheduled last (as followup_board.sql).
func (c *card) sortKeyNow() int64 {
	if c.nextNs == 0 {
		return math.MaxInt64
	}
	return c.nextNs
}

// reshelve moves c to the shelf of its assignee under its current keys. A
// customer is on a board when it has an assignee and a last event (as the
// board query's last_ns > 0).
func (b *memBoard) reshelve(c *card) {
	staff := c.holding.Assignee()
	if c.lastNs == 0 {
		staff = ""
	}
	key, recent := c.sortKeyNow(), -c.lastNs
	if staff == c.shelved && key == c.sortKey && recent == c.recentAt {
		return
	}
	if c.shelved != "" {
		s := b.staff[c.shelved]
		s.byNext.Delete(shelved{key: c.sortKey, id: c.id})
		s.byRecent.Delete(shelved{key: c.recentAt, id: c.id})
	}
	c.shelved, c.sortKey, c.recentAt = staff, key, recent
	if staff == "" {
		return
	}
	s := b.staff[staff]
	if s == nil {
		s = &shelf{byNext: btree.NewG(32, shelvedLess), byRecent: btree.NewG(32, shelvedLess)}
		b.staff[staff] = s
	}
	s.byNext.ReplaceOrInsert(shelved{key: key, id: c.id, c: c})
	s.byRecent.ReplaceOrInsert(shelved{key: recent, id: c.id, c: c})
}

// page collects up to need rows of q's board after pos, in board order.
func (b *memBoard) page(q BoardQuery, pos boardCursor, need int) []boardRow {
	s := b.staff[q.StaffID]
	if s == nil {
		return nil
	}
	dayStart, dayEnd := DayBounds(q.Now)
	tree, from := s.byNext, pos.Key
	switch q.View {
	case ViewRecent:
		tree = s.byRecent
	case ViewDueToday:
		from = max(from, dayStart)
	case ViewUpcoming:
		from = max(from, dayEnd)
	}
	pivot := shelved{key: from}
	if from == pos.Key {
		pivot.id = pos.ContactID
	}
	var out []boardRow
	tree.AscendGreaterOrEqual(pivot, func(it shelved) bool {
		if it.key == pos.Key && it.id <= pos.ContactID {
			return true // the cursor's own row
		}
		c := it.c
		switch q.View {
		case ViewDueToday:
			if it.key >= dayEnd {
				return false
			}
		case ViewOverdue:
			if it.key >= dayStart {
				return false
			}
			if c.nextNs <= 0 {
				return true
			}
		case ViewUpcoming:
			if c.nextNs == 0 {
				return false // never scheduled: the end of the order
			}
		}
		if q.Stage != "" && c.stage != q.Stage {
			return true
		}
		e := BoardEntry{ContactID: c.id, Name: c.name, Stage: c.stage, NextFollowupAt: nsTime(c.nextNs),
			LastInboundAt: nsTime(c.lastIn), LastEventAt: nsTime(c.lastNs)}
		if !c.fu.IsZero() {
			e.LastFollowupAt = nsTime(c.fu.TimeNs)
		}
		out = append(out, boardRow{entry: e, key: it.key})
		return len(out) < need
	})
	return out
}

// mayRead reports whether the customer exists (has a profile) and, when
// staff is not empty, staff is its assignee or holds a live relation with
// it. False means "not shown here", not "no".
func (b *memBoard) mayRead(contact, staff string) bool {
	c := b.cards[contact]
	if c == nil || c.lastNs == 0 {
		return false
	}
	if staff == "" || c.holding.Assignee() == staff {
		return true
	}
	for _, f := range c.friends {
		if f.staff == staff && f.live {
			return true
		}
	}
	return false
}

// assignee is the customer's assignee in the memBoard ("" = the pool or
// no such customer, as Reader.Assignee).
func (b *memBoard) assignee(contact string) string {
	if c := b.cards[contact]; c != nil {
		return c.holding.Assignee()
	}
	return ""
}

// lastNsTypes are the event types that count toward a customer's last
// event time (contact_facts.last_ns, as profile_state.last_ns).
var lastNsTypes = map[event.Type]bool{
	event.ContactAdded: true, event.ContactUpdated: true, event.ContactRemoved: true,
	event.ContactTransferred: true, event.ChatMessage: true, event.TagAdded: true, event.TagRemoved: true,
	event.FollowupLogged: true, event.FollowupStageChange: true,
}

// eventFact is the board fact of ev, as the contact_facts and
// followup_facts views read it; ok is false for events no board reads.
func eventFact(ev *event.Event) (fact, bool) {
	key := EventKey{TimeNs: ev.TimeNs(), ID: strings.Clone(ev.ID), Source: strings.Clone(ev.Source)}
	f := fact{contact: strings.Clone(ev.Subject), key: key}
	if lastNsTypes[ev.Type] {
		f.lastNs = key.TimeNs
	}
	switch ev.Type {
	case event.ContactAdded:
		f.kind, f.staff = factAdded, strings.Clone(ev.Data.StaffID)
		f.relations = []relationFact{{staff: f.staff, live: true}}
	case event.ContactRemoved:
		f.relations = []relationFact{{staff: strings.Clone(ev.Data.StaffID)}}
	case event.ContactTransferred: // relation_events: the new side, and the old unless the same
		f.relations = []relationFact{{staff: strings.Clone(ev.Data.ToStaffID), live: true}}
		if ev.Data.FromStaffID != ev.Data.ToStaffID {
			f.relations = append(f.relations, relationFact{staff: strings.Clone(ev.Data.FromStaffID)})
		}
	case event.AssigneeChanged:
		f.kind, f.staff = factAssigned, strings.Clone(ev.Data.ToStaffID)
	case event.FollowupLogged:
		f.kind, f.nextNs = factFollowup, ev.Data.NextAtNs
	case event.FollowupStageChange:
		f.kind, f.stage = factStaged, strings.Clone(ev.Data.Stage)
	case event.ChatMessage:
		if ev.Data.Direction == "in" {
			f.inNs = key.TimeNs
		}
	}
	if f.lastNs == 0 && f.kind == factTouch {
		return fact{}, false
	}
	if f.lastNs != 0 && ev.Data.Present.Has(event.FName) { // profile_state.name: the profile's event types
		f.named, f.name = true, strings.Clone(ev.Data.Name)
	}
	return f, true
}

// bytes estimates the heap the memBoard holds (siyu_readmodel_bytes): the
// cards and their strings, the shelves' B-tree items (nodes about 2/3
// full) and the interned values.
func (b *memBoard) bytes() int64 {
	n := readmodel.Map(len(b.cards), int64(unsafe.Sizeof("")), 8) + readmodel.Map(len(b.staff), int64(unsafe.Sizeof("")), 8)
	for _, c := range b.cards {
		n += c.bytes()
		if c.shelved != "" {
			n += 2 * int64(unsafe.Sizeof(shelved{})) * 3 / 2
		}
		n += int64(len(c.scheduled)) * int64(unsafe.Sizeof(shelved{})) * 3 / 2
		n += readmodel.Slice(cap(c.scheduled), int64(unsafe.Sizeof("")))
	}
	n += int64(len(b.staff)) * readmodel.Alloc(int64(unsafe.Sizeof(shelf{})))
	n += readmodel.Map(len(b.dueIndex), int64(unsafe.Sizeof("")), 8)
	n += readmodel.Map(len(b.strings), int64(unsafe.Sizeof("")), int64(unsafe.Sizeof("")))
	for s := range b.strings {
		n += readmodel.String(s)
	}
	return n
}

// bytes estimates a card's own heap: the struct, its id, name and event
// ids, and its friends (staff ids and sources are the board's interned).
func (c *card) bytes() int64 {
	n := readmodel.Alloc(int64(unsafe.Sizeof(card{}))) + readmodel.String(c.id) + readmodel.String(c.name)
	for _, k := range []*EventKey{&c.holding.FirstKey, &c.holding.LastKey, &c.fu, &c.stageAt, &c.nameAt} {
		n += readmodel.String(k.ID)
	}
	n += readmodel.Slice(cap(c.friends), int64(unsafe.Sizeof(friend{})))
	for i := range c.friends {
		n += readmodel.String(c.friends[i].at.ID)
	}
	return n
}

// due is Reader.Due from memory: per rep with a live relation (staff ""
// = every rep), the customers whose next follow-up is before beforeNs,
// ordered by rep, next follow-up, contact; Overdue before overdueNs. It
// reads the due index: only the customers it answers.
func (b *memBoard) due(staff string, beforeNs, overdueNs int64) []DueEntry {
	out := []DueEntry{}
	staffs := []string{staff}
	if staff == "" {
		staffs = slices.Sorted(maps.Keys(b.dueIndex))
	}
	for _, s := range staffs {
		t := b.dueIndex[s]
		if t == nil {
			continue
		}
		t.Ascend(func(it shelved) bool {
			if it.key >= beforeNs {
				return false
			}
			c := it.c
			out = append(out, DueEntry{StaffID: s, ContactID: c.id, Name: c.name, Stage: c.stage,
				NextFollowupAt: time.Unix(0, c.nextNs).UTC(), Overdue: c.nextNs < overdueNs})
			return true
		})
	}
	return out
}
