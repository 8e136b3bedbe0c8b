package cdp

import (
	"math"
	"math/bits"
	"slices"
	"strings"
	"time"
)

// memColumns are the facts segments filter on, one column each, row i's
// value at index i (put writes them with the row): a condition scans one
// dense array of a few megabytes at a million customers, where reading
// each customer's row (some 350 bytes apart) fetched a cache line per
// customer. They repeat values of the rows, ~90 bytes a customer. Names,
// unionids and corp names, mostly one customer's own, are read from the
// rows; so are the relations of a staff condition.
type memColumns struct {
	codes [len(codedColumns)][]uint32 // codes of memTenant.vals
	ints  [len(intColumns)][]int64
	held  bitset // rows anyone has a live relation with
}

// codedColumns are the columns of segmentFields whose values most
// customers share (interned in memTenant.vals, kept as their codes), and
// intColumns the whole-number and time columns, in the order of
// memRow.codedFields and memRow.intFields.
var (
	codedColumns = [...]string{"stage", "channel", "added_by", "assignee"}
	intColumns   = [...]string{"msgs_in", "msgs_out", "add_way",
		"first_ns", "last_ns", "last_in_ns", "last_out_ns", "last_followup_ns", "next_followup_ns"}
)

func (r *memRow) codedFields() [len(codedColumns)]*string {
	return [...]*string{&r.stage, &r.channel, &r.addedBy, &r.assignee}
}

func (r *memRow) intFields() [len(intColumns)]int64 {
	return [...]int64{int64(r.msgsIn), int64(r.msgsOut), r.addWay,
		r.firstNs, r.lastNs, r.lastInNs, r.lastOutNs, r.lastFollowupNs, r.nextFollowupNs}
}

// rowStrings are the string columns of segmentFields read from the rows.
var rowStrings = map[string]func(r *memRow) string{
	"name": func(r *memRow) string { return r.name }, "unionid": func(r *memRow) string { return r.unionid },
	"corp_name": func(r *memRow) string { return r.corp },
}

// grow adds a row to every column.
func (c *memColumns) grow() {
	for k := range c.codes {
		c.codes[k] = append(c.codes[k], 0)
	}
	for k := range c.ints {
		c.ints[k] = append(c.ints[k], 0)
	}
}

// putColumns writes row i's values in the columns, interning its coded
// strings (t.mu held).
func (t *memTenant) putColumns(i int, r *memRow) {
	for k, s := range r.codedFields() {
		c := t.code(*s)
		*s, t.cols.codes[k][i] = t.vals[c], c
	}
	for k, x := range r.intFields() {
		t.cols.ints[k][i] = x
	}
	if r.held() {
		t.cols.held = t.cols.held.set(i)
	} else {
		t.cols.held.clear(i)
	}
}

// members evaluates s over every row as of now (t.mu held for reading):
// the same rules as the SQL CompileSegment makes.
func (t *memTenant) members(s *Segment, now time.Time) bitset {
	all := newBitset(len(t.rows))
	all.fill(len(t.rows))
	return t.eval(s.root, now.UnixNano(), all)
}

// eval is the rows of in that n holds on, as a new set (in is left as it
// is). Each condition tests only the rows still in question: an AND's
// later conditions the rows its earlier ones kept, an OR's the rows not
// yet in, a NOT's the rows of in. An AND tests its cheap conditions first
// (memCost) and stops when no row is left.
func (t *memTenant) eval(n *node, now int64, in bitset) bitset {
	switch n.kind {
	case nodeAnd:
		kids := slices.SortedStableFunc(slices.Values(n.kids), func(a, b *node) int { return memCost(a) - memCost(b) })
		out := in
		for _, k := range kids {
			if out = t.eval(k, now, out); out.empty() {
				break
			}
		}
		return out
	case nodeOr:
		out, rest := make(bitset, len(in)), slices.Clone(in)
		for _, k := range n.kids {
			got := t.eval(k, now, rest)
			out.or(got)
			if rest.andNot(got); rest.empty() {
				break
			}
		}
		return out
	case nodeNot:
		out := slices.Clone(in)
		out.andNot(t.eval(n.kids[0], now, in))
		return out
	case nodeHasTag:
		out := make(bitset, len(in))
		if lib, known := t.library[n.strs[0]]; known && lib.deleted {
			return out // a deleted tag is on no one
		}
		if k, ok := t.tagIdx[n.strs[0]]; ok {
			out.or(t.tagBits[k])
			out.and(in)
		}
		return out
	case nodeHasGroup:
		out := make(bitset, len(in))
		for k, id := range t.tagIDs {
			lib, known := t.library[id]
			if (known && !lib.deleted && lib.group == n.strs[0]) || (!known && n.strs[0] == "") {
				out.or(t.tagBits[k])
			}
		}
		out.and(in)
		return out
	case nodeStaff:
		staff := n.strs[0]
		return in.where(func(i int) bool { return t.rows[i].holds(staff) })
	case nodeLost:
		out := slices.Clone(in)
		if n.flag {
			out.andNot(t.cols.held)
		} else {
			out.and(t.cols.held)
		}
		return out
	}
	return t.evalField(n, now, in)
}

// memCost ranks a condition by what testing a row costs: a bit set, a
// column, a row.
func memCost(n *node) int {
	switch n.kind {
	case nodeAnd, nodeOr, nodeNot:
		c := 0
		for _, k := range n.kids {
			c = max(c, memCost(k))
		}
		return c
	case nodeHasTag, nodeHasGroup, nodeLost:
		return 0
	case nodeStaff:
		return 2
	}
	if rowStrings[n.field.column] != nil {
		return 2
	}
	return 1
}

// evalField is the rows of in where the field condition n holds, as
// compiler.scalar and compiler.window compile it.
func (t *memTenant) evalField(n *node, now int64, in bitset) bitset {
	if k := slices.Index(codedColumns[:], n.field.column); k >= 0 {
		// The test of each value of the dictionary, then a look-up per row.
		test, col := stringTest(n), t.cols.codes[k]
		pass := make([]bool, len(t.vals))
		for c, v := range t.vals {
			pass[c] = test(v)
		}
		return in.where(func(i int) bool { return pass[col[i]] })
	}
	if get := rowStrings[n.field.column]; get != nil {
		test := stringTest(n)
		return in.where(func(i int) bool { return test(get(&t.rows[i])) })
	}
	col := t.cols.ints[slices.Index(intColumns[:], n.field.column)]
	if n.op == "in" || n.op == "not_in" {
		want, v := n.op == "in", n.nums
		return in.where(func(i int) bool { return slices.Contains(v, col[i]) == want })
	}
	return in.whereRange(col, rangeOf(n, now))
}

// stringTest is a string condition as a test of a value.
func stringTest(n *node) func(s string) bool {
	v := n.strs
	switch n.op {
	case "=":
		return func(s string) bool { return s == v[0] }
	case "!=":
		return func(s string) bool { return s != v[0] }
	case "in":
		return func(s string) bool { return slices.Contains(v, s) }
	case "not_in":
		return func(s string) bool { return !slices.Contains(v, s) }
	case "contains":
		return func(s string) bool { return strings.Contains(s, v[0]) }
	}
	panic("cdp: no memory test for " + n.field.column + " " + n.op)
}

// intRange is a condition on a whole-number or time column: x passes when
// lo ≤ x ≤ hi is inside, and, with never, x is not 0 ("never" is before
// and after nothing).
type intRange struct {
	lo, hi        int64
	inside, never bool
}

// rangeOf is a comparison, exists or window condition n as a range.
func rangeOf(n *node, now int64) intRange {
	if n.kind == nodeTimeWindow {
		lo, hi := now-int64(n.dur), now
		if n.op == "within_next" {
			lo, hi = now, now+int64(n.dur)
		}
		return intRange{lo: lo, hi: hi, inside: n.op != "not_within"}
	}
	if n.op == "exists" {
		return intRange{lo: 0, hi: 0, inside: !n.flag}
	}
	v := n.ns
	if n.field.kind == kindNumber {
		v = n.nums[0]
	}
	r := intRange{lo: math.MinInt64, hi: math.MaxInt64, inside: true, never: n.field.kind == kindTime}
	switch n.op {
	case "=":
		r.lo, r.hi = v, v
	case "!=":
		r.lo, r.hi, r.inside = v, v, false
	case "<": // (at the ends of int64, which a definition cannot reach, nothing passes)
		r.hi, r.inside = v-1, v != math.MinInt64
	case "<=":
		r.hi = v
	case ">":
		r.lo, r.inside = v+1, v != math.MaxInt64
	case ">=":
		r.lo = v
	default:
		panic("cdp: no comparison " + n.op)
	}
	return r
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

func (b bitset) empty() bool {
	for _, w := range b {
		if w != 0 {
			return false
		}
	}
	return true
}

// fill adds the first n rows (b holds at least n).
func (b bitset) fill(n int) {
	for i := range n / 64 {
		b[i] = math.MaxUint64
	}
	if n%64 != 0 {
		b[n/64] |= 1<<(n%64) - 1
	}
}

// or adds src to b (src may be shorter).
func (b bitset) or(src bitset) {
	for i := range min(len(b), len(src)) {
		b[i] |= src[i]
	}
}

// and keeps in b what is in src (src may be shorter).
func (b bitset) and(src bitset) {
	for i := range b {
		if i < len(src) {
			b[i] &= src[i]
		} else {
			b[i] = 0
		}
	}
}

// andNot removes src from b (src may be shorter).
func (b bitset) andNot(src bitset) {
	for i := range min(len(b), len(src)) {
		b[i] &^= src[i]
	}
}

// where is the rows of b that keep holds on, as a new set.
func (b bitset) where(keep func(i int) bool) bitset {
	out := make(bitset, len(b))
	for w, word := range b {
		for word != 0 {
			bit := bits.TrailingZeros64(word)
			word &= word - 1
			if keep(w*64 + bit) {
				out[w] |= 1 << bit
			}
		}
	}
	return out
}

// whereRange is the rows i of b whose col[i] passes r, as a new set: where
// with the test inlined, a column being scanned over every row.
func (b bitset) whereRange(col []int64, r intRange) bitset {
	out := make(bitset, len(b))
	for w, word := range b {
		for word != 0 {
			bit := bits.TrailingZeros64(word)
			word &= word - 1
			x := col[w*64+bit]
			if (x >= r.lo && x <= r.hi) == r.inside && (x != 0 || !r.never) {
				out[w] |= 1 << bit
			}
		}
	}
	return out
}
