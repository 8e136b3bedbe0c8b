package cdp

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"

	siyusql "github.com/siyu-dev/siyu/sql"
)

// Identity stitching. An event that carries a unionid or a phone links its
// subject to that identifier (sql/migrations/0016_identity_links.sql); ids
// joined by links, directly or through others, are one customer. The rules
// (docs/decisions.md, "Identity") are a function of the set of links, so the
// answer is the same for any event order:
//
//   - A link is ignored when one of its ends is a hub: an identifier carried
//     by more than MaxSharers subjects (a shop's phone typed into every
//     contact), or a subject that carried more than MaxSharers identifiers.
//   - A component of more than MaxIdentityIDs ids is not merged: each of its
//     ids stands alone.
//   - The canonical id of a merged customer is the smallest (by bytes) of its
//     ids that is the subject of a link; a lone id is its own canonical id.
const (
	MaxSharers     = 20
	MaxIdentityIDs = 64
)

// Link is one identifier (unionid or phone) that an event carried for its
// subject.
type Link struct {
	Subject, Value string
}

// Person is one resolved customer: the canonical id and every id, sorted.
type Person struct {
	ID  string   `json:"id"`
	IDs []string `json:"ids"`
}

// Resolve groups every id of links into persons by the rules above: a pure
// union-find over the whole link set, used where all links are at hand
// (tests, benchmarks, batch jobs). Reads of one customer walk the graph from
// one id instead (walk). The map holds every id that appears in links.
func Resolve(links []Link) map[string]*Person {
	subjects, values := peersByRole(links)
	uf := newUnionFind()
	for _, l := range links {
		uf.add(l.Subject)
		uf.add(l.Value)
		if linkUsable(subjects, values, l) {
			uf.union(l.Subject, l.Value)
		}
	}
	members := map[string][]string{}
	for id := range uf.parent {
		r := uf.find(id)
		members[r] = append(members[r], id)
	}
	out := make(map[string]*Person, len(uf.parent))
	for _, ids := range members {
		for _, p := range personsOf(ids, subjects) {
			for _, id := range p.IDs {
				out[id] = p
			}
		}
	}
	return out
}

// peersByRole indexes the distinct peers of each id as a subject (the
// identifiers it carried) and as a value (the subjects that carried it).
func peersByRole(links []Link) (subjects, values map[string]map[string]bool) {
	subjects, values = map[string]map[string]bool{}, map[string]map[string]bool{}
	for _, l := range links {
		if l.Subject == "" || l.Value == "" || l.Subject == l.Value {
			continue
		}
		addPeer(subjects, l.Subject, l.Value)
		addPeer(values, l.Value, l.Subject)
	}
	return subjects, values
}

func addPeer(m map[string]map[string]bool, id, peer string) {
	if m[id] == nil {
		m[id] = map[string]bool{}
	}
	m[id][peer] = true
}

func linkUsable(subjects, values map[string]map[string]bool, l Link) bool {
	return l.Subject != "" && l.Value != "" && l.Subject != l.Value &&
		len(subjects[l.Subject]) <= MaxSharers && len(values[l.Value]) <= MaxSharers
}

// personsOf turns one component into its persons: one, or one per id when
// the component is too large to merge.
func personsOf(ids []string, subjects map[string]map[string]bool) []*Person {
	slices.Sort(ids)
	if len(ids) > MaxIdentityIDs {
		out := make([]*Person, len(ids))
		for i, id := range ids {
			out[i] = &Person{ID: id, IDs: []string{id}}
		}
		return out
	}
	return []*Person{{ID: canonicalID(ids, func(id string) bool { return len(subjects[id]) > 0 }), IDs: ids}}
}

// canonicalID is the smallest of sorted ids that is a subject, else the first.
func canonicalID(sorted []string, isSubject func(string) bool) string {
	if len(sorted) == 1 {
		return sorted[0]
	}
	for _, id := range sorted {
		if isSubject(id) {
			return id
		}
	}
	return sorted[0]
}

type unionFind struct{ parent map[string]string }

func newUnionFind() *unionFind { return &unionFind{parent: map[string]string{}} }

func (u *unionFind) add(id string) {
	if _, ok := u.parent[id]; !ok && id != "" {
		u.parent[id] = id
	}
}

func (u *unionFind) find(id string) string {
	root := id
	for u.parent[root] != root {
		root = u.parent[root]
	}
	for u.parent[id] != root { // path compression
		id, u.parent[id] = u.parent[id], root
	}
	return root
}

func (u *unionFind) union(a, b string) {
	ra, rb := u.find(a), u.find(b)
	if ra == rb {
		return
	}
	if rb < ra { // the smaller root wins: the structure, not the answer, depends on it
		ra, rb = rb, ra
	}
	u.parent[rb] = ra
}

// idRow is one row of identity_links as read: node's peer in role dir
// (1 = node is the subject, 0 = node is the identifier).
type idRow struct {
	node, peer string
	subject    bool
}

// walk resolves the person of one id from the links around it, fetched a
// ring at a time: the pure half of Identities.Resolve. An edge joins the
// person only when both of its ends have been fetched and neither end is a
// hub in its role, so members is always a subset of the true component and,
// once nothing is left to fetch, equals it.
type walk struct {
	start    string
	fetched  map[string]*idPeers
	members  map[string]bool
	tooLarge bool
}

type idPeers struct{ asSubject, asValue []string }

func newWalk(id string) *walk {
	return &walk{start: id, fetched: map[string]*idPeers{}, members: map[string]bool{id: true}}
}

// add records the rows fetched for ids (every id asked is recorded, also
// those without rows).
func (w *walk) add(ids []string, rows []idRow) {
	for _, id := range ids {
		if w.fetched[id] == nil {
			w.fetched[id] = &idPeers{}
		}
	}
	for _, r := range rows {
		p := w.fetched[r.node]
		if p == nil {
			continue
		}
		if r.subject {
			p.asSubject = append(p.asSubject, r.peer)
		} else {
			p.asValue = append(p.asValue, r.peer)
		}
	}
}

// next grows the members over every edge whose ends are both fetched and
// returns the ids to fetch next (sorted), or nil when the walk is done.
func (w *walk) next() []string {
	for {
		need, grew := w.grow()
		if len(w.members) > MaxIdentityIDs {
			w.tooLarge = true
			return nil
		}
		if len(need) > 0 || !grew {
			slices.Sort(need)
			return slices.Compact(need)
		}
	}
}

// grow makes one pass over the members; it reports whether any joined.
func (w *walk) grow() (need []string, grew bool) {
	for m := range w.members {
		p := w.fetched[m]
		if p == nil {
			need = append(need, m)
			continue
		}
		if len(p.asSubject) <= MaxSharers {
			n, g := w.join(p.asSubject, func(q *idPeers) bool { return len(q.asValue) <= MaxSharers })
			need, grew = append(need, n...), grew || g
		}
		if len(p.asValue) <= MaxSharers {
			n, g := w.join(p.asValue, func(q *idPeers) bool { return len(q.asSubject) <= MaxSharers })
			need, grew = append(need, n...), grew || g
		}
	}
	return need, grew
}

func (w *walk) join(peers []string, usable func(*idPeers) bool) (need []string, grew bool) {
	for _, peer := range peers {
		q := w.fetched[peer]
		switch {
		case q == nil:
			need = append(need, peer)
		case !w.members[peer] && usable(q):
			w.members[peer], grew = true, true
		}
	}
	return need, grew
}

// person is the walk's answer once next returned nil.
func (w *walk) person() *Person {
	if w.tooLarge {
		return &Person{ID: w.start, IDs: []string{w.start}}
	}
	ids := make([]string, 0, len(w.members))
	for id := range w.members {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return &Person{ID: canonicalID(ids, func(id string) bool {
		p := w.fetched[id]
		return p != nil && len(p.asSubject) > 0
	}), IDs: ids}
}

var (
	qIdentityLinks  = siyusql.Query("identity_links")
	qIdentityNearby = siyusql.Query("identity_nearby")
)

// Resolve returns the person that id belongs to in tenant (a lone id when it
// has no usable links, whether or not the tenant knows it). The first query
// fetches the links of every id within two links of id (identity_nearby),
// which settles most persons in one round trip; the walk then fetches a
// ring at a time whatever it still needs.
func (p *Profiles) Resolve(ctx context.Context, tenant, id string) (*Person, error) {
	w := newWalk(id)
	rows, err := p.fetchLinks(ctx, qIdentityNearby, tenant, []string{id})
	if err != nil {
		return nil, err
	}
	w.add(fetchedIDs(id, rows), rows)
	for ids := w.next(); len(ids) > 0; ids = w.next() {
		rows, err := p.fetchLinks(ctx, qIdentityLinks, tenant, ids)
		if err != nil {
			return nil, err
		}
		w.add(ids, rows)
	}
	return w.person(), nil
}

// fetchedIDs are the ids whose links identity_nearby fetched whole: the
// asked id (which may have none) and every node of its rows.
func fetchedIDs(id string, rows []idRow) []string {
	ids := []string{id}
	for _, r := range rows {
		ids = append(ids, r.node)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

func (p *Profiles) fetchLinks(ctx context.Context, query, tenant string, ids []string) ([]idRow, error) {
	rows, err := p.conn.Query(ctx, query, clickhouse.Named("tenant", tenant),
		clickhouse.Named("ids", ids), clickhouse.Named("per_role", MaxSharers+1))
	if err != nil {
		return nil, fmt.Errorf("read identity links: %w", err)
	}
	defer rows.Close()
	var out []idRow
	for rows.Next() {
		var r idRow
		var dir uint8
		if err := rows.Scan(&r.node, &r.peer, &dir); err != nil {
			return nil, fmt.Errorf("read identity links: %w", err)
		}
		r.subject = dir == 1
		out = append(out, r)
	}
	return out, rows.Err()
}

// PhoneID is the identifier a phone number links ids by (migration 0032,
// the same rule in SQL): its digits, without a China country code (86 or
// 0086 before 11 digits); "" (no identifier, never merged on) when fewer
// than 5 digits remain. "+86 138-0013-8000" and "13800138000" are one.
func PhoneID(raw string) string {
	digits := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c >= '0' && c <= '9' {
			digits = append(digits, c)
		}
	}
	d := string(digits)
	switch {
	case len(d) == 13 && d[:2] == "86":
		d = d[2:]
	case len(d) == 15 && d[:4] == "0086":
		d = d[4:]
	}
	if len(d) < 5 {
		return ""
	}
	return d
}

// phoneLookup is the phone identifier an asked id may stand for: id
// written as a phone number ("+86 138 0013 8000") when it is one that is
// not already in PhoneID's form; "" otherwise.
func phoneLookup(id string) string {
	for i := 0; i < len(id); i++ {
		if c := id[i]; !(c >= '0' && c <= '9') && !strings.ContainsRune("+-() .", rune(c)) {
			return ""
		}
	}
	if p := PhoneID(id); p != id {
		return p
	}
	return ""
}
