package cdp_test

import (
	"encoding/json"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/cdp"
	"github.com/siyu-dev/siyu/internal/reference"
)

// gcond is a random segment condition, kept as a tree so that the test can
// both render it as the JSON definition and evaluate it in Go, independently
// of the package's parser and compiler.
type gcond struct {
	kind  string // and, or, not, tag, tags_any, tags_all, group, staff_any, staff_all, lost, field
	kids  []*gcond
	strs  []string
	field string
	op    string
	sval  string
	nval  int64
	tval  time.Time
	dur   time.Duration
	win   string
	flag  bool
}

func (g *gcond) json() any {
	kids := func() []any {
		out := make([]any, len(g.kids))
		for i, k := range g.kids {
			out[i] = k.json()
		}
		return out
	}
	switch g.kind {
	case "and", "or":
		return map[string]any{g.kind: kids()}
	case "not":
		return map[string]any{"not": g.kids[0].json()}
	case "tag":
		return map[string]any{"tag": map[string]any{"has": g.strs[0]}}
	case "group":
		return map[string]any{"tag_group": map[string]any{"has": g.strs[0]}}
	case "tags_any", "tags_all", "staff_any", "staff_all":
		key, mode, _ := strings.Cut(g.kind, "_")
		if key == "staff" {
			key = "relation_staff"
		}
		return map[string]any{key: map[string]any{mode: g.strs}}
	case "lost":
		return map[string]any{"lost": g.flag}
	}
	f := map[string]any{"field": g.field, "op": g.op}
	switch {
	case g.op == "in" || g.op == "not_in":
		if numberFields[g.field] != nil {
			f["value"] = g.nums()
		} else {
			f["value"] = g.strs
		}
	case g.op == "exists":
		f["value"] = g.flag
	case g.win != "":
		f["value"] = g.win
	case stringFields[g.field] != nil:
		f["value"] = g.sval
	case numberFields[g.field] != nil:
		f["value"] = g.nval
	default:
		f["value"] = g.tval.Format(time.RFC3339Nano)
	}
	return f
}

// nums holds in-list numbers in strs, as decimal text.
func (g *gcond) nums() []int64 {
	out := make([]int64, len(g.strs))
	for i, s := range g.strs {
		for _, ch := range s {
			out[i] = out[i]*10 + int64(ch-'0')
		}
	}
	return out
}

var stringFields = map[string]func(*reference.Contact) string{
	"name":        func(c *reference.Contact) string { return c.Name },
	"unionid":     func(c *reference.Contact) string { return c.UnionID },
	"corp_name":   func(c *reference.Contact) string { return c.Corp },
	"stage":       func(c *reference.Contact) string { return c.Stage },
	"channel":     func(c *reference.Contact) string { return c.Channel },
	"acquired_by": func(c *reference.Contact) string { return c.AddedBy },
	"assignee":    func(c *reference.Contact) string { return c.Assignee },
}

var numberFields = map[string]func(*reference.Contact) int64{
	"messages_in":  func(c *reference.Contact) int64 { return c.MessagesIn },
	"messages_out": func(c *reference.Contact) int64 { return c.MessagesOut },
	"add_way":      func(c *reference.Contact) int64 { return c.AddWay },
}

var timeFields = map[string]func(*reference.Contact) int64{
	"first_event_at":   func(c *reference.Contact) int64 { return c.FirstNs },
	"last_event_at":    func(c *reference.Contact) int64 { return c.LastNs },
	"last_inbound_at":  func(c *reference.Contact) int64 { return c.LastInNs },
	"last_outbound_at": func(c *reference.Contact) int64 { return c.LastOutNs },
	"last_followup_at": func(c *reference.Contact) int64 { return c.LastFollowupNs },
	"next_followup_at": func(c *reference.Contact) int64 { return c.NextFollowupNs },
}

func (g *gcond) eval(c *reference.Contact, now time.Time) bool {
	switch g.kind {
	case "and":
		for _, k := range g.kids {
			if !k.eval(c, now) {
				return false
			}
		}
		return true
	case "or":
		for _, k := range g.kids {
			if k.eval(c, now) {
				return true
			}
		}
		return false
	case "not":
		return !g.kids[0].eval(c, now)
	case "tag":
		return c.Tags[g.strs[0]]
	case "group":
		return c.TagGroups[g.strs[0]]
	case "tags_any", "staff_any", "tags_all", "staff_all":
		set := c.Tags
		if strings.HasPrefix(g.kind, "staff") {
			set = c.LiveStaff
		}
		all := strings.HasSuffix(g.kind, "all")
		for _, s := range g.strs {
			if set[s] != all {
				return !all
			}
		}
		return all
	case "lost":
		return (len(c.LiveStaff) == 0) == g.flag
	}
	if get := stringFields[g.field]; get != nil {
		return evalString(g, get(c))
	}
	if get := numberFields[g.field]; get != nil {
		return evalNumber(g, get(c))
	}
	return evalTime(g, timeFields[g.field](c), now.UnixNano())
}

func evalString(g *gcond, v string) bool {
	switch g.op {
	case "=":
		return v == g.sval
	case "!=":
		return v != g.sval
	case "contains":
		return strings.Contains(v, g.sval)
	}
	in := false
	for _, s := range g.strs {
		in = in || s == v
	}
	return in == (g.op == "in")
}

func evalNumber(g *gcond, v int64) bool {
	switch g.op {
	case "in", "not_in":
		in := false
		for _, x := range g.nums() {
			in = in || x == v
		}
		return in == (g.op == "in")
	}
	return compare(g.op, v, g.nval)
}

func compare(op string, a, b int64) bool {
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
	}
	return a >= b
}

func evalTime(g *gcond, v, now int64) bool {
	d := int64(g.dur)
	switch g.op {
	case "exists":
		return (v != 0) == g.flag
	case "within":
		return v >= now-d && v <= now
	case "not_within":
		return !(v >= now-d && v <= now)
	case "within_next":
		return v >= now && v <= now+d
	}
	return v != 0 && compare(g.op, v, g.tval.UnixNano())
}

// vocab holds values drawn from the data, so that random conditions select
// some customers and not others.
type vocab struct {
	tenants []string
	strs    map[string]map[string][]string // tenant → kind → values
	times   []int64
}

func newVocab(contacts []*reference.Contact) *vocab {
	v := &vocab{strs: map[string]map[string][]string{}}
	seen := map[string]map[string]map[string]bool{}
	add := func(tenant, kind, s string) {
		if seen[tenant] == nil {
			seen[tenant] = map[string]map[string]bool{}
			v.strs[tenant] = map[string][]string{}
			v.tenants = append(v.tenants, tenant)
		}
		if seen[tenant][kind] == nil {
			seen[tenant][kind] = map[string]bool{}
		}
		if !seen[tenant][kind][s] {
			seen[tenant][kind][s] = true
			v.strs[tenant][kind] = append(v.strs[tenant][kind], s)
		}
	}
	for _, c := range contacts {
		for f, get := range stringFields {
			add(c.Tenant, f, get(c))
		}
		for tag := range c.Tags {
			add(c.Tenant, "tag", tag)
		}
		for grp := range c.TagGroups {
			add(c.Tenant, "group", grp)
		}
		for s := range c.LiveStaff {
			add(c.Tenant, "staff", s)
		}
		for _, get := range timeFields {
			if ns := get(c); ns != 0 {
				v.times = append(v.times, ns)
			}
		}
	}
	for _, t := range v.tenants {
		add(t, "tag", "seg-gone") // deleted: on no one
		add(t, "tag", "nobody-has-this")
		add(t, "staff", "s9999")
		add(t, "name", evilName)
		for f := range stringFields { // a value no customer has (memory keeps none for it)
			add(t, f, "no-such-"+f)
		}
		for _, kind := range v.strs[t] {
			sort.Strings(kind) // map order must not leak into the draw
		}
	}
	sort.Strings(v.tenants)
	sort.Slice(v.times, func(i, j int) bool { return v.times[i] < v.times[j] })
	return v
}

func (v *vocab) pick(r *rand.Rand, tenant, kind string) string {
	vals := v.strs[tenant][kind]
	if len(vals) == 0 {
		return "none"
	}
	return vals[r.IntN(len(vals))]
}

func (v *vocab) picks(r *rand.Rand, tenant, kind string) []string {
	out := make([]string, 1+r.IntN(3))
	for i := range out {
		out[i] = v.pick(r, tenant, kind)
	}
	return out
}

var (
	stringOps = []string{"=", "!=", "in", "not_in", "contains"}
	numberOps = []string{"=", "!=", "<", "<=", ">", ">=", "in", "not_in"}
	timeOps   = []string{"<", "<=", ">", ">=", "within", "not_within", "within_next", "exists"}
	windows   = map[string]time.Duration{"1d": 24 * time.Hour, "7d": 7 * 24 * time.Hour, "30d": 30 * 24 * time.Hour,
		"12h": 12 * time.Hour, "90m": 90 * time.Minute}
	windowNames = []string{"1d", "7d", "30d", "12h", "90m"}
)

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (v *vocab) cond(r *rand.Rand, tenant string, depth int) *gcond {
	if depth < 3 && r.IntN(3) == 0 {
		kinds := []string{"and", "or", "not"}
		g := &gcond{kind: kinds[r.IntN(3)]}
		n := 1
		if g.kind != "not" {
			n = 1 + r.IntN(3)
		}
		for range n {
			g.kids = append(g.kids, v.cond(r, tenant, depth+1))
		}
		return g
	}
	switch r.IntN(9) {
	case 0:
		return &gcond{kind: "tag", strs: []string{v.pick(r, tenant, "tag")}}
	case 1:
		return &gcond{kind: []string{"tags_any", "tags_all"}[r.IntN(2)], strs: v.picks(r, tenant, "tag")}
	case 2:
		return &gcond{kind: "group", strs: []string{v.pick(r, tenant, "group")}}
	case 3:
		return &gcond{kind: []string{"staff_any", "staff_all"}[r.IntN(2)], strs: v.picks(r, tenant, "staff")}
	case 4:
		return &gcond{kind: "lost", flag: r.IntN(2) == 0}
	case 5, 6:
		return v.timeCond(r)
	case 7:
		return v.numberCond(r)
	}
	return v.stringCond(r, tenant)
}

func (v *vocab) stringCond(r *rand.Rand, tenant string) *gcond {
	names := sortedNames(stringFields)
	g := &gcond{kind: "field", field: names[r.IntN(len(names))], op: stringOps[r.IntN(len(stringOps))]}
	g.sval = v.pick(r, tenant, g.field)
	g.strs = v.picks(r, tenant, g.field)
	if g.op == "contains" {
		// A piece of a real value, never empty.
		if rs := []rune(g.sval); len(rs) > 1 {
			i := r.IntN(len(rs) - 1)
			g.sval = string(rs[i : i+1+r.IntN(len(rs)-i)])
		} else if len(rs) == 0 {
			g.sval = "a"
		}
	}
	return g
}

func (v *vocab) numberCond(r *rand.Rand) *gcond {
	names := sortedNames(numberFields)
	g := &gcond{kind: "field", field: names[r.IntN(len(names))], op: numberOps[r.IntN(len(numberOps))]}
	g.nval = int64(r.IntN(12))
	if g.field == "add_way" {
		g.nval = []int64{0, 1, 16}[r.IntN(3)]
	}
	for range 1 + r.IntN(3) {
		g.strs = append(g.strs, string(rune('0'+r.IntN(10))))
	}
	return g
}

func (v *vocab) timeCond(r *rand.Rand) *gcond {
	names := sortedNames(timeFields)
	g := &gcond{kind: "field", field: names[r.IntN(len(names))], op: timeOps[r.IntN(len(timeOps))]}
	switch g.op {
	case "exists":
		g.flag = r.IntN(2) == 0
	case "within", "not_within", "within_next":
		g.win = windowNames[r.IntN(len(windowNames))]
		g.dur = windows[g.win]
	default:
		ns := v.times[r.IntN(len(v.times))]
		if r.IntN(2) == 0 {
			ns += int64(r.IntN(3600)) * int64(time.Second) // between events too
		}
		g.tval = time.Unix(0, ns).UTC()
	}
	return g
}

// members is the brute-force member list of g in tenant as of now, in the
// order of contacts (by contact id).
func (g *gcond) members(contacts []*reference.Contact, tenant string, now time.Time) []string {
	var out []string
	for _, c := range contacts {
		if c.Tenant == tenant && g.eval(c, now) {
			out = append(out, c.ContactID)
		}
	}
	return out
}

// segment is g as a definition Siyu parses, and its JSON.
func (g *gcond) segment(t *testing.T) (*cdp.Segment, []byte) {
	t.Helper()
	def, err := json.Marshal(g.json())
	require.NoError(t, err)
	seg, err := cdp.ParseSegment(def)
	require.NoError(t, err, "%s", def)
	return seg, def
}
