package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-dev/siyu/auth"
	"github.com/siyu-dev/siyu/cdp"
)

// marketerRoles open the tag library and the segments.
var marketerRoles = []auth.Role{auth.RoleMarketer, auth.RoleAdmin}

// membersPage is how many members a segment's page shows at once.
const membersPage = 50

// maxSegNodes bounds the conditions a builder form may carry (the API
// allows 100).
const maxSegNodes = 200

// marketerPages are the marketer pages (see the package comment): the tag
// library, the segment builder with its saved segments, and a segment's
// members with its exports and bulk tagging.
func (cons *Console) marketerPages() []page {
	return []page{
		{path: "/app/segments", nav: "nav.segments", roles: marketerRoles, get: cons.segmentsPage,
			posts: map[string]fiber.Handler{"": cons.segmentsForm}},
		{path: "/app/segments/:id", roles: marketerRoles, parent: "/app/segments", get: cons.segmentPage,
			posts: map[string]fiber.Handler{"/tag": cons.segmentTag, "/delete": cons.segmentDelete}},
		{path: "/app/tags", nav: "nav.tags", roles: marketerRoles, get: cons.tagsPage,
			posts: map[string]fiber.Handler{"": cons.tagCreate, "/:id": cons.tagUpdate, "/:id/delete": cons.tagDelete, "/order/move": cons.tagMove}},
	}
}

// tagLibrary is GET /v1/tags's answer.
type tagLibrary struct {
	Tags  []cdp.Tag `json:"tags"`
	Live  int       `json:"live"`
	Limit int       `json:"limit"`
}

// tagGroup is the tags of one group, in the library's order.
type tagGroup struct {
	Name string
	Tags []cdp.Tag
}

// groups splits the library (sorted by group, then order) by group.
func (lib *tagLibrary) groups() []tagGroup {
	var out []tagGroup
	for _, t := range lib.Tags {
		if len(out) == 0 || out[len(out)-1].Name != t.Group {
			out = append(out, tagGroup{Name: t.Group})
		}
		out[len(out)-1].Tags = append(out[len(out)-1].Tags, t)
	}
	return out
}

func (cons *Console) tagLibrary(c *fiber.Ctx) (*tagLibrary, error) {
	var lib tagLibrary
	if err := cons.clientOf(c).get("/v1/tags", nil, &lib); err != nil {
		return nil, err
	}
	cdp.SortTags(lib.Tags)
	return &lib, nil
}

// tagsView is the tag library page.
type tagsView struct {
	Lib    *tagLibrary
	High   int // the meter warns from here: 90% of the limit
	Groups []tagGroup
	Form   tagForm // the create form, as sent
}

type tagForm struct{ Name, Group, Order string }

func (cons *Console) tagsPage(c *fiber.Ctx) error {
	return cons.renderTags(c, cons.viewOf(c, "nav.tags"), tagForm{})
}

func (cons *Console) renderTags(c *fiber.Ctx, v *view, form tagForm) error {
	lib, err := cons.tagLibrary(c)
	if err != nil {
		return cons.fail(c, err)
	}
	v.Data = tagsView{Lib: lib, High: lib.Limit * 9 / 10, Groups: lib.groups(), Form: form}
	return cons.renderView(c, "marketer_tags", v)
}

// tagBody is a tag's form as the API takes it; an empty order is left out.
func tagBody(c *fiber.Ctx) (map[string]any, error) {
	body := map[string]any{"name": c.FormValue("name"), "group": c.FormValue("group")}
	if o := strings.TrimSpace(c.FormValue("order")); o != "" {
		n, err := strconv.ParseInt(o, 10, 64)
		if err != nil {
			return nil, &apiError{Status: http.StatusBadRequest, Code: "bad_request", Field: "order", Message: "order is a whole number (larger sorts first)"}
		}
		body["order"] = n
	}
	return body, nil
}

func (cons *Console) tagCreate(c *fiber.Ctx) error {
	form := tagForm{Name: c.FormValue("name"), Group: c.FormValue("group"), Order: c.FormValue("order")}
	body, err := tagBody(c)
	if err == nil {
		err = cons.clientOf(c).send(fiber.MethodPost, "/v1/tags", body, nil)
	}
	if err != nil {
		v := cons.viewOf(c, "nav.tags")
		formError(v, err)
		c.Status(statusOf(err))
		return cons.renderTags(c, v, form)
	}
	return back(c, "/app/tags", "mk.tag.created")
}

func (cons *Console) tagUpdate(c *fiber.Ctx) error {
	body, err := tagBody(c)
	if err == nil {
		err = cons.clientOf(c).send(fiber.MethodPatch, "/v1/tags/"+url.PathEscape(c.Params("id")), body, nil)
	}
	if err != nil {
		v := cons.viewOf(c, "nav.tags")
		formError(v, err)
		v.Field = "" // the field of one row's form, not the create form's
		c.Status(statusOf(err))
		return cons.renderTags(c, v, tagForm{})
	}
	return back(c, "/app/tags", "mk.tag.updated")
}

func (cons *Console) tagDelete(c *fiber.Ctx) error {
	if _, err := cons.clientOf(c).do(fiber.MethodDelete, "/v1/tags/"+url.PathEscape(c.Params("id")), nil, nil, nil); err != nil {
		return cons.fail(c, err)
	}
	return back(c, "/app/tags", "mk.tag.deleted")
}

func statusOf(err error) int {
	if ae, ok := err.(*apiError); ok && ae.Status >= 400 {
		return ae.Status
	}
	return http.StatusInternalServerError
}

// segNode is one node of the segment builder's tree: a group (and/or of
// its kids) or a condition, either negated. The form names each node's
// inputs by its path ("r", "r.0", "r.0.1"); console.js renumbers them as
// it edits the tree, so both build the same definition.
type segNode struct {
	Path  string
	Group bool
	Op    string // a group's "and" or "or"
	Not   bool
	What  string // a condition's subject: tag:<id>, group:<name>, staff, lost, field:<name>
	Cmp   string // a field condition's operator
	Val   string // its value (lists comma-separated)
	Kids  []*segNode
	B     *segBuilder
}

// Kind is what the condition tests ("tag", "group", "staff", "lost",
// "field"), which decides the inputs shown.
func (n *segNode) Kind() string {
	k, _, _ := strings.Cut(n.What, ":")
	return k
}

// segBuilder is the builder form: its tree and what its selects offer.
type segBuilder struct {
	L      Lang
	Root   *segNode
	Groups []tagGroup
	Fields []segChoice
	Ops    []segChoice
	Def    string  // the definition as JSON
	Count  *uint64 // the exact count, when counted
	Name   string
	Blank  map[string]*segNode // blank nodes for console.js to clone: "c", "g"
	// Editing is the saved segment the builder was opened with (?edit=):
	// saving changes it (PUT) unless saved as a new one.
	Editing string
	// countOf, when set, is the saved segment whose count in the list is
	// the builder's too (its definition, just loaded).
	countOf string
}

type segChoice struct{ Value, Label string }

// segFields are the subjects a condition may test besides tags: the
// profile fields cdp.ParseSegment allows, relation staff and lost.
var segFields = []string{"field:stage", "field:channel", "field:assignee", "staff", "lost",
	"field:last_event_at", "field:last_inbound_at", "field:last_outbound_at", "field:first_event_at",
	"field:last_followup_at", "field:next_followup_at", "field:name", "field:corp_name",
	"field:acquired_by", "field:unionid", "field:messages_in", "field:messages_out", "field:add_way"}

var segOps = []string{"=", "!=", "in", "not_in", "contains", "<", "<=", ">", ">=", "within", "not_within", "within_next", "exists"}

// numberFields are the fields whose values are numbers.
var numberFields = map[string]bool{"messages_in": true, "messages_out": true, "add_way": true}

func (cons *Console) newBuilder(c *fiber.Ctx, l Lang) (*segBuilder, error) {
	lib, err := cons.tagLibrary(c)
	if err != nil {
		return nil, err
	}
	b := &segBuilder{L: l, Groups: lib.groups()}
	for _, f := range segFields {
		b.Fields = append(b.Fields, segChoice{f, l.T("mk.f." + f)})
	}
	for _, o := range segOps {
		b.Ops = append(b.Ops, segChoice{o, l.T("mk.op." + o)})
	}
	b.Blank = map[string]*segNode{"c": b.cond("x"), "g": b.group("x")}
	b.Blank["g"].Kids = []*segNode{b.cond("x.0")}
	return b, nil
}

func (b *segBuilder) cond(path string) *segNode {
	return &segNode{Path: path, Cmp: "=", B: b}
}

func (b *segBuilder) group(path string) *segNode {
	return &segNode{Path: path, Group: true, Op: "and", B: b}
}

// readForm rebuilds the tree from the form: the hidden "node" inputs list
// each node as "g:<path>" or "c:<path>", parents first.
func (b *segBuilder) readForm(c *fiber.Ctx) {
	byPath := map[string]*segNode{}
	for i, raw := range c.Request().PostArgs().PeekMulti("node") {
		if i >= maxSegNodes {
			break
		}
		kind, p, ok := strings.Cut(string(raw), ":")
		if !ok || byPath[p] != nil {
			continue
		}
		n := b.cond(p)
		if kind == "g" {
			n = b.group(p)
			if c.FormValue("op."+p) == "or" {
				n.Op = "or"
			}
		} else {
			n.What, n.Cmp, n.Val = c.FormValue("what."+p), c.FormValue("cmp."+p), c.FormValue("val."+p)
		}
		n.Not = c.FormValue("not."+p) != ""
		parent, _, hasParent := cutLast(p)
		switch {
		case !hasParent && p == "r" && n.Group:
			b.Root = n
		case hasParent && byPath[parent] != nil && byPath[parent].Group:
			byPath[parent].Kids = append(byPath[parent].Kids, n)
		default:
			continue
		}
		byPath[p] = n
	}
	if b.Root == nil {
		b.Root = b.group("r")
		b.Root.Kids = []*segNode{b.cond("r.0")}
	}
}

func cutLast(p string) (parent, last string, ok bool) {
	i := strings.LastIndexByte(p, '.')
	if i < 0 {
		return "", p, false
	}
	return p[:i], p[i+1:], true
}

// act applies a structural edit the form asked for: add:<path> (a
// condition), group:<path> (a group with one condition), remove:<path>.
func (b *segBuilder) act(a string) {
	verb, p, _ := strings.Cut(a, ":")
	n, parent := b.find(b.Root, nil, p)
	if n == nil {
		return
	}
	switch {
	case verb == "add" && n.Group:
		n.Kids = append(n.Kids, b.cond(""))
	case verb == "group" && n.Group:
		g := b.group("")
		g.Kids = []*segNode{b.cond("")}
		n.Kids = append(n.Kids, g)
	case verb == "remove" && parent != nil:
		for i, k := range parent.Kids {
			if k == n {
				parent.Kids = append(parent.Kids[:i], parent.Kids[i+1:]...)
				break
			}
		}
	}
	b.renumber(b.Root, "r")
}

func (b *segBuilder) find(n, parent *segNode, p string) (*segNode, *segNode) {
	if n.Path == p {
		return n, parent
	}
	for _, k := range n.Kids {
		if f, fp := b.find(k, n, p); f != nil {
			return f, fp
		}
	}
	return nil, nil
}

func (b *segBuilder) renumber(n *segNode, p string) {
	n.Path = p
	for i, k := range n.Kids {
		b.renumber(k, p+"."+strconv.Itoa(i))
	}
}

// complete reports whether every condition names its subject and every
// group has a condition (else there is nothing to count yet).
func (n *segNode) Complete() bool {
	if !n.Group {
		return n.What != ""
	}
	if len(n.Kids) == 0 {
		return false
	}
	for _, k := range n.Kids {
		if !k.Complete() {
			return false
		}
	}
	return true
}

// definition is the node as the API's segment definition (console.js's
// segDef builds the same).
func (n *segNode) definition() any {
	var d any
	if n.Group {
		kids := make([]any, len(n.Kids))
		for i, k := range n.Kids {
			kids[i] = k.definition()
		}
		d = map[string]any{n.Op: kids}
	} else {
		d = n.condition()
	}
	if n.Not {
		d = map[string]any{"not": d}
	}
	return d
}

// fieldCond keeps the API's key order (field, op, value), as the script's
// JSON.stringify does.
type fieldCond struct {
	Field string `json:"field"`
	Op    string `json:"op"`
	Value any    `json:"value"`
}

func (n *segNode) condition() any {
	kind, arg, _ := strings.Cut(n.What, ":")
	val := strings.TrimSpace(n.Val)
	switch kind {
	case "tag":
		return map[string]any{"tag": map[string]string{"has": arg}}
	case "group":
		return map[string]any{"tag_group": map[string]string{"has": arg}}
	case "lost":
		return map[string]any{"lost": true}
	case "staff":
		return map[string]any{"relation_staff": map[string]any{"any": splitList(val)}}
	case "field":
		return fieldCond{Field: arg, Op: n.Cmp, Value: fieldValue(arg, n.Cmp, val)}
	}
	return map[string]any{}
}

func fieldValue(field, op, val string) any {
	num := func(s string) any {
		if x, err := strconv.ParseInt(s, 10, 64); err == nil && x >= 0 && s == strconv.FormatInt(x, 10) {
			return x
		}
		return s
	}
	switch {
	case op == "in" || op == "not_in":
		parts := splitList(val)
		out := make([]any, len(parts))
		for i, s := range parts {
			out[i] = s
			if numberFields[field] {
				out[i] = num(s)
			}
		}
		return out
	case op == "exists":
		return val != "false"
	case numberFields[field]:
		return num(val)
	}
	return val
}

// splitList splits a list typed with commas (ASCII or Chinese) or 、.
func splitList(s string) []string {
	out := []string{}
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '，' || r == '、' }) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// encode writes the definition as JSON.stringify would (no HTML escapes),
// so the page's definition is the same with or without the script.
func (b *segBuilder) encode() {
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(b.Root.definition()) // maps, strings and numbers: never fails
	b.Def = strings.TrimSuffix(buf.String(), "\n")
}

// segmentsView is the segments page: the builder and the saved segments.
type segmentsView struct {
	B     *segBuilder
	Saved []savedRow
}

func (cons *Console) segmentsPage(c *fiber.Ctx) error {
	v := cons.viewOf(c, "nav.segments")
	b, err := cons.newBuilder(c, v.L)
	if err != nil {
		return cons.fail(c, err)
	}
	if id := c.Query("edit"); id != "" {
		return cons.editSegment(c, v, b, id)
	}
	b.Root = b.group("r")
	b.Root.Kids = []*segNode{b.cond("r.0")}
	b.encode()
	return cons.renderSegments(c, v, b)
}

func (cons *Console) renderSegments(c *fiber.Ctx, v *view, b *segBuilder) error {
	var list struct {
		Segments []cdp.SavedSegment `json:"segments"`
	}
	cl := cons.clientOf(c)
	if err := cl.get("/v1/segments", nil, &list); err != nil {
		return cons.fail(c, err)
	}
	rows := countSaved(cl, v.L, list.Segments)
	for _, r := range rows {
		if b.countOf != "" && r.ID == b.countOf && r.Counted {
			b.Count = &r.Count
		}
	}
	v.Data = segmentsView{B: b, Saved: rows}
	return cons.renderView(c, "marketer_segments", v)
}

// segmentsForm is the builder without the script: a structural edit, a
// count (POST /v1/segments/preview), or a save: of a new segment (POST
// /v1/segments; "saveas" too), or of the one being edited (PUT).
func (cons *Console) segmentsForm(c *fiber.Ctx) error {
	v := cons.viewOf(c, "nav.segments")
	b, err := cons.newBuilder(c, v.L)
	if err != nil {
		return cons.fail(c, err)
	}
	b.readForm(c)
	b.Name, b.Editing = c.FormValue("name"), c.FormValue("id")
	act := c.FormValue("act")
	if act != "" && act != "count" && act != "save" && act != "saveas" {
		b.act(act)
	}
	b.encode()
	cl := cons.clientOf(c)
	if act == "save" || act == "saveas" {
		to, notice, err := saveBuilt(cl, b, act == "save" && b.Editing != "")
		if err == nil {
			return back(c, to, notice)
		}
		formError(v, err)
		c.Status(statusOf(err))
		return cons.renderSegments(c, v, b)
	}
	if b.Root.Complete() {
		var pr struct {
			Count uint64 `json:"count"`
		}
		if err := cl.send(fiber.MethodPost, "/v1/segments/preview", map[string]any{"definition": json.RawMessage(b.Def), "limit": 0}, &pr); err != nil {
			formError(v, err)
			if ae, ok := err.(*apiError); ok && ae.Field != "" {
				v.Error = ae.Error()
			}
		} else {
			b.Count = &pr.Count
		}
	}
	return cons.renderSegments(c, v, b)
}

// segmentView is one saved segment's page.
type segmentView struct {
	Seg     cdp.SavedSegment
	Count   *uint64
	Members []cdp.SegmentMember
	Next    string
	Groups  []tagGroup
	Job     *cdp.Job
	Export  string // the export's address without the format
}

func (cons *Console) segmentPage(c *fiber.Ctx) error {
	id := c.Params("id")
	base := "/v1/segments/" + url.PathEscape(id)
	cl := cons.clientOf(c)
	var sv segmentView
	if err := cl.get(base, nil, &sv.Seg); err != nil {
		return cons.fail(c, err)
	}
	var pr struct {
		Count uint64 `json:"count"`
	}
	q := url.Values{"limit": {strconv.Itoa(membersPage)}}
	if cur := c.Query("cursor"); cur != "" {
		q.Set("cursor", cur)
	}
	var page struct {
		Customers  []cdp.SegmentMember `json:"customers"`
		NextCursor string              `json:"next_cursor"`
	}
	var lib tagLibrary
	err := together(
		func() error {
			if cl.send(fiber.MethodPost, "/v1/segments/preview", map[string]any{"definition": sv.Seg.Definition, "limit": 0}, &pr) == nil {
				sv.Count = &pr.Count
			}
			return nil
		},
		func() error { return cl.get(base+"/customers", q, &page) },
		func() error { return cl.get("/v1/tags", nil, &lib) },
	)
	if err != nil {
		return cons.fail(c, err)
	}
	cdp.SortTags(lib.Tags)
	sv.Members = page.Customers
	if page.NextCursor != "" {
		sv.Next = "/app/segments/" + url.PathEscape(id) + "?cursor=" + url.QueryEscape(page.NextCursor)
	}
	sv.Groups = lib.groups()
	if job := c.Query("job"); job != "" {
		var j cdp.Job
		if err := cl.get("/v1/jobs/"+url.PathEscape(job), nil, &j); err != nil {
			return cons.fail(c, err)
		}
		sv.Job = &j
	}
	sv.Export = base + "/export?format="
	v := cons.viewOf(c, "mk.seg.title")
	v.Title = sv.Seg.Name
	v.Data = sv
	return cons.renderView(c, "marketer_segment", v)
}

// segmentTag starts the bulk tagging job and shows its progress.
func (cons *Console) segmentTag(c *fiber.Ctx) error {
	id := c.Params("id")
	var job cdp.Job
	err := cons.clientOf(c).send(fiber.MethodPost, "/v1/segments/"+url.PathEscape(id)+"/tag", map[string]string{"tag_id": c.FormValue("tag_id")}, &job)
	if err != nil {
		return cons.fail(c, err)
	}
	return back(c, "/app/segments/"+url.PathEscape(id)+"?job="+url.QueryEscape(job.ID), "mk.job.started")
}

func (cons *Console) segmentDelete(c *fiber.Ctx) error {
	if _, err := cons.clientOf(c).do(fiber.MethodDelete, "/v1/segments/"+url.PathEscape(c.Params("id")), nil, nil, nil); err != nil {
		return cons.fail(c, err)
	}
	return back(c, "/app/segments", "mk.seg.deleted")
}

var marketerMessages = map[string]msg{
	"nav.tags":                    {"标签", "Tags"},
	"nav.segments":                {"客户分群", "Segments"},
	"mk.tags.count":               {"已用 %d / %d 个标签（企业微信上限）", "%d of %d tags used (WeCom's limit)"},
	"mk.tags.meter":               {"标签用量", "Tags used"},
	"mk.tags.new":                 {"新建标签", "New tag"},
	"mk.tags.name":                {"名称", "Name"},
	"mk.tags.group":               {"标签组", "Group"},
	"mk.tags.order":               {"排序（大的在前）", "Order (larger first)"},
	"mk.tags.ordershort":          {"排序", "order"},
	"mk.tags.create":              {"创建", "Create"},
	"mk.tags.nogroup":             {"（未分组）", "(no group)"},
	"mk.tags.empty":               {"还没有标签：在上面新建第一个。", "No tags yet: create the first above."},
	"mk.tags.edit":                {"修改", "Edit"},
	"mk.tags.delete":              {"删除", "Delete"},
	"mk.tags.confirm":             {"删除这个标签？它会从所有客户身上移除。", "Delete this tag? It leaves every customer."},
	"mk.tag.created":              {"标签已创建。", "Tag created."},
	"mk.tag.updated":              {"标签已修改。", "Tag changed."},
	"mk.tag.deleted":              {"标签已删除。", "Tag deleted."},
	"mk.seg.builder":              {"分群条件", "Conditions"},
	"mk.seg.count":                {"符合人数", "Customers matching"},
	"mk.seg.recount":              {"计算人数", "Count"},
	"mk.seg.counting":             {"计数中…", "Counting…"},
	"mk.seg.incomplete":           {"选好每个条件后显示人数。", "Choose every condition to see the count."},
	"mk.seg.group":                {"条件组", "Group"},
	"mk.seg.and":                  {"全部满足（且）", "All of (AND)"},
	"mk.seg.or":                   {"任一满足（或）", "Any of (OR)"},
	"mk.seg.not":                  {"取反（非）", "Negate (NOT)"},
	"mk.seg.combine":              {"组合方式", "Combine"},
	"mk.seg.what":                 {"条件", "Condition"},
	"mk.seg.choose":               {"选择条件…", "Choose…"},
	"mk.seg.cmp":                  {"比较", "Operator"},
	"mk.seg.val":                  {"值", "Value"},
	"mk.seg.val.hint":             {"多个值用逗号分隔；时间窗口如 7d、12h、30m", "Separate values with commas; windows like 7d, 12h, 30m"},
	"mk.seg.add":                  {"+ 条件", "+ Condition"},
	"mk.seg.addgroup":             {"+ 条件组", "+ Group"},
	"mk.seg.remove":               {"移除", "Remove"},
	"mk.seg.tags":                 {"标签", "Tags"},
	"mk.seg.taggroups":            {"标签组（含组内任一标签）", "Tag group (any tag in it)"},
	"mk.seg.others":               {"客户属性", "Customer fields"},
	"mk.seg.name":                 {"分群名称", "Segment name"},
	"mk.seg.save":                 {"保存分群", "Save segment"},
	"mk.seg.saved":                {"分群已保存。", "Segment saved."},
	"mk.seg.deleted":              {"分群已删除。", "Segment deleted."},
	"mk.seg.list":                 {"已保存的分群", "Saved segments"},
	"mk.seg.none":                 {"还没有保存的分群。", "No saved segments yet."},
	"mk.seg.updated":              {"保存于", "Saved"},
	"mk.seg.open":                 {"查看成员", "Members"},
	"mk.seg.delete":               {"删除", "Delete"},
	"mk.seg.confirm":              {"删除这个分群？已开始的任务会继续完成。", "Delete this segment? Jobs already started finish."},
	"mk.seg.title":                {"分群成员", "Segment members"},
	"mk.seg.members":              {"成员", "Members"},
	"mk.seg.back":                 {"返回客户分群", "Back to segments"},
	"mk.seg.csv":                  {"下载 CSV", "Download CSV"},
	"mk.seg.parquet":              {"下载 Parquet", "Download Parquet"},
	"mk.seg.export":               {"导出", "Export"},
	"mk.seg.nomembers":            {"这个分群现在没有客户。", "No customers in this segment now."},
	"mk.seg.definition":           {"条件（JSON）", "Definition (JSON)"},
	"mk.col.name":                 {"客户", "Customer"},
	"mk.col.corp":                 {"公司", "Company"},
	"mk.col.stage":                {"阶段", "Stage"},
	"mk.col.channel":              {"渠道", "Channel"},
	"mk.col.last":                 {"最近互动", "Last activity"},
	"mk.job.title":                {"批量打标签", "Tag every member"},
	"mk.job.tag":                  {"标签", "Tag"},
	"mk.job.start":                {"开始打标签", "Start tagging"},
	"mk.job.started":              {"打标签任务已开始。", "Tagging started."},
	"mk.job.progress":             {"进度", "Progress"},
	"mk.job.counts":               {"已处理 %d / %d", "%d of %d done"},
	"mk.job.refresh":              {"刷新进度", "Refresh progress"},
	"mk.job.queued":               {"排队中", "Queued"},
	"mk.job.running":              {"进行中", "Running"},
	"mk.job.done":                 {"已完成", "Done"},
	"mk.job.failed":               {"失败", "Failed"},
	"mk.f.field:stage":            {"阶段", "Stage"},
	"mk.f.field:channel":          {"渠道", "Channel"},
	"mk.f.field:assignee":         {"负责人（员工 ID，空为公海）", "Assignee (staff id; empty: the pool)"},
	"mk.f.staff":                  {"关系员工（员工 ID）", "Relation staff (staff ids)"},
	"mk.f.lost":                   {"已流失（无有效好友关系）", "Lost (no live relation)"},
	"mk.f.field:last_event_at":    {"最近互动时间", "Last activity"},
	"mk.f.field:last_inbound_at":  {"客户最近发消息", "Last message from the customer"},
	"mk.f.field:last_outbound_at": {"最近发给客户", "Last message to the customer"},
	"mk.f.field:first_event_at":   {"首次互动时间", "First activity"},
	"mk.f.field:last_followup_at": {"最近跟进时间", "Last follow-up"},
	"mk.f.field:next_followup_at": {"下次跟进时间", "Next follow-up"},
	"mk.f.field:name":             {"客户名称", "Customer name"},
	"mk.f.field:corp_name":        {"公司名称", "Company name"},
	"mk.f.field:acquired_by":      {"添加人（员工 ID）", "Acquired by (staff id)"},
	"mk.f.field:unionid":          {"UnionID", "UnionID"},
	"mk.f.field:messages_in":      {"客户消息数", "Messages from the customer"},
	"mk.f.field:messages_out":     {"发给客户消息数", "Messages to the customer"},
	"mk.f.field:add_way":          {"添加方式（编号）", "Add way (code)"},
	"mk.op.=":                     {"等于", "equals"},
	"mk.op.!=":                    {"不等于", "is not"},
	"mk.op.in":                    {"属于（逗号分隔）", "is one of (commas)"},
	"mk.op.not_in":                {"不属于（逗号分隔）", "is none of (commas)"},
	"mk.op.contains":              {"包含", "contains"},
	"mk.op.<":                     {"小于 / 早于", "less / before"},
	"mk.op.<=":                    {"不大于 / 不晚于", "at most / at or before"},
	"mk.op.>":                     {"大于 / 晚于", "more / after"},
	"mk.op.>=":                    {"不小于 / 不早于", "at least / at or after"},
	"mk.op.within":                {"最近…内（如 30d）", "within the last (e.g. 30d)"},
	"mk.op.not_within":            {"最近…内没有", "not within the last"},
	"mk.op.within_next":           {"未来…内", "within the next"},
	"mk.op.exists":                {"有值（true/false）", "is set (true/false)"},
}
