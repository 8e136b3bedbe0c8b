package cdp

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestColumnsEvaluateAsRows: over a tenant of varied customers (empty
// values, "never" times, deleted tags and tags the library does not know,
// ended relations), every random segment has the same members evaluated
// over the columns as evaluated row by row, the way memory did before it
// kept columns (rowMembers; the property tests hold both to ClickHouse).
// Still so after customers change, are added and lose their tags and
// relations, and after the library changes.
func TestColumnsEvaluateAsRows(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 23))
	mt := newMemTenant(nil)
	v := variedValues()
	mt.library = v.library()
	mt.putAll(v.facts(r, 0, 700), nil)
	check := func(round string) {
		t.Helper()
		some := 0
		for range 400 {
			def := v.definition(r, 0)
			seg, err := ParseSegment(def)
			require.NoError(t, err, "%s", def)
			got, want := mt.members(seg, benchNow), mt.rowMembers(seg, benchNow)
			require.Equal(t, want.count(), got.count(), "%s: %s", round, def)
			require.Equal(t, want, got, "%s: %s", round, def)
			if n := got.count(); n > 0 && n < uint64(len(mt.rows)) {
				some++
			}
		}
		require.Greater(t, some, 200, "%s: most segments should select some customers, not all", round)
	}
	check("loaded")
	// A refresh reads some customers again (other values, fewer tags, no
	// relation) and some new ones, in an id order of their own.
	mt.putAll(v.facts(r, 300, 1000), nil)
	require.Len(t, mt.rows, 1000)
	check("refreshed")
	mt.library["t01"] = libTag{name: "one", group: "g1", deleted: true}
	mt.library["t02"] = libTag{name: "two", group: "g2"}
	delete(mt.library, "t03")
	check("library changed")
}

// BenchmarkMemorySegmentCountRows counts the bench's segment over
// 1,000,000 customers in memory row by row, as before the columns: run it
// with BenchmarkMemorySegmentCount to compare (go test -run XXX -bench
// MemorySegment ./cdp/).
func BenchmarkMemorySegmentCountRows(b *testing.B) { benchCount(b, (*memTenant).rowMembers) }

// BenchmarkMemorySegmentPageRows reads the first page of 100 members with
// the segment evaluated row by row, as before the columns.
func BenchmarkMemorySegmentPageRows(b *testing.B) { benchPage(b, (*memTenant).rowMembers) }

// variedVocab is what the varied customers' values and the random
// definitions' are drawn from.
type variedVocab struct {
	strs  map[string][]string // column → values, "" and one no customer has among them
	tags  []string
	times []int64
}

func variedValues() *variedVocab {
	v := &variedVocab{strs: map[string][]string{
		"name":      {"", "王伟", "Alice", "x' OR 1=1 --", "alice"},
		"unionid":   {"", "o_1", "o_2", "o_3"},
		"corp_name": {"", "Acme", "Acme Ltd", "深圳科技"},
		"stage":     {"", "lead", "won", "lost"},
		"channel":   {"", "ad", "qr", "referral", "lead"},
		"added_by":  {"", "s1", "s2", "s3"},
		"assignee":  {"", "s1", "s2", "s4"},
	}}
	for c := range v.strs {
		v.strs[c] = append(v.strs[c], "no-such-"+c)
	}
	for k := 1; k <= 12; k++ {
		v.tags = append(v.tags, fmt.Sprintf("t%02d", k))
	}
	v.tags = append(v.tags, "nobody-has-this")
	day := int64(24 * time.Hour)
	for _, d := range []int64{-400, -40, -8, -7, -1, 0, 1, 7, 30} {
		v.times = append(v.times, benchNow.UnixNano()+d*day)
	}
	return v
}

// library knows t01–t10 in groups g1–g3 (t04 and t09 deleted, t07–t08
// in no group); t11 and t12 are tags it does not know.
func (v *variedVocab) library() map[string]libTag {
	lib := map[string]libTag{}
	for k := 1; k <= 10; k++ {
		g := fmt.Sprintf("g%d", 1+k%3)
		if k == 7 || k == 8 {
			g = ""
		}
		lib[fmt.Sprintf("t%02d", k)] = libTag{name: fmt.Sprintf("tag %d", k), group: g, deleted: k == 4 || k == 9}
	}
	return lib
}

// facts are customers c lo..hi-1 with random values.
func (v *variedVocab) facts(r *rand.Rand, lo, hi int) *memFacts {
	facts := &memFacts{}
	pick := func(c string) string { s := v.strs[c]; return s[r.IntN(len(s)-1)] } // not the one nobody has
	when := func() int64 {
		if r.IntN(4) == 0 {
			return 0 // never
		}
		return v.times[r.IntN(len(v.times))] + r.Int64N(int64(time.Hour)) - int64(30*time.Minute)
	}
	for i := lo; i < hi; i++ {
		row := memRow{id: fmt.Sprintf("c%05d", (i*7919)%100000), name: pick("name"), unionid: pick("unionid"),
			corp: pick("corp_name"), stage: pick("stage"), channel: pick("channel"), addedBy: pick("added_by"),
			assignee: pick("assignee"), addWay: int64(r.IntN(3)), msgsIn: uint64(r.IntN(5)), msgsOut: uint64(r.IntN(5)),
			firstNs: when(), lastNs: when(), lastInNs: when(), lastOutNs: when(), lastFollowupNs: when(), nextFollowupNs: when()}
		for range r.IntN(3) {
			row.relations = append(row.relations, memRelation{staff: pick("added_by"), live: r.IntN(3) > 0})
		}
		f := &memFactRow{row: row}
		for range r.IntN(4) {
			f.tags = append(f.tags, v.tags[r.IntN(len(v.tags)-1)])
		}
		slices.Sort(f.tags)
		f.tags = slices.Compact(f.tags)
		f.row.tagSince = make([]int64, len(f.tags))
		facts.rows = append(facts.rows, f)
	}
	return facts
}

// definition is a random segment definition over the vocabulary.
func (v *variedVocab) definition(r *rand.Rand, depth int) []byte {
	b, err := json.Marshal(v.cond(r, depth))
	if err != nil {
		panic(err)
	}
	return b
}

func (v *variedVocab) cond(r *rand.Rand, depth int) any {
	if depth < 3 && r.IntN(3) == 0 {
		kind := []string{"and", "or", "not"}[r.IntN(3)]
		if kind == "not" {
			return map[string]any{"not": v.cond(r, depth+1)}
		}
		kids := make([]any, 1+r.IntN(3))
		for i := range kids {
			kids[i] = v.cond(r, depth+1)
		}
		return map[string]any{kind: kids}
	}
	staff := v.strs["added_by"]
	switch r.IntN(8) {
	case 0:
		return map[string]any{"tag": map[string]any{"has": v.tags[r.IntN(len(v.tags))]}}
	case 1:
		return map[string]any{"tags": map[string]any{[]string{"any", "all"}[r.IntN(2)]: picks(r, v.tags)}}
	case 2:
		return map[string]any{"tag_group": map[string]any{"has": []string{"g1", "g2", "g3", "", "g9"}[r.IntN(5)]}}
	case 3:
		return map[string]any{"relation_staff": map[string]any{[]string{"any", "all"}[r.IntN(2)]: picks(r, staff)}}
	case 4:
		return map[string]any{"lost": r.IntN(2) == 0}
	}
	return v.fieldCond(r)
}

func (v *variedVocab) fieldCond(r *rand.Rand) any {
	name := sortedKeys(segmentFields)[r.IntN(len(segmentFields))]
	f := segmentFields[name]
	op := segmentOps[f.kind][r.IntN(len(segmentOps[f.kind]))]
	c := map[string]any{"field": name, "op": op}
	switch {
	case f.kind == kindString && (op == "in" || op == "not_in"):
		c["value"] = picks(r, v.strs[f.column])
	case f.kind == kindString && op == "contains":
		s := []rune(v.strs[f.column][r.IntN(len(v.strs[f.column]))])
		if len(s) == 0 {
			s = []rune("a")
		}
		i := r.IntN(len(s))
		c["value"] = string(s[i : i+1+r.IntN(len(s)-i)])
	case f.kind == kindString:
		c["value"] = v.strs[f.column][r.IntN(len(v.strs[f.column]))]
	case f.kind == kindNumber && (op == "in" || op == "not_in"):
		c["value"] = []int{r.IntN(5), r.IntN(5)}
	case f.kind == kindNumber:
		c["value"] = r.IntN(6)
	case op == "exists":
		c["value"] = r.IntN(2) == 0
	case strings.Contains(op, "within"):
		c["value"] = []string{"1d", "7d", "30d", "12h", "90m"}[r.IntN(5)]
	default:
		c["value"] = time.Unix(0, v.times[r.IntN(len(v.times))]).UTC().Format(time.RFC3339Nano)
	}
	return c
}

func picks(r *rand.Rand, from []string) []string {
	out := make([]string, 1+r.IntN(3))
	for i := range out {
		out[i] = from[r.IntN(len(from))]
	}
	return out
}

// rowMembers evaluates s over every row as of now row by row, reading
// each condition's value from the rows: memory's evaluation before it kept
// columns, the reference the columns must equal.
func (t *memTenant) rowMembers(s *Segment, now time.Time) bitset {
	return t.rowEval(s.root, now.UnixNano())
}

func (t *memTenant) rowEval(n *node, now int64) bitset {
	rows := len(t.rows)
	switch n.kind {
	case nodeAnd, nodeOr:
		out := t.rowEval(n.kids[0], now)
		for _, k := range n.kids[1:] {
			if n.kind == nodeAnd {
				out.and(t.rowEval(k, now))
			} else {
				out.or(t.rowEval(k, now))
			}
		}
		return out
	case nodeNot:
		out := newBitset(rows)
		out.fill(rows)
		out.andNot(t.rowEval(n.kids[0], now))
		return out
	case nodeHasTag:
		out := newBitset(rows)
		if lib, known := t.library[n.strs[0]]; known && lib.deleted {
			return out
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
		return t.rowWhere(func(r *memRow) bool { return r.holds(staff) })
	case nodeLost:
		lost := n.flag
		return t.rowWhere(func(r *memRow) bool { return r.held() != lost })
	case nodeTimeWindow:
		lo, hi := now-int64(n.dur), now
		if n.op == "within_next" {
			lo, hi = now, now+int64(n.dur)
		}
		col, within := rowTimes[n.field.column], n.op != "not_within"
		return t.rowWhere(func(r *memRow) bool { v := col(r); return (v >= lo && v <= hi) == within })
	}
	return t.rowWhere(rowFieldTest(n))
}

func (t *memTenant) rowWhere(keep func(r *memRow) bool) bitset {
	out := newBitset(len(t.rows))
	for i := range t.rows {
		if keep(&t.rows[i]) {
			out[i/64] |= 1 << (i % 64)
		}
	}
	return out
}

var (
	rowStringColumns = map[string]func(r *memRow) string{
		"name": func(r *memRow) string { return r.name }, "unionid": func(r *memRow) string { return r.unionid },
		"corp_name": func(r *memRow) string { return r.corp }, "stage": func(r *memRow) string { return r.stage },
		"channel": func(r *memRow) string { return r.channel }, "added_by": func(r *memRow) string { return r.addedBy },
		"assignee": func(r *memRow) string { return r.assignee },
	}
	rowNumbers = map[string]func(r *memRow) int64{
		"msgs_in": func(r *memRow) int64 { return int64(r.msgsIn) }, "msgs_out": func(r *memRow) int64 { return int64(r.msgsOut) },
		"add_way": func(r *memRow) int64 { return r.addWay },
	}
	rowTimes = map[string]func(r *memRow) int64{
		"first_ns": func(r *memRow) int64 { return r.firstNs }, "last_ns": func(r *memRow) int64 { return r.lastNs },
		"last_in_ns": func(r *memRow) int64 { return r.lastInNs }, "last_out_ns": func(r *memRow) int64 { return r.lastOutNs },
		"last_followup_ns": func(r *memRow) int64 { return r.lastFollowupNs },
		"next_followup_ns": func(r *memRow) int64 { return r.nextFollowupNs },
	}
)

func rowFieldTest(n *node) func(r *memRow) bool {
	switch n.field.kind {
	case kindString:
		col, test := rowStringColumns[n.field.column], stringTest(n)
		return func(r *memRow) bool { return test(col(r)) }
	case kindNumber:
		col, v, op := rowNumbers[n.field.column], n.nums, n.op
		switch op {
		case "in":
			return func(r *memRow) bool { return slices.Contains(v, col(r)) }
		case "not_in":
			return func(r *memRow) bool { return !slices.Contains(v, col(r)) }
		}
		return func(r *memRow) bool { return compareInts(op, col(r), v[0]) }
	}
	col, op, v, flag := rowTimes[n.field.column], n.op, n.ns, n.flag
	if op == "exists" {
		return func(r *memRow) bool { return (col(r) != 0) == flag }
	}
	return func(r *memRow) bool { x := col(r); return x != 0 && compareInts(op, x, v) }
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
