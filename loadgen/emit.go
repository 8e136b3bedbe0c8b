package loadgen

import (
	"github.com/siyu-dev/siyu/internal/reporting"
	"math"
	"strconv"
	"time"

	"github.com/siyu-dev/siyu/event"
)

// Stages of the sales funnel, as followup.stage_changed names them.
const (
	stageNone uint8 = iota
	stageNew
	stageContacted
	stageQualified
	stageProposal
	stageWon
	stageLost
)

var stageNames = [...]string{"", "new", "contacted", "qualified", "proposal", "won", "lost"}

// contactKind is what happens to an existing contact in one slot.
type contactKind uint8

const (
	kindChat contactKind = iota
	kindTagAdded
	kindTagRemoved
	kindUpdated
	kindFollowup
	kindStage
	kindRemoved
	kindReassigned
)

// The mix of events about existing contacts. Chats are chatShare of the
// whole stream. Removals, reassignments and stage changes happen a number of
// times in a contact's life (perContact), whatever the length of the stream,
// but take at most a third of the contact events that are not chats. The
// elastic kinds share the rest by weight. When a drawn kind does not apply (a
// stage change of a won deal, a tag removed from an untagged contact), a
// related kind or a chat takes its place.
const chatShare = 0.65

var perContact = []struct {
	k contactKind
	n float64
}{{kindRemoved, 0.12}, {kindReassigned, 0.03}, {kindStage, 1.2}}

var elastic = []weighted[contactKind]{
	{kindFollowup, 45}, {kindTagAdded, 25}, {kindUpdated, 20}, {kindTagRemoved, 10},
}

// newContactKinds returns the mix for a stream of events events, of which
// contactEvents are about existing contacts, and which adds contacts.
func newContactKinds(events, contactEvents, contacts float64) choice[contactKind] {
	const scale = 1 << 20 // weights are counts scaled to this total
	if contactEvents < 1 {
		return newChoice(weighted[contactKind]{kindChat, 1})
	}
	chats := min(chatShare*events, 0.9*contactEvents)
	life := 0.0
	for _, p := range perContact {
		life += p.n * contacts
	}
	rest := contactEvents - chats
	lifeScale := min(1, rest/3/max(life, 1))
	rest -= life * lifeScale
	weight := func(count float64) int { return int(count/contactEvents*scale + 0.5) }

	items := []weighted[contactKind]{{kindChat, weight(chats)}}
	for _, p := range perContact {
		items = append(items, weighted[contactKind]{p.k, weight(p.n * contacts * lifeScale)})
	}
	total := 0
	for _, w := range elastic {
		total += w.w
	}
	for _, w := range elastic {
		items = append(items, weighted[contactKind]{w.v, weight(rest * float64(w.w) / float64(total))})
	}
	return newChoice(items...)
}

func (s *stream) subscription(e *event.Event, tn *tenant, t time.Time) {
	s.begin(e, tn, event.SubscriptionChanged, tn.name, t)
	d := &e.Data
	switch {
	case !tn.paid:
		d.Set(event.FPlan, "basic")
		d.SetBool(event.FPaid, false)
		d.SetInt(event.FSeats, int64(s.staffCap))
		if tn.key&1 == 0 {
			d.SetInt(event.FContactCap, roundUp(s.contCap, 500))
		}
	case tn.basic:
		d.Set(event.FPlan, "basic")
		d.SetBool(event.FPaid, true)
		d.SetInt(event.FSeats, roundUp(s.staffCap*6/5, 5))
		d.SetInt(event.FContactCap, roundUp(s.contCap*3/2, 1000))
	default:
		d.Set(event.FPlan, "pro")
		d.SetBool(event.FPaid, true)
		d.SetInt(event.FSeats, roundUp(s.staffCap*3/2, 5))
	}
}

func roundUp(n, step int) int64 { return int64((max(n, 1) + step - 1) / step * step) }

// upgrade moves a free tenant to the pro plan, once.
func (s *stream) upgrade(e *event.Event, tn *tenant, t time.Time) bool {
	if tn.paid {
		return false
	}
	tn.paid, tn.basic = true, false
	s.subscription(e, tn, t)
	return true
}

func (s *stream) tagDefined(e *event.Event, tn *tenant, j int, t time.Time) {
	s.begin(e, tn, event.TagDefined, tn.tagIDs[j], t)
	group, name := "自定义", "自定义标签"+strconv.Itoa(j+1)
	if j < len(tagVocab) {
		group, name = tagVocab[j].group, tagVocab[j].name
	}
	e.Data.Set(event.FName, name)
	e.Data.Set(event.FGroup, group)
	e.Data.SetInt(event.FOrder, int64(j+1))
}

// staffActive reports the employed staff in turn, so that each shows up
// about daily however the slots fall.
func (s *stream) staffActive(e *event.Event, tn *tenant, t time.Time) {
	tn.rota = (tn.rota + 1) % len(tn.employed)
	st := &tn.staff[tn.employed[tn.rota]]
	s.begin(e, tn, event.StaffActive, st.id, t)
	e.Data.Set(event.FApp, pick(&s.r, apps))
}

// staffDeparted lets a staff member go, naming a successor, and queues the
// hand-over of their contacts for the next slots. Teams keep two people.
func (s *stream) staffDeparted(e *event.Event, tn *tenant, t time.Time) bool {
	if len(tn.employed) < 3 {
		return false
	}
	gone := tn.employed[s.r.intn(len(tn.employed))]
	s.dismiss(tn, gone)
	heir := tn.employed[s.r.intn(len(tn.employed))]
	s.begin(e, tn, event.StaffDeparted, tn.staff[gone].id, t)
	e.Data.Set(event.FSuccessorStaffID, tn.staff[heir].id)
	s.pending, s.pendAt = s.pending[:0], 0
	for _, ci := range tn.live {
		if tn.contacts[ci].owner == gone {
			s.pending = append(s.pending, handover{tenant: tn, contact: ci, from: gone, to: heir})
		}
	}
	return true
}

func (s *stream) dismiss(tn *tenant, i int32) {
	pos := tn.staff[i].pos
	last := tn.employed[len(tn.employed)-1]
	tn.employed[pos] = last
	tn.staff[last].pos = pos
	tn.employed = tn.employed[:len(tn.employed)-1]
	tn.staff[i].pos = -1
}

func (s *stream) handOver(e *event.Event, t time.Time) {
	h := s.pending[s.pendAt]
	s.pendAt++
	c := &h.tenant.contacts[h.contact]
	c.owner = h.to
	h.tenant.last = h.contact
	s.transferred(e, h.tenant, c, h.from, "resigned", t)
}

func (s *stream) transferred(e *event.Event, tn *tenant, c *contact, from int32, reason string, t time.Time) {
	s.begin(e, tn, event.ContactTransferred, c.id, t)
	e.Data.Set(event.FFromStaffID, tn.staff[from].id)
	e.Data.Set(event.FToStaffID, tn.staff[c.owner].id)
	e.Data.Set(event.FReason, reason)
}

// addContact adds the next scheduled contact to a weighted tenant that has
// room, then schedules the one after.
func (s *stream) addContact(e *event.Event, t time.Time) {
	ti := s.pickTenant()
	for len(s.tenants[ti].contacts) >= s.contCap {
		ti = (ti + 1) % len(s.tenants)
	}
	tn := &s.tenants[ti]
	s.adds++
	s.nextAdd = int(float64(s.slots) * math.Pow(float64(s.adds)/float64(s.addsPlanned), addFrontLoad))

	ci := int32(len(tn.contacts))
	key := keyOf(tn.key, uint64(ci))
	owner := tn.employed[s.r.skewed(len(tn.employed))]
	tn.contacts = append(tn.contacts, contact{id: hashID("wm", 30, base62, key), key: key, owner: owner, pos: int32(len(tn.live))})
	tn.live = append(tn.live, ci)
	tn.last = ci

	s.begin(e, tn, event.ContactAdded, tn.contacts[ci].id, t)
	d := &e.Data
	d.Set(event.FStaffID, tn.staff[owner].id)
	d.Set(event.FName, contactName(key))
	if hasUnionID(key) {
		d.Set(event.FUnionID, unionID(key))
	}
	way := addWays.pick(&s.r)
	d.SetInt(event.FAddWay, way)
	if (way == 1 || way == 16) && s.r.chance(0.85) {
		d.Set(event.FState, pick(&s.r, channelCodes))
	}
	if isBusiness(key) {
		d.Set(event.FCorpName, corpName(key))
	}
	d.SetInt(event.FGender, genders.pick(&s.r))
}

// contactEvent draws what happens to one of the tenant's live contacts.
func (s *stream) contactEvent(e *event.Event, tn *tenant, t time.Time) {
	ci := tn.live[s.r.skewed(len(tn.live))]
	if tn.last >= 0 && tn.contacts[tn.last].pos >= 0 && s.r.chance(stickiness) {
		ci = tn.last
	}
	tn.last = ci
	c := &tn.contacts[ci]
	switch s.kinds.pick(&s.r) {
	case kindTagAdded:
		if s.tagAdded(e, tn, c, t) || s.tagRemoved(e, tn, c, t) {
			return
		}
	case kindTagRemoved:
		if s.tagRemoved(e, tn, c, t) || s.tagAdded(e, tn, c, t) {
			return
		}
	case kindUpdated:
		s.updated(e, tn, c, t)
		return
	case kindFollowup:
		s.followup(e, tn, c, t)
		return
	case kindStage:
		if !s.stageChanged(e, tn, c, t) {
			s.followup(e, tn, c, t)
		}
		return
	case kindRemoved:
		s.removed(e, tn, ci, t)
		return
	case kindReassigned:
		if s.reassigned(e, tn, c, t) {
			return
		}
	}
	s.chat(e, tn, c, t)
}

func (s *stream) chat(e *event.Event, tn *tenant, c *contact, t time.Time) {
	s.begin(e, tn, event.ChatMessage, c.id, t)
	d := &e.Data
	d.Set(event.FStaffID, tn.staff[c.owner].id)
	if s.r.chance(0.46) {
		d.Set(event.FDirection, "in")
	} else {
		d.Set(event.FDirection, "out")
	}
	mt := msgTypes.pick(&s.r)
	d.Set(event.FMsgType, mt)
	var chars int64
	switch mt {
	case "text": // mostly a few words ("好的", "收到"), some paragraphs
		u := s.r.float()
		chars = 1 + int64(s.r.intn(8)) + int64(240*u*u*u)
	case "link":
		chars = 12 + int64(s.r.intn(40))
	}
	d.SetInt(event.FChars, chars)
}

// tagAdded puts a tag the contact lacks on it; popular tags come first in
// the vocabulary. It fails when the contact has all the tags it may have.
func (s *stream) tagAdded(e *event.Event, tn *tenant, c *contact, t time.Time) bool {
	if int(c.ntags) == maxTagsPerContact {
		return false
	}
	tag := uint16(s.tags - 1 - s.r.skewed(s.tags))
	for _, have := range c.tags[:c.ntags] {
		if have == tag {
			return false
		}
	}
	c.tags[c.ntags] = tag
	c.ntags++
	s.begin(e, tn, event.TagAdded, c.id, t)
	s.tagData(&e.Data, tn, c, tag)
	return true
}

func (s *stream) tagRemoved(e *event.Event, tn *tenant, c *contact, t time.Time) bool {
	if c.ntags == 0 {
		return false
	}
	i := s.r.intn(int(c.ntags))
	tag := c.tags[i]
	c.ntags--
	c.tags[i] = c.tags[c.ntags]
	s.begin(e, tn, event.TagRemoved, c.id, t)
	s.tagData(&e.Data, tn, c, tag)
	return true
}

// tagData fills a tag event; one in ten comes from an automation, not a rep.
func (s *stream) tagData(d *event.Data, tn *tenant, c *contact, tag uint16) {
	d.Set(event.FTagID, tn.tagIDs[tag])
	if s.r.chance(0.9) {
		d.Set(event.FStaffID, tn.staff[c.owner].id)
	}
}

type contactField uint8

const (
	fieldRemark contactField = iota
	fieldPhone
	fieldDescription
	fieldCorp
	fieldName
	fieldUnionID
)

var updatedFields = newChoice(
	weighted[contactField]{fieldRemark, 45}, weighted[contactField]{fieldPhone, 22},
	weighted[contactField]{fieldDescription, 12}, weighted[contactField]{fieldCorp, 12},
	weighted[contactField]{fieldName, 5}, weighted[contactField]{fieldUnionID, 4},
)

// updated changes one or two fields; values derive from the contact, so a
// contact keeps its phone and company across updates.
func (s *stream) updated(e *event.Event, tn *tenant, c *contact, t time.Time) {
	s.begin(e, tn, event.ContactUpdated, c.id, t)
	d := &e.Data
	d.Set(event.FStaffID, tn.staff[c.owner].id)
	key := c.key
	for n := 1 + s.r.intn(3)/2; n > 0; n-- {
		switch updatedFields.pick(&s.r) {
		case fieldRemark:
			d.Set(event.FRemark, contactName(key)+"-"+pick(&s.r, remarkSuffixes))
		case fieldPhone:
			d.Set(event.FPhone, phone(key))
		case fieldDescription:
			d.Set(event.FDescription, pick(&s.r, descriptions))
		case fieldCorp:
			d.Set(event.FCorpName, corpName(key))
		case fieldName:
			d.Set(event.FName, contactName(key))
		case fieldUnionID:
			d.Set(event.FUnionID, unionID(key))
		}
	}
}

func (s *stream) followup(e *event.Event, tn *tenant, c *contact, t time.Time) {
	s.begin(e, tn, event.FollowupLogged, c.id, t)
	d := &e.Data
	d.Set(event.FStaffID, tn.staff[c.owner].id)
	d.Set(event.FChannel, followupChannels.pick(&s.r))
	if s.r.chance(0.9) {
		d.Set(event.FNote, pick(&s.r, followupNotes))
	}
	if s.r.chance(0.75) {
		day := t.AddDate(0, 0, 1+s.r.intn(7))
		next := time.Date(day.Year(), day.Month(), day.Day(), 9+s.r.intn(9), 30*s.r.intn(2), 0, 0, reporting.Zone)
		d.SetTime(event.FNextAt, next)
	}
}

// stageChanged moves the contact one step down the funnel: new, contacted,
// qualified, proposal, then won or lost; a lost deal is sometimes revived.
// It fails for a won deal.
func (s *stream) stageChanged(e *event.Event, tn *tenant, c *contact, t time.Time) bool {
	next := c.stage + 1
	switch c.stage {
	case stageNone:
		if s.r.chance(0.5) {
			next = stageContacted
		}
	case stageContacted, stageQualified:
		if s.r.chance(0.3) {
			next = stageLost
		}
	case stageProposal:
		if s.r.chance(0.55) {
			next = stageLost
		}
	case stageWon:
		return false
	case stageLost:
		if !s.r.chance(0.15) {
			return false
		}
		next = stageContacted
	}
	c.stage = next
	s.begin(e, tn, event.FollowupStageChange, c.id, t)
	e.Data.Set(event.FStaffID, tn.staff[c.owner].id)
	e.Data.Set(event.FStage, stageNames[next])
	return true
}

// removed ends a relation: the customer deletes the rep more often than
// the other way round.
func (s *stream) removed(e *event.Event, tn *tenant, ci int32, t time.Time) {
	c := &tn.contacts[ci]
	last := tn.live[len(tn.live)-1]
	tn.live[c.pos] = last
	tn.contacts[last].pos = c.pos
	tn.live = tn.live[:len(tn.live)-1]
	c.pos = -1
	tn.last = -1

	s.begin(e, tn, event.ContactRemoved, c.id, t)
	e.Data.Set(event.FStaffID, tn.staff[c.owner].id)
	if s.r.chance(0.6) {
		e.Data.Set(event.FBy, "customer")
	} else {
		e.Data.Set(event.FBy, "staff")
	}
}

// reassigned hands a contact to another employed staff member.
func (s *stream) reassigned(e *event.Event, tn *tenant, c *contact, t time.Time) bool {
	if len(tn.employed) < 2 {
		return false
	}
	to := tn.employed[s.r.intn(len(tn.employed))]
	if to == c.owner {
		return false
	}
	from := c.owner
	c.owner = to
	s.transferred(e, tn, c, from, "reassigned", t)
	return true
}
