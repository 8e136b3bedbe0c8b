package cdp

import (
	"math/bits"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/siyu-dev/siyu/kafka"
	"github.com/siyu-dev/siyu/readmodel"
)

// memRow is one customer's facts, as ClickHouse gave them: the columns of
// segment_filter_base, the acquisition (defaults "" and 0 without a
// contact.added, as the compiled SQL treats them), the assignee, every
// relation, the
// tags on (indexes into memTenant.tagIDs, before the library's deletions)
// and since when, and the day facts (each recent day's messages).
type memRow struct {
	id, name, unionid, corp, stage, channel, addedBy, phone string
	assignee                                                string
	addWay, addedNs, gender                                 int64
	msgsIn, msgsOut, followups                              uint64
	firstNs, lastNs, lastInNs, lastOutNs                    int64
	lastFollowupNs, nextFollowupNs                          int64
	relations                                               []memRelation
	tags                                                    []int32
	tagSince                                                []int64
	days                                                    []memDay
}

// memRelation is one (contact, staff) relation: its latest event (live or
// not, who ended it), its latest time and its first contact.added.
type memRelation struct {
	staff, lastID, lastSource, endedBy string
	live                               bool
	since, first                       int64
}

// memDay is one reporting day's messages (days since 1970-01-01).
type memDay struct {
	day     uint16
	in, out uint32
}

// holds reports whether staff has a live relation with r.
func (r *memRow) holds(staff string) bool {
	for i := range r.relations {
		if r.relations[i].live && r.relations[i].staff == staff {
			return true
		}
	}
	return false
}

// held reports whether anyone has a live relation with r.
func (r *memRow) held() bool {
	for i := range r.relations {
		if r.relations[i].live {
			return true
		}
	}
	return false
}

// memTenant is one tenant in memory. Its rows never move (a customer keeps
// its index; new customers are appended), order lists them by contact id,
// and tagBits[k] has bit i set when tag k is on row i.
type memTenant struct {
	tailMu   sync.Mutex          // guards what the tail and the refresh share:
	dirty    map[string]struct{} // customers whose events the tail passed since their last read
	libDirty bool                // a tag.defined passed since the library was read
	behind   bool                // an event of the tenant passed since the last refresh
	covered  map[int32]int64     // every event up to here (the last one read, per partition) is in memory
	moved    chan struct{}       // closed and replaced when covered moves

	mu      sync.RWMutex // guards what follows
	rows    []memRow
	idx     map[string]int32
	order   []int32 // rows by contact id
	fresh   []int32 // rows appended since order was built
	tagIdx  map[string]int32
	tagIDs  []string
	tagBits []bitset
	library map[string]libTag
	links   map[string]idPeers // identity links of every id that has one (capped as identity_links.sql)
	strs    map[string]string  // interned values: stages, channels, staff repeat
}

func newMemTenant(at []kafka.Position) *memTenant {
	t := &memTenant{dirty: map[string]struct{}{},
		covered: map[int32]int64{}, moved: make(chan struct{}),
		idx: map[string]int32{}, tagIdx: map[string]int32{}, library: map[string]libTag{},
		links: map[string]idPeers{}, strs: map[string]string{}}
	for _, p := range at {
		t.covered[p.Partition] = p.Offset
	}
	return t
}

func (t *memTenant) intern(s string) string {
	if v, ok := t.strs[s]; ok {
		return v
	}
	t.strs[s] = s
	return s
}

// putAll replaces the facts of each customer of facts and the identity
// links of asked (every id when asked is nil) (t.mu held).
func (t *memTenant) putAll(facts *memFacts, asked []string) {
	for _, f := range facts.rows {
		t.put(f)
	}
	if asked == nil {
		for id, p := range facts.links {
			t.links[id] = p
		}
	}
	for _, id := range asked {
		if p, ok := facts.links[id]; ok {
			t.links[id] = p
		} else {
			delete(t.links, id)
		}
	}
	if len(t.fresh) == 0 {
		return
	}
	// Merge the new rows into the order: sort them, then one linear merge.
	slices.SortFunc(t.fresh, func(a, b int32) int { return strings.Compare(t.rows[a].id, t.rows[b].id) })
	merged := make([]int32, 0, len(t.order)+len(t.fresh))
	i, j := 0, 0
	for i < len(t.order) && j < len(t.fresh) {
		if t.rows[t.order[i]].id < t.rows[t.fresh[j]].id {
			merged, i = append(merged, t.order[i]), i+1
		} else {
			merged, j = append(merged, t.fresh[j]), j+1
		}
	}
	merged = append(append(merged, t.order[i:]...), t.fresh[j:]...)
	t.order, t.fresh = merged, t.fresh[:0]
}

func (t *memTenant) put(f *memFactRow) {
	r := f.row
	i, ok := t.idx[r.id]
	if !ok {
		i = int32(len(t.rows))
		t.rows = append(t.rows, memRow{})
		t.idx[r.id] = i
		t.fresh = append(t.fresh, i)
	}
	for _, k := range t.rows[i].tags {
		t.tagBits[k].clear(int(i))
	}
	// Values most customers share are kept once; names, unionids, phones
	// and corp names are mostly one customer's own.
	r.stage, r.channel, r.addedBy = t.intern(r.stage), t.intern(r.channel), t.intern(r.addedBy)
	r.assignee = t.intern(r.assignee)
	for j := range r.relations {
		rel := &r.relations[j]
		rel.staff, rel.endedBy, rel.lastSource = t.intern(rel.staff), t.intern(rel.endedBy), t.intern(rel.lastSource)
	}
	r.tags = make([]int32, len(f.tags))
	for j, tag := range f.tags {
		k, ok := t.tagIdx[tag]
		if !ok {
			k = int32(len(t.tagIDs))
			t.tagIdx[tag] = k
			t.tagIDs = append(t.tagIDs, tag)
			t.tagBits = append(t.tagBits, nil)
		}
		r.tags[j] = k
		t.tagBits[k] = t.tagBits[k].set(int(i))
	}
	t.rows[i] = r
}

// bitset is a set of row indexes.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

func (b bitset) set(i int) bitset {
	for i/64 >= len(b) {
		b = append(b, 0)
	}
	b[i/64] |= 1 << (i % 64)
	return b
}

func (b bitset) clear(i int) {
	if i/64 < len(b) {
		b[i/64] &^= 1 << (i % 64)
	}
}

func (b bitset) has(i int) bool { return i/64 < len(b) && b[i/64]&(1<<(i%64)) != 0 }

func (b bitset) count() uint64 {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return uint64(n)
}

// or adds src to b (src may be shorter).
func (b bitset) or(src bitset) {
	for i := range min(len(b), len(src)) {
		b[i] |= src[i]
	}
}

func (b bitset) and(src bitset) {
	for i := range b {
		if i < len(src) {
			b[i] &= src[i]
		} else {
			b[i] = 0
		}
	}
}

// not complements b over the first n rows.
func (b bitset) not(n int) {
	for i := range b {
		b[i] = ^b[i]
	}
	if n%64 != 0 {
		b[len(b)-1] &= 1<<(n%64) - 1
	}
}

// members evaluates s over every row as of now (t.mu held for reading):
// the same rules as the SQL CompileSegment makes, row by row.
func (t *memTenant) members(s *Segment, now time.Time) bitset {
	return t.eval(s.root, now.UnixNano())
}

func (t *memTenant) eval(n *node, now int64) bitset {
	rows := len(t.rows)
	switch n.kind {
	case nodeAnd, nodeOr:
		out := t.eval(n.kids[0], now)
		for _, k := range n.kids[1:] {
			if n.kind == nodeAnd {
				out.and(t.eval(k, now))
			} else {
				out.or(t.eval(k, now))
			}
		}
		return out
	case nodeNot:
		out := t.eval(n.kids[0], now)
		out.not(rows)
		return out
	case nodeHasTag:
		out := newBitset(rows)
		if lib, known := t.library[n.strs[0]]; known && lib.deleted {
			return out // a deleted tag is on no one
		}
		if k, ok := t.tagIdx[n.strs[0]]; ok {
			out.or(t.tagBits[k])
		}
		return out
	case nodeHasGroup:
		out := newBitset(rows)
		for k, id := range t.tagIDs {
			lib, known := t.library[id]
			if (known && !lib.deleted && lib.group == n.strs[0]) || (!known && n.strs[0] == "") {
				out.or(t.tagBits[k])
			}
		}
		return out
	case nodeStaff:
		staff := n.strs[0]
		return t.where(func(r *memRow) bool { return r.holds(staff) })
	case nodeLost:
		lost := n.flag
		return t.where(func(r *memRow) bool { return r.held() != lost })
	case nodeTimeWindow:
		lo, hi := now-int64(n.dur), now
		if n.op == "within_next" {
			lo, hi = now, now+int64(n.dur)
		}
		col, within := timeColumns[n.field.column], n.op != "not_within"
		return t.where(func(r *memRow) bool { v := col(r); return (v >= lo && v <= hi) == within })
	}
	return t.where(fieldTest(n))
}

// where is the set of rows keep holds on.
func (t *memTenant) where(keep func(r *memRow) bool) bitset {
	out := newBitset(len(t.rows))
	for i := range t.rows {
		if keep(&t.rows[i]) {
			out[i/64] |= 1 << (i % 64)
		}
	}
	return out
}

// The columns of segmentFields, by kind.
var (
	stringColumns = map[string]func(r *memRow) string{
		"name": func(r *memRow) string { return r.name }, "unionid": func(r *memRow) string { return r.unionid },
		"corp_name": func(r *memRow) string { return r.corp }, "stage": func(r *memRow) string { return r.stage },
		"channel": func(r *memRow) string { return r.channel }, "added_by": func(r *memRow) string { return r.addedBy },
		"assignee": func(r *memRow) string { return r.assignee },
	}
	numberColumns = map[string]func(r *memRow) int64{
		"msgs_in": func(r *memRow) int64 { return int64(r.msgsIn) }, "msgs_out": func(r *memRow) int64 { return int64(r.msgsOut) },
		"add_way": func(r *memRow) int64 { return r.addWay },
	}
	timeColumns = map[string]func(r *memRow) int64{
		"first_ns": func(r *memRow) int64 { return r.firstNs }, "last_ns": func(r *memRow) int64 { return r.lastNs },
		"last_in_ns": func(r *memRow) int64 { return r.lastInNs }, "last_out_ns": func(r *memRow) int64 { return r.lastOutNs },
		"last_followup_ns": func(r *memRow) int64 { return r.lastFollowupNs },
		"next_followup_ns": func(r *memRow) int64 { return r.nextFollowupNs },
	}
)

// fieldTest is a field condition as a test of one row, as compiler.scalar
// compiles it.
func fieldTest(n *node) func(r *memRow) bool {
	switch n.field.kind {
	case kindString:
		col, v := stringColumns[n.field.column], n.strs
		switch n.op {
		case "=":
			return func(r *memRow) bool { return col(r) == v[0] }
		case "!=":
			return func(r *memRow) bool { return col(r) != v[0] }
		case "in":
			return func(r *memRow) bool { return slices.Contains(v, col(r)) }
		case "not_in":
			return func(r *memRow) bool { return !slices.Contains(v, col(r)) }
		case "contains":
			return func(r *memRow) bool { return strings.Contains(col(r), v[0]) }
		}
	case kindNumber:
		col, v := numberColumns[n.field.column], n.nums
		switch n.op {
		case "in":
			return func(r *memRow) bool { return slices.Contains(v, col(r)) }
		case "not_in":
			return func(r *memRow) bool { return !slices.Contains(v, col(r)) }
		}
		op := n.op
		return func(r *memRow) bool { return compareInts(op, col(r), v[0]) }
	case kindTime:
		col, op, v, flag := timeColumns[n.field.column], n.op, n.ns, n.flag
		if op == "exists" {
			return func(r *memRow) bool { return (col(r) != 0) == flag }
		}
		// "never" (0) is before and after nothing.
		return func(r *memRow) bool { x := col(r); return x != 0 && compareInts(op, x, v) }
	}
	panic("cdp: no memory test for " + n.field.column + " " + n.op)
}

func compareInts(op string, a, b int64) bool {
	switch op {
	case "=":
		return a == b
	case "!=":
		return a != b
	case "<":
		return a < b
	case "<=":
		return a <= b
	case ">":
		return a > b
	case ">=":
		return a >= b
	}
	panic("cdp: no comparison " + op)
}

// next passes the members in set after the contact id after, by contact id,
// to fn until fn returns false or limit rows passed (t.mu held for
// reading); it returns how many it passed.
func (t *memTenant) next(set bitset, after string, limit int, fn func(r *memRow)) int {
	start := sort.Search(len(t.order), func(i int) bool { return t.rows[t.order[i]].id > after })
	n := 0
	for _, i := range t.order[start:] {
		if n == limit {
			break
		}
		if set.has(int(i)) {
			fn(&t.rows[i])
			n++
		}
	}
	return n
}

// member is r as a segment member: staff sorted, the tags on that the
// library does not mark deleted (t.mu held for reading).
func (t *memTenant) member(r *memRow) SegmentMember {
	m := SegmentMember{ContactID: r.id, Name: r.name, CorpName: r.corp, Stage: r.stage, Channel: r.channel,
		MessagesIn: r.msgsIn, MessagesOut: r.msgsOut, FirstEventAt: nsTime(r.firstNs), LastEventAt: nsTime(r.lastNs),
		LastInboundAt: nsTime(r.lastInNs), Staff: []string{}, TagIDs: make([]string, 0, len(r.tags))}
	for _, rel := range r.relations {
		if rel.live {
			m.Staff = append(m.Staff, rel.staff)
		}
	}
	slices.Sort(m.Staff)
	for _, k := range r.tags {
		if id := t.tagIDs[k]; !t.library[id].deleted {
			m.TagIDs = append(m.TagIDs, id)
		}
	}
	slices.Sort(m.TagIDs)
	return m
}

// memChunk is how many members each reads under the lock at a time.
const memChunk = 4096

// each passes the members of s as of now after the contact id after, by
// contact id, to fn: a chunk at a time is taken under the lock (as pick
// makes them) and handed to fn outside it, so that refreshes go on during
// a long export. Membership is decided once, at the start; a chunk's
// columns are as of when it is taken.
func (t *memTenant) each(s *Segment, now time.Time, after string,
	pick func(r *memRow, out []SegmentMember) []SegmentMember, fn func(m *SegmentMember) error) error {
	t.mu.RLock()
	set := t.members(s, now)
	t.mu.RUnlock()
	chunk := make([]SegmentMember, 0, memChunk)
	for {
		chunk = chunk[:0]
		t.mu.RLock()
		t.next(set, after, memChunk, func(r *memRow) { chunk = pick(r, chunk) })
		t.mu.RUnlock()
		for i := range chunk {
			if err := fn(&chunk[i]); err != nil {
				return err
			}
		}
		if len(chunk) < memChunk {
			return nil
		}
		after = chunk[len(chunk)-1].ContactID
	}
}

// bytes estimates the heap the tenant holds (siyu_readmodel_bytes; t.mu
// held): the rows and what they own, the indexes, the tag bit sets, the
// library, the identity links and the interned values.
func (t *memTenant) bytes() int64 {
	const str, i32 = int64(unsafe.Sizeof("")), 4
	n := readmodel.Slice(cap(t.rows), int64(unsafe.Sizeof(memRow{})))
	for i := range t.rows {
		n += t.rows[i].bytes()
	}
	n += readmodel.Map(len(t.idx), str, i32) + readmodel.Slice(cap(t.order), i32) + readmodel.Slice(cap(t.fresh), i32)
	n += readmodel.Map(len(t.tagIdx), str, i32) + readmodel.Slice(cap(t.tagIDs), str)
	for _, id := range t.tagIDs {
		n += readmodel.String(id)
	}
	n += readmodel.Slice(cap(t.tagBits), int64(unsafe.Sizeof(bitset{})))
	for _, b := range t.tagBits {
		n += readmodel.Slice(cap(b), 8)
	}
	n += readmodel.Map(len(t.library), str, int64(unsafe.Sizeof(libTag{})))
	for id, l := range t.library {
		n += readmodel.String(id) + readmodel.String(l.name) + readmodel.String(l.group)
	}
	n += readmodel.Map(len(t.links), str, int64(unsafe.Sizeof(idPeers{})))
	for id, p := range t.links {
		n += readmodel.String(id) + readmodel.Slice(cap(p.asSubject), str) + readmodel.Slice(cap(p.asValue), str)
		for _, s := range p.asSubject {
			n += readmodel.String(s)
		}
		for _, s := range p.asValue {
			n += readmodel.String(s)
		}
	}
	n += readmodel.Map(len(t.strs), str, str)
	for s := range t.strs {
		n += readmodel.String(s)
	}
	return n
}

// bytes estimates what a row owns beyond its struct (interned values are
// the tenant's).
func (r *memRow) bytes() int64 {
	n := readmodel.String(r.id) + readmodel.String(r.name) + readmodel.String(r.unionid) + readmodel.String(r.corp) +
		readmodel.String(r.phone)
	n += readmodel.Slice(cap(r.relations), int64(unsafe.Sizeof(memRelation{})))
	for i := range r.relations {
		n += readmodel.String(r.relations[i].lastID)
	}
	return n + readmodel.Slice(cap(r.tags), 4) + readmodel.Slice(cap(r.tagSince), 8) +
		readmodel.Slice(cap(r.days), int64(unsafe.Sizeof(memDay{})))
}
