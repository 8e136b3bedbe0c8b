package cdp

import (
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
// tagBits[k] has bit i set when tag k is on row i, and cols holds the
// facts segments filter on column by column (memeval.go).
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
	cols    memColumns
	links   map[string]idPeers // identity links of every id that has one (capped as identity_links.sql)
	codes   map[string]uint32  // interned values (stages, channels, staff repeat): their codes
	vals    []string           // the interned values by code
}

func newMemTenant(at []kafka.Position) *memTenant {
	t := &memTenant{dirty: map[string]struct{}{},
		covered: map[int32]int64{}, moved: make(chan struct{}),
		idx: map[string]int32{}, tagIdx: map[string]int32{}, library: map[string]libTag{},
		links: map[string]idPeers{}, codes: map[string]uint32{}}
	for _, p := range at {
		t.covered[p.Partition] = p.Offset
	}
	return t
}

func (t *memTenant) intern(s string) string { return t.vals[t.code(s)] }

// code is the code of s among the interned values, interning it if new.
func (t *memTenant) code(s string) uint32 {
	if c, ok := t.codes[s]; ok {
		return c
	}
	c := uint32(len(t.vals))
	t.codes[s], t.vals = c, append(t.vals, s)
	return c
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
		t.cols.grow()
	}
	for _, k := range t.rows[i].tags {
		t.tagBits[k].clear(int(i))
	}
	// Values most customers share are kept once; names, unionids, phones
	// and corp names are mostly one customer's own.
	t.putColumns(int(i), &r) // interns stage, channel, added_by and assignee
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
// library, the identity links, the interned values and the columns.
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
	n += readmodel.Map(len(t.codes), str, 4) + readmodel.Slice(cap(t.vals), str)
	for _, s := range t.vals {
		n += readmodel.String(s)
	}
	for _, col := range t.cols.codes {
		n += readmodel.Slice(cap(col), 4)
	}
	for _, col := range t.cols.ints {
		n += readmodel.Slice(cap(col), 8)
	}
	return n + readmodel.Slice(cap(t.cols.held), 8)
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
