package cdp

import (
	"time"

	"github.com/siyu-dev/siyu/internal/reporting"
)

// resolve walks the person of id over the identity links in memory: the
// walk of Profiles.Resolve, every ring fetched at once (t.mu held for
// reading).
func (t *memTenant) resolve(id string) *Person {
	w := newWalk(id)
	var rows []idRow
	fetch := func(ids []string) {
		rows = rows[:0]
		for _, n := range ids {
			p := t.links[n]
			for _, peer := range p.asSubject {
				rows = append(rows, idRow{node: n, peer: peer, subject: true})
			}
			for _, peer := range p.asValue {
				rows = append(rows, idRow{node: n, peer: peer})
			}
		}
		w.add(ids, rows)
	}
	fetch([]string{id})
	for ids := w.next(); len(ids) > 0; ids = w.next() {
		fetch(ids)
	}
	return w.person()
}

// profileRows are the rows profile_read gives for person as of now, from
// memory, when at most one of the person's ids has facts (a person's other
// ids, unionids and phones, are the subject of no event): ok is false when
// several have, since their states merge by event keys memory does not keep
// (read ClickHouse then). No rows means no such customer (t.mu held for
// reading).
func (t *memTenant) profileRows(person *Person, now time.Time) (rows []profileRow, ok bool) {
	var r *memRow
	for _, id := range person.IDs {
		if i, found := t.idx[id]; found {
			if r != nil {
				return nil, false
			}
			r = &t.rows[i]
		}
	}
	if r == nil {
		return nil, true
	}
	rows = make([]profileRow, 0, 4+len(r.relations)+2*len(r.tags))
	rows = append(rows, profileRow{part: partScalars, s: [5]string{r.name, r.unionid, r.corp, r.stage},
		n: [8]int64{r.firstNs, r.lastNs, int64(r.msgsIn), int64(r.msgsOut), r.lastInNs, r.lastOutNs, r.lastFollowupNs, r.nextFollowupNs}})
	for _, rel := range r.relations {
		live := int64(0)
		if rel.live {
			live = 1
		}
		rows = append(rows, profileRow{part: partRelation, s: [5]string{r.id, rel.staff, rel.lastID, rel.lastSource, rel.endedBy},
			n: [8]int64{live, rel.since, rel.first}})
	}
	for j, k := range r.tags {
		id := t.tagIDs[k]
		rows = append(rows, profileRow{part: partTagOn, s: [5]string{id}, n: [8]int64{r.tagSince[j]}})
		if lib, known := t.library[id]; known {
			deleted := int64(0)
			if lib.deleted {
				deleted = 1
			}
			rows = append(rows, profileRow{part: partTagLibrary, s: [5]string{id, lib.name, lib.group}, n: [8]int64{deleted}})
		}
	}
	rows = append(rows, profileRow{part: partAcquisition, s: [5]string{r.channel, r.addedBy}, n: [8]int64{r.addWay, r.addedNs}})
	today := dayNumber(now.In(reporting.Zone))
	var in7, out7, in30, out30 int64
	for _, d := range r.days {
		if d.day > today {
			continue
		}
		if d.day+6 >= today {
			in7, out7 = in7+int64(d.in), out7+int64(d.out)
		}
		if d.day+29 >= today {
			in30, out30 = in30+int64(d.in), out30+int64(d.out)
		}
	}
	rows = append(rows, profileRow{part: partDayFacts, s: [5]string{r.phone},
		n: [8]int64{int64(r.followups), r.gender, in7, out7, in30, out30}})
	return rows, true
}

// dayNumber is t's calendar day (in t's zone) as days since 1970-01-01, as
// ClickHouse's toUInt16 of a Date.
func dayNumber(t time.Time) uint16 {
	return uint16(time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).Unix() / 86400)
}
