package cdp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of a segment definition. They bound the SQL a definition compiles
// to: at most MaxSegmentNodes conditions, nested at most MaxSegmentDepth
// deep, each list at most MaxSegmentList values of at most MaxSegmentValue
// characters.
const (
	MaxSegmentDepth = 8
	MaxSegmentNodes = 100
	MaxSegmentList  = 100
	MaxSegmentValue = 256
	// maxSegmentNumber keeps numbers exact in JSON and in Go float64 (2^53).
	maxSegmentNumber = 1 << 53
)

// SegmentError is a definition Siyu refuses: Path locates the offending
// part in JSON-path form ("and[1].field"; "" for the whole definition) and
// Reason says what is wrong with it.
type SegmentError struct {
	Path   string
	Reason string
}

func (e *SegmentError) Error() string {
	if e.Path == "" {
		return "segment: " + e.Reason
	}
	return "segment " + e.Path + ": " + e.Reason
}

func segErr(path, format string, args ...any) error {
	return &SegmentError{Path: path, Reason: fmt.Sprintf(format, args...)}
}

// AsSegmentError returns the SegmentError in err's chain.
func AsSegmentError(err error) (*SegmentError, bool) {
	var se *SegmentError
	ok := errors.As(err, &se)
	return se, ok
}

// fieldKind is the type of a profile field, which decides its operators.
type fieldKind uint8

const (
	kindString fieldKind = iota
	kindNumber
	kindTime
)

// segmentField is a whitelisted profile field and the column of the
// segment_filter_base query that holds it.
type segmentField struct {
	kind   fieldKind
	column string
}

// segmentFields is the whitelist of fields a condition may test. A time
// column holds Unix nanoseconds, 0 for "never".
var segmentFields = map[string]segmentField{
	"name":             {kindString, "name"},
	"unionid":          {kindString, "unionid"},
	"corp_name":        {kindString, "corp_name"},
	"stage":            {kindString, "stage"},
	"channel":          {kindString, "channel"},
	"acquired_by":      {kindString, "added_by"},
	"assignee":         {kindString, "assignee"},
	"messages_in":      {kindNumber, "msgs_in"},
	"messages_out":     {kindNumber, "msgs_out"},
	"add_way":          {kindNumber, "add_way"},
	"first_event_at":   {kindTime, "first_ns"},
	"last_event_at":    {kindTime, "last_ns"},
	"last_inbound_at":  {kindTime, "last_in_ns"},
	"last_outbound_at": {kindTime, "last_out_ns"},
	"last_followup_at": {kindTime, "last_followup_ns"},
	"next_followup_at": {kindTime, "next_followup_ns"},
}

// segmentOps is the whitelist of operators per field kind.
var segmentOps = map[fieldKind][]string{
	kindString: {"=", "!=", "in", "not_in", "contains"},
	kindNumber: {"=", "!=", "<", "<=", ">", ">=", "in", "not_in"},
	kindTime:   {"<", "<=", ">", ">=", "within", "not_within", "within_next", "exists"},
}

// condKinds are the keys a condition object may have (a field condition
// has "field", "op" and "value").
var condKinds = []string{"and", "or", "not", "tag", "tags", "tag_group", "relation_staff", "lost", "field"}

type nodeKind uint8

const (
	nodeAnd nodeKind = iota
	nodeOr
	nodeNot
	nodeHasTag     // strs: one tag id
	nodeHasGroup   // strs: one group name
	nodeStaff      // strs: one staff id (a live relation)
	nodeLost       // flag: no live relation (true) or some (false)
	nodeField      // field, op, strs / nums / dur / flag
	nodeTimeWindow // field; lo..hi resolved against now at compile time
)

// node is one condition of a parsed segment.
type node struct {
	kind  nodeKind
	kids  []*node
	field segmentField
	op    string
	strs  []string
	nums  []int64
	ns    int64         // an absolute time, Unix ns
	dur   time.Duration // a relative window
	flag  bool
}

// Segment is a validated segment definition, ready to compile.
type Segment struct {
	root *node
}

// ParseSegment reads and validates a JSON segment definition. Every
// refusal is a *SegmentError naming the offending path.
func ParseSegment(def []byte) (*Segment, error) {
	dec := json.NewDecoder(bytes.NewReader(def))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, segErr("", "not valid JSON: %v", err)
	}
	if dec.More() {
		return nil, segErr("", "trailing data after the definition")
	}
	p := &parser{}
	root, err := p.cond(v, "", 1)
	if err != nil {
		return nil, err
	}
	return &Segment{root: root}, nil
}

// ForStaff narrows the segment to customers staffID holds a live relation
// with (what a rep may see). The added condition is outside the limits.
func (s *Segment) ForStaff(staffID string) *Segment {
	staff := &node{kind: nodeStaff, strs: []string{staffID}}
	return &Segment{root: &node{kind: nodeAnd, kids: []*node{s.root, staff}}}
}

type parser struct {
	nodes int
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (p *parser) cond(v any, path string, depth int) (*node, error) {
	if depth > MaxSegmentDepth {
		return nil, segErr(path, "nested deeper than %d levels", MaxSegmentDepth)
	}
	if p.nodes++; p.nodes > MaxSegmentNodes {
		return nil, segErr(path, "more than %d conditions in the definition", MaxSegmentNodes)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, segErr(path, "a condition is a JSON object with one of: %s", strings.Join(condKinds, ", "))
	}
	if _, ok := obj["field"]; ok {
		return p.fieldCond(obj, path)
	}
	if len(obj) != 1 {
		return nil, segErr(path, "a condition has exactly one of: %s (got %s)",
			strings.Join(condKinds, ", "), strings.Join(sortedKeys(obj), ", "))
	}
	for k, val := range obj {
		return p.keyed(k, val, path, depth)
	}
	panic("unreachable")
}

func (p *parser) keyed(k string, val any, path string, depth int) (*node, error) {
	at := join(path, k)
	switch k {
	case "and", "or":
		return p.list(k, val, at, depth)
	case "not":
		kid, err := p.cond(val, at, depth+1)
		if err != nil {
			return nil, err
		}
		return &node{kind: nodeNot, kids: []*node{kid}}, nil
	case "tag":
		return oneOf(val, at, "has", func(s string) *node { return &node{kind: nodeHasTag, strs: []string{s}} })
	case "tag_group":
		return oneOf(val, at, "has", func(s string) *node { return &node{kind: nodeHasGroup, strs: []string{s}} })
	case "tags":
		return anyAll(val, at, nodeHasTag)
	case "relation_staff":
		return anyAll(val, at, nodeStaff)
	case "lost":
		b, ok := val.(bool)
		if !ok {
			return nil, segErr(at, "lost is true or false")
		}
		return &node{kind: nodeLost, flag: b}, nil
	}
	return nil, segErr(at, "unknown condition %q; allowed: %s", k, strings.Join(condKinds, ", "))
}

func (p *parser) list(k string, val any, at string, depth int) (*node, error) {
	items, ok := val.([]any)
	if !ok || len(items) == 0 {
		return nil, segErr(at, "%s is a non-empty array of conditions", k)
	}
	n := &node{kind: nodeAnd}
	if k == "or" {
		n.kind = nodeOr
	}
	for i, item := range items {
		kid, err := p.cond(item, fmt.Sprintf("%s[%d]", at, i), depth+1)
		if err != nil {
			return nil, err
		}
		n.kids = append(n.kids, kid)
	}
	return n, nil
}

// oneOf reads {"<key>": "value"}.
func oneOf(val any, at, key string, mk func(string) *node) (*node, error) {
	obj, ok := val.(map[string]any)
	if !ok || len(obj) != 1 || obj[key] == nil {
		return nil, segErr(at, "expected {%q: \"...\"}", key)
	}
	s, err := stringValue(obj[key], join(at, key))
	if err != nil {
		return nil, err
	}
	return mk(s), nil
}

// anyAll reads {"any": [...]} (an OR of one-value conditions) or
// {"all": [...]} (an AND of them).
func anyAll(val any, at string, kind nodeKind) (*node, error) {
	obj, ok := val.(map[string]any)
	if !ok || len(obj) != 1 {
		return nil, segErr(at, `expected {"any": [...]} or {"all": [...]}`)
	}
	n := &node{}
	var list any
	switch {
	case obj["any"] != nil:
		n.kind, list, at = nodeOr, obj["any"], join(at, "any")
	case obj["all"] != nil:
		n.kind, list, at = nodeAnd, obj["all"], join(at, "all")
	default:
		return nil, segErr(join(at, sortedKeys(obj)[0]), `unknown key; expected "any" or "all"`)
	}
	strs, err := stringList(list, at)
	if err != nil {
		return nil, err
	}
	for _, s := range strs {
		n.kids = append(n.kids, &node{kind: kind, strs: []string{s}})
	}
	return n, nil
}

func (p *parser) fieldCond(obj map[string]any, path string) (*node, error) {
	for _, k := range sortedKeys(obj) {
		if k != "field" && k != "op" && k != "value" {
			return nil, segErr(join(path, k), `unknown key; a field condition has "field", "op" and "value"`)
		}
	}
	name, _ := obj["field"].(string)
	f, ok := segmentFields[name]
	if !ok {
		return nil, segErr(join(path, "field"), "unknown field %q; allowed: %s", fmt.Sprint(obj["field"]),
			strings.Join(sortedKeys(segmentFields), ", "))
	}
	op, _ := obj["op"].(string)
	if !contains(segmentOps[f.kind], op) {
		return nil, segErr(join(path, "op"), "unknown operator %q for field %s; allowed: %s", fmt.Sprint(obj["op"]),
			name, strings.Join(segmentOps[f.kind], ", "))
	}
	n := &node{kind: nodeField, field: f, op: op}
	at := join(path, "value")
	val, ok := obj["value"]
	if !ok {
		return nil, segErr(at, "missing")
	}
	return n, fieldValue(n, val, at)
}

func fieldValue(n *node, val any, at string) error {
	var err error
	switch {
	case n.op == "in" || n.op == "not_in":
		if n.field.kind == kindNumber {
			n.nums, err = numberList(val, at)
		} else {
			n.strs, err = stringList(val, at)
		}
	case n.field.kind == kindString:
		var s string
		s, err = stringValue(val, at)
		n.strs = []string{s}
	case n.field.kind == kindNumber:
		var x int64
		x, err = numberValue(val, at)
		n.nums = []int64{x}
	case n.op == "exists":
		b, ok := val.(bool)
		if !ok {
			return segErr(at, "exists takes true or false")
		}
		n.flag = b
	case n.op == "within" || n.op == "not_within" || n.op == "within_next":
		n.kind = nodeTimeWindow
		n.dur, err = relativeValue(val, at)
	default:
		n.ns, err = timeValue(val, at)
	}
	return err
}

func stringValue(v any, at string) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", segErr(at, "expected a string, got %s", jsonType(v))
	}
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxSegmentValue {
		return "", segErr(at, "a string value is valid UTF-8 of at most %d characters", MaxSegmentValue)
	}
	return s, nil
}

func stringList(v any, at string) ([]string, error) {
	items, ok := v.([]any)
	if !ok || len(items) == 0 || len(items) > MaxSegmentList {
		return nil, segErr(at, "expected an array of 1–%d strings", MaxSegmentList)
	}
	out := make([]string, len(items))
	for i, item := range items {
		s, err := stringValue(item, fmt.Sprintf("%s[%d]", at, i))
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

func numberValue(v any, at string) (int64, error) {
	num, ok := v.(json.Number)
	if !ok {
		return 0, segErr(at, "expected a number, got %s", jsonType(v))
	}
	x, err := strconv.ParseInt(num.String(), 10, 64)
	if err != nil || x < 0 || x > maxSegmentNumber {
		return 0, segErr(at, "expected a whole number from 0 to 2^53, got %s", num)
	}
	return x, nil
}

func numberList(v any, at string) ([]int64, error) {
	items, ok := v.([]any)
	if !ok || len(items) == 0 || len(items) > MaxSegmentList {
		return nil, segErr(at, "expected an array of 1–%d numbers", MaxSegmentList)
	}
	out := make([]int64, len(items))
	for i, item := range items {
		x, err := numberValue(item, fmt.Sprintf("%s[%d]", at, i))
		if err != nil {
			return nil, err
		}
		out[i] = x
	}
	return out, nil
}

func timeValue(v any, at string) (int64, error) {
	s, ok := v.(string)
	if !ok {
		return 0, segErr(at, "expected an RFC 3339 time, got %s", jsonType(v))
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() < 1970 || t.Year() > 2200 {
		return 0, segErr(at, "expected an RFC 3339 time between 1970 and 2200, got %q", s)
	}
	return t.UnixNano(), nil
}

// relativeRe is a relative window: a whole number of days, hours or minutes.
var relativeRe = regexp.MustCompile(`^([1-9][0-9]{0,4})([dhm])$`)

func relativeValue(v any, at string) (time.Duration, error) {
	s, _ := v.(string)
	m := relativeRe.FindStringSubmatch(s)
	if m == nil {
		return 0, segErr(at, `expected a window like "7d", "12h" or "30m" (at most 99999), got %s`, jsonText(v))
	}
	n, _ := strconv.Atoi(m[1])
	unit := map[string]time.Duration{"d": 24 * time.Hour, "h": time.Hour, "m": time.Minute}[m[2]]
	return time.Duration(n) * unit, nil
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	}
	return "an object"
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
