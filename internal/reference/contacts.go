package reference

import (
	"sort"

	"github.com/siyu-dev/siyu/event"
)

// Contact is one customer as a segment sees it, folded by brute force: the
// profile scalars, the staff with a live relation, the tags on the customer
// (a tag whose library definition is deleted is on no one) and how the
// customer was acquired (the first contact.added by time, id, source).
type Contact struct {
	Tenant, ContactID       string
	FirstNs, LastNs         int64
	Name, UnionID, Corp     string
	MessagesIn, MessagesOut int64
	LastInNs, LastOutNs     int64
	Stage                   string
	LastFollowupNs          int64
	NextFollowupNs          int64
	LiveStaff               map[string]bool
	Tags                    map[string]bool
	TagGroups               map[string]bool
	AddWay                  int64
	Channel, AddedBy        string
	// Assignee is the latest assignee.changed's to_staff_id, else the
	// first adder ("" = the pool).
	Assignee string
}

type libraryTag struct {
	group   lww[string]
	deleted lww[bool]
}

type acquisition struct {
	set bool
	at  key
	e   *event.Event
}

// Contacts folds events (in any order, with duplicates) into every
// customer's segment facts, sorted by tenant and contact id.
func Contacts(events []event.Event) []*Contact {
	profiles := map[[2]string]*profile{}
	relations := map[[3]string]*relation{}
	tags := map[[3]string]*tagState{}
	library := map[[2]string]*libraryTag{}
	acquired := map[[2]string]*acquisition{}
	assigned := map[[2]string]*acquisition{} // the latest assignee.changed
	for i := range events {
		e := &events[i]
		if e.Type == event.TagDefined {
			foldLibrary(library, e)
			continue
		}
		if e.Type == event.AssigneeChanged {
			c := [2]string{e.Tenant, e.Subject}
			a := assigned[c]
			if a == nil {
				a = &acquisition{}
				assigned[c] = a
			}
			if k := keyOf(e); !a.set || a.at.less(k) {
				a.set, a.at, a.e = true, k, e
			}
			continue
		}
		if !profileTypes[e.Type] {
			continue
		}
		c := [2]string{e.Tenant, e.Subject}
		p := profiles[c]
		if p == nil {
			p = &profile{in: map[[2]string]bool{}, out: map[[2]string]bool{}}
			profiles[c] = p
		}
		foldProfile(p, e)
		foldRelations(relations, e)
		foldTags(tags, e)
		if e.Type == event.ContactAdded {
			a := acquired[c]
			if a == nil {
				a = &acquisition{}
				acquired[c] = a
			}
			if k := keyOf(e); !a.set || k.less(a.at) {
				a.set, a.at, a.e = true, k, e
			}
		}
	}
	out := assemble(profiles, relations, tags, library, acquired)
	for _, ct := range out {
		ct.Assignee = ct.AddedBy
		if a := assigned[[2]string{ct.Tenant, ct.ContactID}]; a != nil {
			ct.Assignee = a.e.Data.ToStaffID
		}
	}
	return out
}

func foldLibrary(lib map[[2]string]*libraryTag, e *event.Event) {
	k := [2]string{e.Tenant, e.Subject}
	t := lib[k]
	if t == nil {
		t = &libraryTag{}
		lib[k] = t
	}
	// A tag.defined is the whole definition: an absent group is no group.
	t.group.put(keyOf(e), e.Data.Group)
	t.deleted.put(keyOf(e), e.Data.Deleted)
}

func assemble(profiles map[[2]string]*profile, rels map[[3]string]*relation, tags map[[3]string]*tagState,
	lib map[[2]string]*libraryTag, acquired map[[2]string]*acquisition) []*Contact {
	byKey := map[[2]string]*Contact{}
	var out []*Contact
	for c, p := range profiles {
		ct := &Contact{Tenant: c[0], ContactID: c[1], FirstNs: p.first, LastNs: p.last, Name: p.name.v,
			UnionID: p.unionid.v, Corp: p.corp.v, MessagesIn: int64(len(p.in)), MessagesOut: int64(len(p.out)),
			LastInNs: p.lastIn, LastOutNs: p.lastOut, Stage: p.stage.v, LastFollowupNs: p.lastFollowup,
			NextFollowupNs: p.nextFollowup.v, LiveStaff: map[string]bool{}, Tags: map[string]bool{},
			TagGroups: map[string]bool{}}
		if a := acquired[c]; a != nil {
			ct.AddWay, ct.Channel, ct.AddedBy = a.e.Data.AddWay, a.e.Data.State, a.e.Data.StaffID
		}
		byKey[c] = ct
		out = append(out, ct)
	}
	for k, r := range rels {
		if ct := byKey[[2]string{k[0], k[1]}]; ct != nil && r.live.v {
			ct.LiveStaff[k[2]] = true
		}
	}
	for k, t := range tags {
		ct := byKey[[2]string{k[0], k[1]}]
		if ct == nil || !t.on.v {
			continue
		}
		def := lib[[2]string{k[0], k[2]}]
		if def != nil && def.deleted.v {
			continue
		}
		ct.Tags[k[2]] = true
		group := ""
		if def != nil {
			group = def.group.v
		}
		ct.TagGroups[group] = true
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Tenant != out[j].Tenant {
			return out[i].Tenant < out[j].Tenant
		}
		return out[i].ContactID < out[j].ContactID
	})
	return out
}
