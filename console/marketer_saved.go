package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/sync/errgroup"

	"github.com/siyu-dev/siyu/cdp"
)

// Saved segments on the segments page: each one's exact member count in
// the list, and a saved segment reopened in the builder (its definition
// loaded back into the and/or/not tree) to be changed and saved back.

// Counting the list: a few counts at a time, so that a long list does not
// flood the API (each count reads every customer of the tenant), each
// within a deadline, so that one slow count cannot hold the page.
const (
	countsAtOnce = 4
	countTimeout = 5 * time.Second
	maxCounted   = 100 // past this many segments, the rest are counted on their own pages
)

// savedRow is one saved segment in the list, with its count or why there
// is none.
type savedRow struct {
	cdp.SavedSegment
	Count    uint64
	Counted  bool
	CountErr string // the API's refusal, or a phrase when none
	Skipped  bool   // past maxCounted: not counted here
}

// countSaved counts each saved segment's members (POST
// /v1/segments/preview with limit 0), countsAtOnce at a time. A count that
// fails is noted on its row; it never fails the page.
func countSaved(cl *client, l Lang, segs []cdp.SavedSegment) []savedRow {
	rows := make([]savedRow, len(segs))
	var g errgroup.Group
	g.SetLimit(countsAtOnce)
	for i, s := range segs {
		rows[i].SavedSegment = s
		if i >= maxCounted {
			rows[i].Skipped = true
			continue
		}
		g.Go(func() error {
			n, err := countOne(cl, s.Definition)
			if err != nil {
				rows[i].CountErr = l.T("error.unavailable")
				if ae, ok := err.(*apiError); ok && ae.Message != "" {
					rows[i].CountErr = ae.Message
				}
				return nil
			}
			rows[i].Count, rows[i].Counted = n, true
			return nil
		})
	}
	_ = g.Wait() // the calls note their errors on their rows
	return rows
}

func countOne(cl *client, def json.RawMessage) (uint64, error) {
	one, done := cl.within(countTimeout)
	defer done()
	var pr struct {
		Count uint64 `json:"count"`
	}
	err := one.send(fiber.MethodPost, "/v1/segments/preview", map[string]any{"definition": def, "limit": 0}, &pr)
	return pr.Count, err
}

// load fills the builder's tree from a saved definition: the inverse of
// segNode.definition, for every form cdp.ParseSegment takes. Forms the
// builder has no control for are spelled with the ones it has (a
// {"tags": {"any": [...]}} is an or-group of tag conditions, {"lost":
// false} a negated lost), so the definition saved back means the same.
func (b *segBuilder) load(def []byte) error {
	dec := json.NewDecoder(bytes.NewReader(def))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("read definition: %w", err)
	}
	n, err := b.node(v)
	if err != nil {
		return err
	}
	if !n.Group {
		root := b.group("")
		root.Kids = []*segNode{n}
		n = root
	}
	b.Root = n
	b.renumber(b.Root, "r")
	return nil
}

// node is one condition of a definition as a builder node.
func (b *segBuilder) node(v any) (*segNode, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("a condition is an object, got %T", v)
	}
	if f, ok := obj["field"].(string); ok {
		n := b.cond("")
		n.What, n.Cmp, n.Val = "field:"+f, fmt.Sprint(obj["op"]), valueText(obj["value"])
		return n, nil
	}
	for k, val := range obj {
		switch k {
		case "and", "or":
			return b.list(k, val)
		case "not":
			kid, err := b.node(val)
			if err != nil {
				return nil, err
			}
			if kid.Not { // a double negation: keep both, the inner one in a group
				g := b.group("")
				g.Kids = []*segNode{kid}
				kid = g
			}
			kid.Not = true
			return kid, nil
		case "tag":
			return b.cond1("tag:", val, "has")
		case "tag_group":
			return b.cond1("group:", val, "has")
		case "tags":
			return b.anyAll("tag", val)
		case "relation_staff":
			if ids, ok := listOf(val, "any"); ok {
				n := b.cond("")
				n.What, n.Val = "staff", strings.Join(ids, ", ")
				return n, nil
			}
			return b.anyAll("staff", val)
		case "lost":
			n := b.cond("")
			n.What, n.Not = "lost", val == false
			return n, nil
		}
		return nil, fmt.Errorf("unknown condition %q", k)
	}
	return nil, fmt.Errorf("an empty condition")
}

func (b *segBuilder) list(op string, val any) (*segNode, error) {
	items, _ := val.([]any)
	g := b.group("")
	g.Op = op
	for _, it := range items {
		kid, err := b.node(it)
		if err != nil {
			return nil, err
		}
		g.Kids = append(g.Kids, kid)
	}
	return g, nil
}

// cond1 reads {"has": "x"} as the condition prefix+x.
func (b *segBuilder) cond1(prefix string, val any, key string) (*segNode, error) {
	obj, _ := val.(map[string]any)
	s, ok := obj[key].(string)
	if !ok {
		return nil, fmt.Errorf("expected {%q: \"...\"}", key)
	}
	n := b.cond("")
	n.What = prefix + s
	return n, nil
}

// anyAll reads {"any": [...]} or {"all": [...]} as an or- or and-group of
// one-value conditions (kind "tag" or "staff").
func (b *segBuilder) anyAll(kind string, val any) (*segNode, error) {
	g := b.group("")
	ids, ok := listOf(val, "all")
	if !ok {
		g.Op = "or"
		if ids, ok = listOf(val, "any"); !ok {
			return nil, fmt.Errorf(`expected {"any": [...]} or {"all": [...]}`)
		}
	}
	for _, id := range ids {
		n := b.cond("")
		if kind == "tag" {
			n.What = "tag:" + id
		} else {
			n.What, n.Val = "staff", id
		}
		g.Kids = append(g.Kids, n)
	}
	return g, nil
}

// listOf reads {key: ["a", "b"]}.
func listOf(val any, key string) ([]string, bool) {
	obj, _ := val.(map[string]any)
	items, ok := obj[key].([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, ok := it.(string)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// valueText is a field condition's value as the builder's text input has
// it (fieldValue reads it back): lists comma-separated, booleans and
// numbers as written.
func valueText(v any) string {
	switch x := v.(type) {
	case []any:
		parts := make([]string, len(x))
		for i, it := range x {
			parts[i] = valueText(it)
		}
		return strings.Join(parts, ", ")
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// Unknown reports whether the condition's subject is none the builder's
// select offers (a tag deleted since, say): the page then offers it as it
// is, so that saving back keeps it.
func (n *segNode) Unknown() bool {
	if n.Group || n.What == "" {
		return false
	}
	for _, f := range n.B.Fields {
		if f.Value == n.What {
			return false
		}
	}
	for _, g := range n.B.Groups {
		if n.What == "group:"+g.Name {
			return false
		}
		for _, t := range g.Tags {
			if n.What == "tag:"+t.ID {
				return false
			}
		}
	}
	return true
}

// editSegment is the builder loaded with a saved segment (?edit=<id>).
func (cons *Console) editSegment(c *fiber.Ctx, v *view, b *segBuilder, id string) error {
	var seg cdp.SavedSegment
	if err := cons.clientOf(c).get("/v1/segments/"+url.PathEscape(id), nil, &seg); err != nil {
		return cons.fail(c, err)
	}
	if err := b.load(seg.Definition); err != nil {
		return cons.fail(c, fmt.Errorf("segment %s: %w", seg.ID, err))
	}
	b.Name, b.Editing, b.countOf = seg.Name, seg.ID, seg.ID
	b.encode()
	return cons.renderSegments(c, v, b)
}

// saveBuilt saves the builder's definition over the segment being edited
// (replace: PUT) or as a new segment, and answers where to go next.
func saveBuilt(cl *client, b *segBuilder, replace bool) (to, notice string, err error) {
	body := map[string]any{"name": b.Name, "definition": json.RawMessage(b.Def)}
	if replace {
		return "/app/segments", "mk.seg.changed", cl.send(fiber.MethodPut, "/v1/segments/"+url.PathEscape(b.Editing), body, nil)
	}
	var saved cdp.SavedSegment
	if err := cl.send(fiber.MethodPost, "/v1/segments", body, &saved); err != nil {
		return "", "", err
	}
	return "/app/segments/" + url.PathEscape(saved.ID), "mk.seg.saved", nil
}

var savedSegmentMessages = map[string]msg{
	"mk.seg.editing":       {"正在编辑分群：%s", "Editing segment: %s"},
	"mk.seg.new":           {"改为新建分群", "Start a new segment instead"},
	"mk.seg.savechanges":   {"保存修改", "Save changes"},
	"mk.seg.saveas":        {"另存为新分群", "Save as a new segment"},
	"mk.seg.changed":       {"分群已更新，成员按新条件计算。", "Segment changed: its members follow the new conditions."},
	"mk.seg.edit":          {"编辑条件", "Edit"},
	"mk.seg.members.count": {"%d 人", "%d customers"},
	"mk.seg.count.failed":  {"人数暂时无法计算（%s），请稍后刷新。", "No count for now (%s): reload in a moment."},
	"mk.seg.count.skipped": {"打开分群查看人数", "Open the segment to see its count"},
	"mk.seg.unknown":       {"未知或已删除：%s", "Unknown or deleted: %s"},
}
