package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-dev/siyu/api"
	"github.com/siyu-dev/siyu/auth"
	"github.com/siyu-dev/siyu/cdp"
	"github.com/siyu-dev/siyu/followup"
	"github.com/siyu-dev/siyu/internal/reporting"
)

// The customer card: one customer's profile, tags, stage and timeline, with
// the forms a rep works it with. It is a console page (/app/customers/:id)
// and the WeCom chat sidebar (/sidebar), which is the same card in a bare,
// phone-first layout that learns its customer from the WeCom JS-SDK.

// Who may open the card, who may work it (the API's followupRoles and
// poolRoles), and who may use the sidebar.
var (
	cardRoles    = []auth.Role{auth.RoleAdmin, auth.RoleManager, auth.RoleRep, auth.RoleMarketer}
	workRoles    = []auth.Role{auth.RoleAdmin, auth.RoleManager, auth.RoleRep}
	sidebarRoles = []auth.Role{auth.RoleAdmin, auth.RoleManager, auth.RoleRep}
)

// afterCookie carries a write's read-your-writes token (the API's
// Siyu-Write-Token) from a form post to the card it redirects to, whose
// reads send it as Siyu-Read-After: the rep sees their own write at once.
const (
	afterCookie = "siyu_after"
	afterMaxAge = 30 // seconds: a redirect follows at once
)

// timelinePage is how many events the card shows at a time.
const timelinePage = 20

// wecomSDK is the WeCom JS-SDK as scripts/assets copies it from npm.
const wecomSDK = "vendor/wecom-jssdk.js"

func (cons *Console) customerPages() []page {
	posts := map[string]fiber.Handler{
		"/stage":     cons.postStage,
		"/tags":      cons.postTags,
		"/followups": cons.postFollowup,
		"/claim":     cons.postClaim,
		"/release":   cons.postRelease,
		"/assign":    cons.postAssign,
	}
	return []page{
		{path: "/app/customers/:id", roles: cardRoles, get: cons.customerPage, posts: posts},
		{path: "/sidebar", roles: sidebarRoles, get: cons.sidebarPage},
	}
}

// card is what the customer templates show.
type card struct {
	ID       string
	Profile  *cdp.Profile
	Timeline []timelineEntry
	Next     string    // the next timeline page's address ("" on the last)
	Stages   []option  // the tenant's, in order
	Stage    string    // the customer's, as the page says it
	Addable  []cdp.Tag // library tags not on the customer
	Channels []string
	Work     bool // the forms of followupRoles and poolRoles
	Sidebar  bool
	Self     string // the card's own address (forms come back here)
	Action   string // where the card's forms post (+ /stage, /tags...)
	Facts    facts
	Pool     poolActions
	Now      string // a datetime-local default for "next follow-up"
	Refused  []followup.Refusal
}

// assignment is the profile's assignment (GET /v1/customers/{id}): in the
// pool, or whose the customer is (a rep is told only when it is theirs).
type assignment struct {
	InPool   bool   `json:"in_pool"`
	Assignee string `json:"assignee"`
}

// poolActions are the pool's forms that apply to this customer and person,
// and what the card says of the customer's place.
type poolActions struct {
	State                  string // the assignment, as the page says it
	Claim, Release, Assign bool
	Assignee               string   // the assign form's default
	Staff                  []string // the assign form's suggestions: the customer's relations
}

// poolActionsOf decides the pool's forms: claim a customer in the pool
// (with a staff id to claim for); release one's own (a rep) or any
// assigned one (a manager or admin, who also assign). Without an
// assignment (a process serving no follow-ups) both claim and release are
// offered and the API decides.
func poolActionsOf(l Lang, u *sessionUser, a *assignment, relations []cdp.Relation) poolActions {
	manages := u.Role == auth.RoleManager || u.Role == auth.RoleAdmin
	var pa poolActions
	switch {
	case a == nil:
		pa.Claim, pa.Release = u.StaffID != "", true
	case a.InPool:
		pa.State, pa.Claim = l.T("customer.pool.in"), u.StaffID != ""
	case a.Assignee != "" && a.Assignee == u.StaffID:
		pa.State, pa.Release = l.T("customer.pool.mine"), true
	case a.Assignee != "":
		pa.State, pa.Release, pa.Assignee = l.F("customer.pool.held", a.Assignee), manages, a.Assignee
	default:
		pa.State = l.T("customer.pool.other")
	}
	pa.Assign = manages && a != nil
	for _, r := range relations {
		if !slices.Contains(pa.Staff, r.StaffID) {
			pa.Staff = append(pa.Staff, r.StaffID)
		}
	}
	return pa
}

// facts are the profile's times, zero for never (Lang.Time shows "—").
type facts struct {
	LastFollowup, NextFollowup, Added, LastIn, LastOut time.Time
}

func factsOf(p *cdp.Profile) facts {
	at := func(t *time.Time) time.Time {
		if t == nil {
			return time.Time{}
		}
		return *t
	}
	return facts{LastFollowup: at(p.Followup.LastAt), NextFollowup: at(p.Followup.NextAt),
		Added: at(p.Acquisition.AddedAt), LastIn: at(p.Chat.LastInboundAt), LastOut: at(p.Chat.LastOutboundAt)}
}

// timelineEntry is one event as the card says it.
type timelineEntry struct {
	At     time.Time
	Kind   string // a class: followup, stage, tag, chat, contact, pool
	Text   string
	Note   string
	NextAt time.Time // a follow-up's next time (zero: none)
	Staff  string
}

func (cons *Console) customerPage(c *fiber.Ctx) error {
	id := strings.Clone(c.Params("id"))
	return cons.showCard(c, id, false, "customer.title")
}

// sidebarPage is the card beside a WeCom chat: from ?contact= when given,
// else (inside WeCom) a page that asks the JS-SDK for the chat's customer.
func (cons *Console) sidebarPage(c *fiber.Ctx) error {
	if id := strings.TrimSpace(c.Query("contact")); id != "" {
		return cons.showCard(c, strings.Clone(id), true, "sidebar.title")
	}
	v := cons.viewOf(c, "sidebar.title")
	v.Bare = true
	v.Data = sidebarWait{WeCom: inWeCom(c), SDK: cons.assets.url(wecomSDK), Script: cons.assets.url("sidebar.js")}
	return cons.renderView(c, "customer_sidebar_wait", v)
}

// sidebarWait is the sidebar before it knows its customer.
type sidebarWait struct {
	WeCom       bool
	SDK, Script string // "" when not built in
}

// inWeCom reports whether the request comes from WeCom's built-in browser.
func inWeCom(c *fiber.Ctx) bool {
	return strings.Contains(strings.ToLower(c.Get(fiber.HeaderUserAgent)), "wxwork")
}

// showCard reads the card in one go (profile, timeline page, stages, tag
// library: concurrent in-process calls) and renders it.
func (cons *Console) showCard(c *fiber.Ctx, id string, sidebar bool, title string) error {
	v := cons.viewOf(c, title)
	v.Bare = sidebar
	cd, err := cons.readCard(c, id, c.Query("cursor"), sidebar)
	if err != nil {
		return cons.cardFailed(c, v, err)
	}
	v.Title = cardTitle(v.L, cd)
	v.Data = cd
	return cons.renderView(c, cardTemplate, v)
}

// cardTemplate is the card's template, the console's and the sidebar's
// (card.Sidebar tells its layout).
const cardTemplate = "customer_card"

func cardTitle(l Lang, cd *card) string {
	if cd.Profile.Name != "" {
		return cd.Profile.Name
	}
	return l.T("customer.title")
}

// cardFailed shows the API's 404 as "not yours or not there" (a rep cannot
// tell the two apart, by design), without anything of the customer.
func (cons *Console) cardFailed(c *fiber.Ctx, v *view, err error) error {
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		v.Title = v.L.T("customer.missing.title")
		v.Data = nil
		c.Status(http.StatusNotFound)
		return cons.renderView(c, "customer_missing", v)
	}
	return cons.fail(c, err)
}

// readCard calls the API for the card. A write token left by the last form
// post (afterCookie) makes the reads wait for that write.
func (cons *Console) readCard(c *fiber.Ctx, id, cursor string, sidebar bool) (*card, error) {
	u := userOf(c)
	cd := &card{ID: id, Sidebar: sidebar, Channels: followup.Channels,
		Work: slices.Contains(workRoles, u.Role),
		Self: cardPath(id, sidebar), Action: "/app/customers/" + url.PathEscape(id)}
	cd.Now = time.Now().In(reporting.Zone).Add(24*time.Hour).Format("2006-01-02") + "T10:00"
	cl := cons.clientOf(c)
	var hdr []string
	if token := c.Cookies(afterCookie); token != "" {
		hdr = []string{api.ReadAfterHeader, token}
		api.ExpireCookie(c, afterCookie, "/")
	}
	var (
		prof struct {
			cdp.Profile
			Assignment *assignment `json:"assignment"`
		}
		tl    followup.TimelinePage
		st    followup.StageList
		lib   struct{ Tags []cdp.Tag }
		cpath = "/v1/customers/" + url.PathEscape(id)
	)
	calls := []func() error{
		func() error {
			_, err := cl.do(fiber.MethodGet, cpath, url.Values{"include": {"assignment"}}, nil, &prof, hdr...)
			return err
		},
		func() error { return cl.get("/v1/tags", nil, &lib) },
	}
	if cd.Work {
		q := url.Values{"limit": {strconv.Itoa(timelinePage)}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		calls = append(calls,
			func() error { _, err := cl.do(fiber.MethodGet, cpath+"/timeline", q, nil, &tl, hdr...); return err },
			func() error { return cl.get("/v1/followups/stages", nil, &st) })
	}
	if err := together(calls...); err != nil {
		return nil, err
	}
	cd.Profile, cd.Facts = &prof.Profile, factsOf(&prof.Profile)
	l := langOf(c)
	cd.Pool = poolActionsOf(l, u, prof.Assignment, prof.Relations)
	for _, name := range st.Stages {
		cd.Stages = append(cd.Stages, option{Value: name, Label: l.Stage(name), Selected: name == prof.Stage})
	}
	cd.Stage = l.Stage(prof.Stage)
	cd.Addable = addableTags(lib.Tags, prof.Tags)
	names := tagNames(lib.Tags)
	for _, it := range tl.Items {
		cd.Timeline = append(cd.Timeline, describe(l, it, names))
	}
	if tl.NextCursor != "" {
		cd.Next = withQuery(cd.Self, "cursor", tl.NextCursor)
	}
	return cd, nil
}

// option is one choice of a select.
type option struct {
	Value, Label string
	Selected     bool
}

// cardPath is the card's own address, on the console or in the sidebar.
func cardPath(id string, sidebar bool) string {
	if sidebar {
		return "/sidebar?contact=" + url.QueryEscape(id)
	}
	return "/app/customers/" + url.PathEscape(id)
}

func withQuery(path, key, value string) string {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + key + "=" + url.QueryEscape(value)
}

func addableTags(lib []cdp.Tag, on []cdp.TagOn) []cdp.Tag {
	var out []cdp.Tag
	for _, t := range lib {
		if !t.Deleted && !slices.ContainsFunc(on, func(o cdp.TagOn) bool { return o.TagID == t.ID }) {
			out = append(out, t)
		}
	}
	return out
}

func tagNames(lib []cdp.Tag) map[string]string {
	out := make(map[string]string, len(lib))
	for _, t := range lib {
		out[t.ID] = t.Name
	}
	return out
}

// eventData is what the card reads of a timeline event's data.
type eventData struct {
	StaffID   string          `json:"staff_id"`
	From      string          `json:"from_staff_id"`
	To        string          `json:"to_staff_id"`
	Reason    string          `json:"reason"`
	Direction string          `json:"direction"`
	MsgType   string          `json:"msg_type"`
	TagID     string          `json:"tag_id"`
	Channel   string          `json:"channel"`
	Note      string          `json:"note"`
	Stage     string          `json:"stage"`
	By        string          `json:"by"`
	NextAt    json.RawMessage `json:"next_at"`
}

// describe says an event in the page's language: who did what (Text),
// with what it carried (Note, Next).
func describe(l Lang, it followup.Item, tags map[string]string) timelineEntry {
	e := describeKey(it, tags)
	if e.Kind == "stage" {
		e.Note = l.Stage(e.Note)
	}
	who := e.Staff
	if who == "" {
		who = l.T("customer.someone")
	}
	if strings.Contains(l.T(e.Text), "%s") {
		e.Text = l.F(e.Text, who)
	} else {
		e.Text = l.T(e.Text)
	}
	return e
}

// describeKey is an event's phrase key (Text) and what it carried.
func describeKey(it followup.Item, tags map[string]string) timelineEntry {
	var d eventData
	_ = json.Unmarshal(it.Data, &d)
	staff := it.StaffID
	if staff == "" {
		staff = d.StaffID
	}
	e := timelineEntry{At: it.At, Staff: staff, Note: d.Note}
	switch it.Type {
	case "followup.logged":
		e.Kind, e.Text = "followup", "customer.ev.followup."+channelKey(d.Channel)
		e.NextAt = parseNextAt(d.NextAt)
	case "followup.stage_changed":
		e.Kind, e.Text, e.Note = "stage", "customer.ev.stage", d.Stage
	case "tag.added", "tag.removed":
		name := tags[d.TagID]
		if name == "" {
			name = d.TagID
		}
		e.Kind, e.Text, e.Note = "tag", "customer.ev."+strings.TrimPrefix(it.Type, "tag."), name
	case "chat.message":
		e.Kind, e.Text, e.Note = "chat", "customer.ev.chat.out", ""
		if d.Direction == "in" {
			e.Text = "customer.ev.chat.in"
		}
	case "contact.added", "contact.updated", "contact.transferred":
		e.Kind, e.Text = "contact", "customer.ev."+it.Type
		if it.Type == "contact.transferred" {
			e.Staff = d.From + " → " + d.To
		}
	case "contact.removed":
		e.Kind, e.Text = "contact", "customer.ev.contact.removed"
		if d.By == "customer" {
			e.Text = "customer.ev.contact.removed.by_customer"
		}
	case "assignee.changed":
		e.Kind, e.Text = "pool", "customer.ev.assignee.released"
		if d.To != "" {
			e.Text, e.Staff = "customer.ev.assignee.to", d.To
		}
		if d.Reason != "" {
			e.Note = strings.TrimSpace(d.Reason + " " + d.Note)
		}
	default:
		e.Kind, e.Text, e.Note = "other", "customer.ev.other", it.Type
	}
	return e
}

func channelKey(ch string) string {
	if slices.Contains(followup.Channels, ch) {
		return ch
	}
	return "other"
}

// parseNextAt reads next_at as the data carries it: an RFC 3339 string or
// Unix nanoseconds.
func parseNextAt(raw json.RawMessage) time.Time {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		t, _ := time.Parse(time.RFC3339Nano, s)
		return t
	}
	var ns int64
	if json.Unmarshal(raw, &ns) == nil && ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// The forms. Each posts to the API with the person's session, keeps the
// write token for the next read, and goes back to the card it came from
// (the console's or the sidebar's: the hidden field "from").

func (cons *Console) formTarget(c *fiber.Ctx) (id, self string) {
	id = strings.Clone(c.Params("id"))
	return id, cardPath(id, c.FormValue("from") == "sidebar")
}

// written keeps a write's token for the card's next read.
func written(c *fiber.Ctx, token string) {
	if token == "" {
		return
	}
	c.Cookie(&fiber.Cookie{Name: afterCookie, Value: token, Path: "/", MaxAge: afterMaxAge,
		HTTPOnly: true, Secure: c.Secure(), SameSite: fiber.CookieSameSiteLaxMode})
}

// write sends one form's API call; a refusal is shown on the card beside
// the form (field), the card read afresh.
func (cons *Console) write(c *fiber.Ctx, method, path string, body any, out any, notice string) error {
	id, self := cons.formTarget(c)
	resp, err := cons.clientOf(c).do(method, path, nil, body, out)
	if resp != nil {
		written(c, string(resp.Header.Peek(api.WriteTokenHeader)))
	}
	if err != nil {
		return cons.cardWithError(c, id, err)
	}
	return back(c, self, notice)
}

// cardWithError re-renders the card with the API's refusal.
func (cons *Console) cardWithError(c *fiber.Ctx, id string, err error) error {
	sidebar := c.FormValue("from") == "sidebar"
	v := cons.viewOf(c, "customer.title")
	v.Bare = sidebar
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		return cons.cardFailed(c, v, err)
	}
	formError(v, err)
	cd, rerr := cons.readCard(c, id, "", sidebar)
	if rerr != nil {
		return cons.cardFailed(c, v, rerr)
	}
	v.Title, v.Data = cardTitle(v.L, cd), cd
	if ae != nil {
		c.Status(ae.Status)
	}
	return cons.renderView(c, cardTemplate, v)
}

func (cons *Console) postStage(c *fiber.Ctx) error {
	id := c.Params("id")
	return cons.write(c, fiber.MethodPut, "/v1/customers/"+url.PathEscape(id)+"/stage",
		map[string]string{"stage": c.FormValue("stage")}, nil, "customer.stage.saved")
}

// postTags adds the chosen tag (add=) or removes one (remove=).
func (cons *Console) postTags(c *fiber.Ctx) error {
	id := c.Params("id")
	body := map[string][]string{}
	if t := c.FormValue("add"); t != "" {
		body["add"] = []string{t}
	}
	if t := c.FormValue("remove"); t != "" {
		body["remove"] = []string{t}
	}
	notice := "customer.tags.added"
	if len(body["remove"]) > 0 {
		notice = "customer.tags.removed"
	}
	return cons.write(c, fiber.MethodPost, "/v1/customers/"+url.PathEscape(id)+"/tags", body, nil, notice)
}

// postFollowup logs a follow-up; "next" is a datetime-local value, a time
// in the reporting zone.
func (cons *Console) postFollowup(c *fiber.Ctx) error {
	id := c.Params("id")
	body := map[string]string{"channel": c.FormValue("channel"), "note": c.FormValue("note")}
	if next := strings.TrimSpace(c.FormValue("next")); next != "" {
		t, err := parseLocal(next)
		if err != nil {
			return cons.cardWithError(c, strings.Clone(id), &apiError{Status: http.StatusBadRequest, Code: "invalid",
				Field: "next", Message: langOf(c).T("customer.followup.badnext")})
		}
		body["next_at"] = t.Format(time.RFC3339)
	}
	return cons.write(c, fiber.MethodPost, "/v1/customers/"+url.PathEscape(id)+"/followups", body, nil, "customer.followup.saved")
}

// parseLocal reads a datetime-local value ("2006-01-02T15:04", seconds
// optional) in the reporting zone.
func parseLocal(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, reporting.Zone); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("not a datetime-local value")
}

// claimAnswer is POST /v1/pool/claim's answer.
type claimAnswer struct {
	Claimed []string           `json:"claimed"`
	Refused []followup.Refusal `json:"refused"`
}

// postClaim claims the customer from the pool; a refusal shows the rule
// that refused it.
func (cons *Console) postClaim(c *fiber.Ctx) error {
	id, self := cons.formTarget(c)
	var out claimAnswer
	resp, err := cons.clientOf(c).do(fiber.MethodPost, "/v1/pool/claim", nil, map[string][]string{"customer_ids": {id}}, &out)
	if resp != nil {
		written(c, string(resp.Header.Peek(api.WriteTokenHeader)))
	}
	if err != nil {
		return cons.cardWithError(c, id, err)
	}
	if len(out.Refused) == 0 {
		return back(c, self, "customer.claimed")
	}
	sidebar := c.FormValue("from") == "sidebar"
	v := cons.viewOf(c, "customer.title")
	v.Bare = sidebar
	cd, err := cons.readCard(c, id, "", sidebar)
	if err != nil {
		return cons.cardFailed(c, v, err)
	}
	cd.Refused = out.Refused
	v.Error, v.Field = v.L.T("customer.claim.refused"), "claim"
	v.Title, v.Data = cardTitle(v.L, cd), cd
	c.Status(http.StatusConflict)
	return cons.renderView(c, cardTemplate, v)
}

// postAssign makes a staff member the customer's assignee (managers).
func (cons *Console) postAssign(c *fiber.Ctx) error {
	id := c.Params("id")
	return cons.write(c, fiber.MethodPost, "/v1/customers/"+url.PathEscape(id)+"/assign",
		map[string]string{"staff_id": strings.TrimSpace(c.FormValue("staff_id"))}, nil, "customer.assigned")
}

func (cons *Console) postRelease(c *fiber.Ctx) error {
	id := c.Params("id")
	return cons.write(c, fiber.MethodPost, "/v1/customers/"+url.PathEscape(id)+"/release",
		map[string]string{"reason": c.FormValue("reason")}, nil, "customer.released")
}

var customerMessages = map[string]msg{
	"customer.title":                          {"客户", "Customer"},
	"customer.missing.title":                  {"找不到这个客户", "Customer not found"},
	"customer.missing":                        {"这个客户不存在，或者不是你的客户。只能查看由你负责或与你有企业微信好友关系的客户；需要接手时请联系主管。", "This customer does not exist or is not yours. You can open only customers assigned to you or you are WeCom friends with; ask your manager if you need to take this one over."},
	"customer.missing.sidebar":                {"请在企业微信的客户聊天侧边栏打开，或检查地址中的 ?contact= 客户 ID。", "Open this from a customer chat's sidebar in WeCom, or check the customer id in ?contact=."},
	"customer.back":                           {"返回", "Back"},
	"customer.channel":                        {"来源渠道", "Channel"},
	"customer.stage":                          {"阶段", "Stage"},
	"customer.stage.change":                   {"修改阶段", "Change stage"},
	"customer.stage.saved":                    {"阶段已更新。", "Stage changed."},
	"customer.stage.none":                     {"未设置", "Not set"},
	"customer.stage.new":                      {"新客户", "New"},
	"customer.stage.contacted":                {"已联系", "Contacted"},
	"customer.stage.qualified":                {"已确认需求", "Qualified"},
	"customer.stage.proposal":                 {"方案报价", "Proposal"},
	"customer.stage.won":                      {"已成交", "Won"},
	"customer.stage.lost":                     {"已流失", "Lost"},
	"customer.work":                           {"跟进客户", "Work this customer"},
	"customer.tags":                           {"标签", "Tags"},
	"customer.tags.none":                      {"暂无标签", "No tags"},
	"customer.tags.add":                       {"添加标签", "Add a tag"},
	"customer.tags.choose":                    {"选择标签", "Choose a tag"},
	"customer.tags.remove":                    {"移除标签 %s", "Remove tag %s"},
	"customer.tags.added":                     {"标签已添加。", "Tag added."},
	"customer.tags.removed":                   {"标签已移除。", "Tag removed."},
	"customer.tags.empty":                     {"标签库中没有可添加的标签。", "The tag library has no other tags to add."},
	"customer.followup.last":                  {"上次跟进", "Last follow-up"},
	"customer.followup.next":                  {"下次跟进", "Next follow-up"},
	"customer.followup.count":                 {"跟进次数", "Follow-ups"},
	"customer.followup.log":                   {"记录跟进", "Log a follow-up"},
	"customer.followup.channel":               {"跟进方式", "How"},
	"customer.followup.note":                  {"跟进内容", "Note"},
	"customer.followup.nextat":                {"下次跟进时间（北京时间）", "Next follow-up (reporting time zone)"},
	"customer.followup.submit":                {"保存跟进", "Save follow-up"},
	"customer.followup.saved":                 {"跟进已记录。", "Follow-up logged."},
	"customer.followup.badnext":               {"下次跟进时间格式不对：请用日期时间选择器选择。", "The next follow-up time is not a date and time: pick one with the date picker."},
	"customer.messages":                       {"消息", "Messages"},
	"customer.messages.in":                    {"客户发来", "From the customer"},
	"customer.messages.out":                   {"我方发出", "To the customer"},
	"customer.messages.7d":                    {"近 7 天", "Last 7 days"},
	"customer.messages.30d":                   {"近 30 天", "Last 30 days"},
	"customer.messages.all":                   {"全部", "All time"},
	"customer.messages.lastin":                {"客户最后发言", "Customer last wrote"},
	"customer.ids":                            {"合并的 ID", "Merged ids"},
	"customer.phone":                          {"手机", "Phone"},
	"customer.corp":                           {"企业", "Company"},
	"customer.added":                          {"添加时间", "Added"},
	"customer.relations":                      {"跟进人", "Held by"},
	"customer.engagement":                     {"活跃度", "Engagement"},
	"customer.lost":                           {"已流失（无好友关系）", "Lost (no WeCom friend left)"},
	"customer.timeline":                       {"动态", "Timeline"},
	"customer.timeline.none":                  {"暂无动态。", "Nothing yet."},
	"customer.timeline.older":                 {"更早的动态", "Older events"},
	"customer.timeline.next":                  {"下次：%s", "next: %s"},
	"customer.pool":                           {"公海", "Pool"},
	"customer.claim":                          {"从公海领取", "Claim from the pool"},
	"customer.claimed":                        {"已领取。", "Claimed."},
	"customer.claim.refused":                  {"未能领取：", "Not claimed:"},
	"customer.claim.rule":                     {"规则 %s：%s", "Rule %s: %s"},
	"customer.release":                        {"放回公海", "Release to the pool"},
	"customer.release.reason":                 {"放回原因", "Reason"},
	"customer.release.confirm":                {"确定把这个客户放回公海吗？", "Release this customer to the pool?"},
	"customer.released":                       {"已放回公海。", "Released to the pool."},
	"customer.pool.in":                        {"在公海中，尚无负责人。", "In the pool: nobody is assigned."},
	"customer.pool.mine":                      {"由你负责。", "Assigned to you."},
	"customer.pool.held":                      {"负责人：%s", "Assigned to %s."},
	"customer.pool.other":                     {"已由其他同事负责：不能领取或放回。", "Assigned to a colleague: you cannot claim or release it."},
	"customer.assign":                         {"分配给", "Assign to"},
	"customer.assign.staff":                   {"员工 ID", "Staff id"},
	"customer.assign.submit":                  {"分配", "Assign"},
	"customer.assigned":                       {"已分配。", "Assigned."},
	"customer.readonly":                       {"你的角色只能查看客户。", "Your role can read customers only."},
	"customer.ev.followup.call":               {"%s 电话跟进", "%s called"},
	"customer.ev.followup.visit":              {"%s 上门拜访", "%s visited"},
	"customer.ev.followup.wechat":             {"%s 微信跟进", "%s followed up on WeChat"},
	"customer.ev.followup.meeting":            {"%s 会面", "%s met the customer"},
	"customer.ev.followup.other":              {"%s 记录了跟进", "%s logged a follow-up"},
	"customer.ev.stage":                       {"%s 修改了阶段", "%s changed the stage"},
	"customer.ev.added":                       {"%s 添加了标签", "%s added a tag"},
	"customer.ev.removed":                     {"%s 移除了标签", "%s removed a tag"},
	"customer.ev.chat.in":                     {"客户给 %s 发了消息", "The customer wrote to %s"},
	"customer.ev.chat.out":                    {"%s 发了消息", "%s sent a message"},
	"customer.ev.contact.added":               {"%s 添加了客户", "%s added the customer"},
	"customer.ev.contact.updated":             {"%s 更新了客户资料", "%s updated the customer's details"},
	"customer.ev.contact.transferred":         {"客户在跟进人之间转移（%s）", "The customer was transferred (%s)"},
	"customer.ev.contact.removed":             {"%s 删除了客户", "%s deleted the customer"},
	"customer.ev.contact.removed.by_customer": {"客户删除了 %s", "The customer deleted %s"},
	"customer.ev.assignee.released":           {"客户回到公海", "The customer went back to the pool"},
	"customer.ev.assignee.to":                 {"客户分配给 %s", "The customer was assigned to %s"},
	"customer.ev.other":                       {"其他事件", "Other event"},
	"customer.channel.call":                   {"电话", "Call"},
	"customer.channel.visit":                  {"拜访", "Visit"},
	"customer.channel.wechat":                 {"微信", "WeChat"},
	"customer.channel.meeting":                {"会面", "Meeting"},
	"customer.channel.other":                  {"其他", "Other"},
	"customer.someone":                        {"某人", "someone"},
	"login.wecom.notenant":                    {"请填写企业 ID（租户）后再用企业微信登录。", "Enter your company's tenant id, then sign in with WeCom."},
	"login.wecom.stale":                       {"企业微信登录已过期或不是从本浏览器发起的：请重新点击“企业微信扫码登录”。", "This WeCom sign-in expired or was not started in this browser: start it again."},
	"login.wecom.cancelled":                   {"企业微信没有完成登录（可能已取消）：请重试。", "WeCom did not finish the sign-in (perhaps it was cancelled): try again."},
	"sidebar.title":                           {"客户侧边栏", "Customer sidebar"},
	"sidebar.finding":                         {"正在识别当前聊天的客户…", "Finding this chat's customer…"},
	"sidebar.outside":                         {"这个侧边栏需要知道是哪位客户：请在企业微信的客户聊天侧边栏中打开，或在地址后加上 ?contact=客户ID。", "This sidebar needs to know the customer: open it from a customer chat's sidebar in WeCom, or add ?contact=<customer id> to the address."},
	"sidebar.nosdk":                           {"企业微信 JS-SDK 未随本服务安装（运行 scripts/assets 后重新构建），暂时无法识别当前客户。可在地址后加上 ?contact=客户ID 打开。", "The WeCom JS-SDK is not built into this server (run scripts/assets and rebuild), so the chat's customer cannot be found. Add ?contact=<customer id> to the address instead."},
	"sidebar.failed":                          {"无法从企业微信获取当前客户：请确认在客户单聊的侧边栏中打开，且管理员已在企业微信设置中配置应用的 AgentID 和 Secret。也可在地址后加上 ?contact=客户ID。", "WeCom did not give this chat's customer: open the sidebar from a one-to-one customer chat, and ask an admin to set the app's agent id and secret in the WeCom settings. Or add ?contact=<customer id> to the address."},
	"sidebar.contact":                         {"客户 ID", "Customer id"},
	"sidebar.open":                            {"打开", "Open"},
	"sidebar.console":                         {"在控制台中打开", "Open in the console"},
}
