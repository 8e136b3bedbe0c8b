package reference

import (
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/siyu-dev/siyu/event"
)

// Identity rules, restated from docs/decisions.md ("Identity") rather than
// imported, so that this stays an independent truth.
const (
	maxSharers     = 20
	maxIdentityIDs = 64
)

// IdentityLinks lists, per tenant, the (subject, identifier) pairs the
// events carry: a present, non-empty unionid or phone other than the subject.
func IdentityLinks(events []event.Event) map[string]map[[2]string]bool {
	out := map[string]map[[2]string]bool{}
	for i := range events {
		e := &events[i]
		for _, f := range []event.Field{event.FUnionID, event.FPhone} {
			v := e.Data.UnionID
			if f == event.FPhone {
				v = phoneID(e.Data.Phone)
			}
			if !e.Data.Present.Has(f) || v == "" || v == e.Subject {
				continue
			}
			if out[e.Tenant] == nil {
				out[e.Tenant] = map[[2]string]bool{}
			}
			out[e.Tenant][[2]string{e.Subject, v}] = true
		}
	}
	return out
}

// Persons resolves one tenant's links by brute force: label propagation to
// a fixed point over the usable links, then the size cap and the canonical
// id. It maps every id to its canonical id and sorted ids.
func Persons(links map[[2]string]bool) map[string][]string {
	asSubject, asValue := map[string]int{}, map[string]int{}
	label := map[string]string{}
	for l := range links {
		asSubject[l[0]]++
		asValue[l[1]]++
		label[l[0]], label[l[1]] = l[0], l[1]
	}
	for changed := true; changed; {
		changed = false
		for l := range links {
			if asSubject[l[0]] > maxSharers || asValue[l[1]] > maxSharers {
				continue
			}
			a, b := label[l[0]], label[l[1]]
			if a != b {
				m := min(a, b)
				for id, lb := range label {
					if lb == a || lb == b {
						label[id] = m
					}
				}
				changed = true
			}
		}
	}
	groups := map[string][]string{}
	for id, lb := range label {
		groups[lb] = append(groups[lb], id)
	}
	out := map[string][]string{}
	for _, ids := range groups {
		sort.Strings(ids)
		if len(ids) > maxIdentityIDs {
			for _, id := range ids {
				out[id] = []string{id, id}
			}
			continue
		}
		canonical := ids[0]
		for _, id := range ids {
			if asSubject[id] > 0 {
				canonical = id
				break
			}
		}
		for _, id := range ids {
			out[id] = append([]string{canonical}, ids...)
		}
	}
	return out
}

// Customer folds the events of ids (one person) into the merged profile line
// that cdp's profile read must render identically (see CustomerLine), or ""
// when none of the ids has a profile.
func Customer(events []event.Event, tenant string, ids []string, now time.Time, zone *time.Location) string {
	member := map[string]bool{}
	for _, id := range ids {
		member[id] = true
	}
	p := &profile{in: map[[2]string]bool{}, out: map[[2]string]bool{}}
	rels := map[[3]string]*relation{}
	tags := map[[3]string]*tagState{}
	lib := map[[2]string]*libraryTag{}
	var acq acquisition
	var gender lww[int64]
	var phone lww[string]
	followups := map[[2]string]bool{}
	win := map[string]map[[2]string]bool{}
	today := now.In(zone).Format(time.DateOnly)
	d7, d30 := now.In(zone).AddDate(0, 0, -6).Format(time.DateOnly), now.In(zone).AddDate(0, 0, -29).Format(time.DateOnly)
	for i := range events {
		e := &events[i]
		if e.Tenant != tenant {
			continue
		}
		if e.Type == event.TagDefined {
			foldLibrary(lib, e)
			continue
		}
		if !member[e.Subject] || !profileTypes[e.Type] {
			continue
		}
		foldProfile(p, e)
		foldRelations(rels, e)
		foldTags(tags, e)
		k, d := keyOf(e), &e.Data
		switch e.Type {
		case event.ContactAdded:
			if !acq.set || k.less(acq.at) {
				acq.set, acq.at, acq.e = true, k, e
			}
		case event.FollowupLogged:
			followups[[2]string{e.Source, e.ID}] = true
		case event.ChatMessage:
			day := e.Time.In(zone).Format(time.DateOnly)
			for _, w := range []struct {
				name, from string
			}{{"7", d7}, {"30", d30}} {
				if day >= w.from && day <= today {
					name := w.name + d.Direction
					if win[name] == nil {
						win[name] = map[[2]string]bool{}
					}
					win[name][[2]string{e.Source, e.ID}] = true
				}
			}
		}
		if d.Present.Has(event.FGender) {
			gender.put(k, d.Gender)
		}
		if d.Present.Has(event.FPhone) {
			phone.put(k, d.Phone)
		}
	}
	if !p.seen {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "ids=%s first=%d last=%d name=%q unionid=%q phone=%q gender=%d corp=%q\n", strings.Join(ids, ","),
		p.first, p.last, p.name.v, p.unionid.v, phone.v, gender.v, p.corp.v)
	if acq.set {
		fmt.Fprintf(&b, "acq=%d/%q/%q/%d\n", acq.e.Data.AddWay, acq.e.Data.State, acq.e.Data.StaffID, acq.at.ns)
	} else {
		b.WriteString("acq=0/\"\"/\"\"/0\n")
	}
	var relLines []string
	staff := map[string]bool{}
	var lastEnd *relation // the relation that ended last, by its ending event
	for k, r := range rels {
		if r.live.v {
			staff[k[2]] = true
			relLines = append(relLines, fmt.Sprintf("rel=%s/%s/%d/%d", k[1], k[2], r.since, r.firstAdded))
		} else if lastEnd == nil || lastEnd.live.at.less(r.live.at) {
			lastEnd = r
		}
	}
	lost := len(staff) == 0 && lastEnd != nil && lastEnd.endedBy.v == "customer"
	sort.Strings(relLines)
	for _, l := range relLines {
		b.WriteString(l + "\n")
	}
	fmt.Fprintf(&b, "live=%d lost=%t\n", len(staff), lost)
	fmt.Fprintf(&b, "chat=%d/%d 7d=%d/%d 30d=%d/%d last=%d/%d engagement=%s\n", len(p.in), len(p.out),
		len(win["7in"]), len(win["7out"]), len(win["30in"]), len(win["30out"]), p.lastIn, p.lastOut,
		engagement(p.lastIn, now))
	on := map[string]int64{}
	for k, t := range tags {
		if def := lib[[2]string{tenant, k[2]}]; t.on.v && (def == nil || !def.deleted.v) {
			on[k[2]] = max(on[k[2]], t.since)
		}
	}
	var tagLines []string
	for id, since := range on {
		group := ""
		if def := lib[[2]string{tenant, id}]; def != nil {
			group = def.group.v
		}
		tagLines = append(tagLines, fmt.Sprintf("tag=%s/%q/%d", id, group, since))
	}
	sort.Strings(tagLines)
	for _, l := range tagLines {
		b.WriteString(l + "\n")
	}
	fmt.Fprintf(&b, "stage=%q followup=%d/%d/%d\n", p.stage.v, p.lastFollowup, p.nextFollowup.v, len(followups))
	return b.String()
}

func engagement(lastIn int64, now time.Time) string {
	if lastIn == 0 {
		return "never"
	}
	age := now.Sub(time.Unix(0, lastIn))
	switch {
	case age <= 7*24*time.Hour:
		return "active_7d"
	case age <= 30*24*time.Hour:
		return "active_30d"
	case age <= 90*24*time.Hour:
		return "active_90d"
	}
	return "dormant"
}

// phoneID is the spec's phone identifier (docs/decisions.md, P15), written
// independently of cdp.PhoneID: the digits, less a leading 86 (13 digits)
// or 0086 (15 digits); nothing under 5 digits.
func phoneID(raw string) string {
	var b strings.Builder
	for _, r := range raw {
		if unicode.IsDigit(r) && r < 128 {
			b.WriteRune(r)
		}
	}
	d := b.String()
	if len(d) == 13 && strings.HasPrefix(d, "86") {
		d = strings.TrimPrefix(d, "86")
	} else if len(d) == 15 && strings.HasPrefix(d, "0086") {
		d = strings.TrimPrefix(d, "0086")
	}
	if len(d) < 5 {
		return ""
	}
	return d
}
