// Package reference computes derived state by brute force in Go, straight
// from the rules in spec/events.md, as known truth for property tests: the
// ClickHouse folding must agree with it line for line, whatever the delivery
// order and however often events are redelivered.
package reference

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/siyu-dev/siyu/event"
)

// key orders last-writer-wins state: time, then id, then source.
type key struct {
	ns     int64
	id     string
	source string
}

func keyOf(e *event.Event) key { return key{e.TimeNs(), e.ID, e.Source} }

func (a key) less(b key) bool {
	if a.ns != b.ns {
		return a.ns < b.ns
	}
	if a.id != b.id {
		return a.id < b.id
	}
	return a.source < b.source
}

// lww is a last-writer-wins register.
type lww[T any] struct {
	set bool
	at  key
	v   T
}

func (r *lww[T]) put(k key, v T) {
	if !r.set || r.at.less(k) {
		r.set, r.at, r.v = true, k, v
	}
}

type profile struct {
	first, last         int64
	name, unionid, corp lww[string]
	in, out             map[[2]string]bool
	lastIn, lastOut     int64
	stage               lww[string]
	lastFollowup        int64
	nextFollowup        lww[int64]
	seen                bool
}

type relation struct {
	live       lww[bool]
	endedBy    lww[string] // removed_by of the latest event: "customer", "staff" or ""
	since      int64
	firstAdded int64
}

type tagState struct {
	on    lww[bool]
	since int64
}

var profileTypes = map[event.Type]bool{
	event.ContactAdded: true, event.ContactUpdated: true, event.ContactRemoved: true, event.ContactTransferred: true,
	event.ChatMessage: true, event.TagAdded: true, event.TagRemoved: true, event.FollowupLogged: true,
	event.FollowupStageChange: true,
}

// Profiles folds events (in any order, with duplicates) into the canonical
// dump of profile, relation and tag state; see DumpDB for the format.
func Profiles(events []event.Event) []string {
	profiles := map[[2]string]*profile{}
	relations := map[[3]string]*relation{}
	tags := map[[3]string]*tagState{}
	for i := range events {
		e := &events[i]
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
	}
	out := append(dumpReference(profiles, relations, tags), dayLines(events)...)
	out = append(out, linkLines(events)...)
	sort.Strings(out)
	return out
}

func foldProfile(p *profile, e *event.Event) {
	k, ns, d := keyOf(e), e.TimeNs(), &e.Data
	if !p.seen || ns < p.first {
		p.first = ns
	}
	p.last, p.seen = max(p.last, ns), true
	if d.Present.Has(event.FName) {
		p.name.put(k, d.Name)
	}
	if d.Present.Has(event.FUnionID) {
		p.unionid.put(k, d.UnionID)
	}
	if d.Present.Has(event.FCorpName) {
		p.corp.put(k, d.CorpName)
	}
	switch e.Type {
	case event.ChatMessage:
		id := [2]string{e.Source, e.ID}
		if d.Direction == "in" {
			p.in[id], p.lastIn = true, max(p.lastIn, ns)
		} else {
			p.out[id], p.lastOut = true, max(p.lastOut, ns)
		}
	case event.FollowupStageChange:
		p.stage.put(k, d.Stage)
	case event.FollowupLogged:
		p.lastFollowup = max(p.lastFollowup, ns)
		p.nextFollowup.put(k, d.NextAtNs)
	}
}

func foldRelations(rels map[[3]string]*relation, e *event.Event) {
	touch := func(staff string, live bool, added bool) {
		rk := [3]string{e.Tenant, e.Subject, staff}
		r := rels[rk]
		if r == nil {
			r = &relation{}
			rels[rk] = r
		}
		r.live.put(keyOf(e), live)
		r.endedBy.put(keyOf(e), removedBy(e))
		r.since = max(r.since, e.TimeNs())
		if added && (r.firstAdded == 0 || e.TimeNs() < r.firstAdded) {
			r.firstAdded = e.TimeNs()
		}
	}
	switch e.Type {
	case event.ContactAdded:
		touch(e.Data.StaffID, true, true)
	case event.ContactRemoved:
		touch(e.Data.StaffID, false, false)
	case event.ContactTransferred:
		touch(e.Data.ToStaffID, true, false)
		if e.Data.FromStaffID != e.Data.ToStaffID {
			touch(e.Data.FromStaffID, false, false)
		}
	}
}

// removedBy is the `by` of a contact.removed, "" for any other event.
func removedBy(e *event.Event) string {
	if e.Type == event.ContactRemoved {
		return e.Data.By
	}
	return ""
}

func foldTags(tags map[[3]string]*tagState, e *event.Event) {
	if e.Type != event.TagAdded && e.Type != event.TagRemoved {
		return
	}
	tk := [3]string{e.Tenant, e.Subject, e.Data.TagID}
	t := tags[tk]
	if t == nil {
		t = &tagState{}
		tags[tk] = t
	}
	t.on.put(keyOf(e), e.Type == event.TagAdded)
	t.since = max(t.since, e.TimeNs())
}

func dumpReference(profiles map[[2]string]*profile, rels map[[3]string]*relation, tags map[[3]string]*tagState) []string {
	var out []string
	for c, p := range profiles {
		out = append(out, fmt.Sprintf("P|%s|%s|%d|%d|%s|%s|%s|%d|%d|%d|%d|%s|%d|%d", c[0], c[1], p.first, p.last,
			p.name.v, p.unionid.v, p.corp.v, len(p.in), len(p.out), p.lastIn, p.lastOut, p.stage.v,
			p.lastFollowup, p.nextFollowup.v))
	}
	for k, r := range rels {
		if r.live.v {
			out = append(out, fmt.Sprintf("R|%s|%s|%s|%d|%d", k[0], k[1], k[2], r.since, r.firstAdded))
		}
	}
	for k, t := range tags {
		if t.on.v {
			out = append(out, fmt.Sprintf("T|%s|%s|%s|%d", k[0], k[1], k[2], t.since))
		}
	}
	sort.Strings(out)
	return out
}

// The dump queries read the complete derived state of a database in the
// same line format as Profiles.
var dumpQueries = []string{
	`SELECT concat('P|', tenant, '|', contact_id, '|', toString(minMerge(first_ns)), '|', toString(maxMerge(last_ns)), '|',
		argMaxIfMerge(name), '|', argMaxIfMerge(unionid), '|', argMaxIfMerge(corp_name), '|',
		toString(uniqExactIfMerge(msgs_in)), '|', toString(uniqExactIfMerge(msgs_out)), '|',
		toString(maxIfMerge(last_in_ns)), '|', toString(maxIfMerge(last_out_ns)), '|', argMaxIfMerge(stage), '|',
		toString(maxIfMerge(last_followup_ns)), '|', toString(argMaxIfMerge(next_followup_ns)))
	FROM profile_state GROUP BY tenant, contact_id`,
	`SELECT concat('R|', tenant, '|', contact_id, '|', staff_id, '|', toString(max(time_ns)), '|', toString(minIf(time_ns, type = 'contact.added')))
	FROM relation_events GROUP BY tenant, contact_id, staff_id HAVING argMax(live, (time_ns, id, source)) = 1`,
	`SELECT concat('T|', tenant, '|', contact_id, '|', tag_id, '|', toString(maxMerge(since_ns)))
	FROM contact_tag_state GROUP BY tenant, contact_id, tag_id HAVING argMaxMerge(present) = 1`,
	`SELECT concat('D|', tenant, '|', contact_id, '|', toString(day), '|', toString(uniqExactIfMerge(msgs_in)), '|',
		toString(uniqExactIfMerge(msgs_out)), '|', toString(uniqExactIfMerge(followups)), '|',
		toString(argMaxIfMerge(gender)), '|', argMaxIfMerge(phone))
	FROM contact_day_state GROUP BY tenant, contact_id, day`,
	`SELECT DISTINCT concat('L|', tenant, '|', node, '|', peer, '|', kind, '|', toString(dir)) FROM identity_links`,
}

// DumpDB reads the derived state of conn's database, sorted.
func DumpDB(ctx context.Context, conn driver.Conn) ([]string, error) {
	var out []string
	for _, q := range dumpQueries {
		rows, err := conn.Query(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("dump state: %w", err)
		}
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				rows.Close()
				return nil, fmt.Errorf("dump state: %w", err)
			}
			out = append(out, line)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	sort.Strings(out)
	return out, nil
}

// Diff describes the first few differences between two dumps, "" if equal.
func Diff(want, got []string) string {
	w, g := map[string]bool{}, map[string]bool{}
	for _, l := range want {
		w[l] = true
	}
	for _, l := range got {
		g[l] = true
	}
	var b strings.Builder
	n := 0
	for _, l := range want {
		if !g[l] && n < 10 {
			fmt.Fprintf(&b, "- %s\n", l)
			n++
		}
	}
	for _, l := range got {
		if !w[l] && n < 20 {
			fmt.Fprintf(&b, "+ %s\n", l)
			n++
		}
	}
	if b.Len() == 0 && len(want) != len(got) {
		fmt.Fprintf(&b, "%d lines want, %d got (duplicate lines)", len(want), len(got))
	}
	return b.String()
}
