package console

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-dev/siyu/auth"
	"github.com/siyu-dev/siyu/followup"
)

// teamRoles open the manager's pages.
var teamRoles = []auth.Role{auth.RoleManager, auth.RoleAdmin}

// teamPages are the manager's pages: the team, its funnel and statistics,
// assignments and transfers, and hand-overs with their preview.
func (cons *Console) teamPages() []page {
	return []page{
		{path: "/app/team", nav: "nav.team", roles: teamRoles, get: cons.teamPage,
			posts: map[string]fiber.Handler{"/assign": cons.assignPost, "/transfer": cons.transferPost}},
		{path: "/app/team/handover", roles: teamRoles, get: cons.handoverPage, parent: "/app/team",
			posts: map[string]fiber.Handler{"": cons.handoverPost}},
	}
}

// teamData is /app/team.
type teamData struct {
	ManagerID, From, To string
	AskManager          bool // an admin (or a manager without a staff id) names the manager
	Members             []string
	Digest              *digest
	Rows                []teamRow
	Funnel              *followup.Funnel
	Bars                []funnelBar
	Height              int
	Stats               *stats
	StatsPage           statsPage
	// Sections whose answer did not come within sectionBudget (a large
	// tenant's memory still loading after a restart): shown as loading and
	// fetched again by the page (console.js, data-pending).
	DigestPending, FunnelPending, StatsPending bool
	Transfer                                   *transferResult
	TransferRefused                            []refusal
	Form                                       map[string]string // the values of the form that failed
}

// teamRow is one rep of the team with their day's counts.
type teamRow struct {
	StaffID      string
	Due, Overdue int
	Board        string // the rep's board on /app/day
}

// teamRows are the team's members (or, without a team, the digest's reps)
// with their due and overdue counts.
func teamRows(members []string, dg *digest) []teamRow {
	counts := map[string]followup.RepDigest{}
	var ids []string
	for _, r := range dg.Reps {
		counts[r.StaffID] = r
		ids = append(ids, r.StaffID)
	}
	if members != nil {
		ids = members
	}
	out := make([]teamRow, len(ids))
	for i, id := range ids {
		out[i] = teamRow{StaffID: id, Due: counts[id].DueCount, Overdue: counts[id].OverdueCount,
			Board: dayHref(followup.ViewDueToday, "", id, "")}
	}
	return out
}

// statsRowsPerPage is how many (rep, day) rows of statistics the team page
// shows at a time: a large team's week is thousands.
const statsRowsPerPage = 100

// statsPage is the page of statistics rows shown (stats_page, from 1).
type statsPage struct {
	Rows               []followup.RepDay
	First, Last, Total int // rows First..Last of Total, from 1
	Prev, Next         string
}

// pageOfStats is the page of days that stats_page asks for; a stats_page
// that is not a whole number from 1 is refused, one past the end is empty.
func pageOfStats(c *fiber.Ctx, days []followup.RepDay) (statsPage, error) {
	n := 1
	if raw := c.Query("stats_page"); raw != "" {
		v, err := strconv.Atoi(raw)
		if err != nil || v < 1 {
			return statsPage{}, &apiError{Status: http.StatusBadRequest, Code: "bad_request", Field: "stats_page",
				Message: "stats_page is a page number from 1"}
		}
		n = v
	}
	p := statsPage{Total: len(days)}
	lo := min((n-1)*statsRowsPerPage, len(days))
	hi := min(lo+statsRowsPerPage, len(days))
	p.Rows = days[lo:hi]
	if hi > lo {
		p.First, p.Last = lo+1, hi
	}
	if n > 1 {
		p.Prev = requestWith(c, "stats_page", strconv.Itoa(max(1, min(n-1, (len(days)+statsRowsPerPage-1)/statsRowsPerPage)))) + "#team-stats"
	}
	if hi < len(days) {
		p.Next = requestWith(c, "stats_page", strconv.Itoa(n+1)) + "#team-stats"
	}
	return p, nil
}

// requestWith is the request's path and query with key set to value.
func requestWith(c *fiber.Ctx, key, value string) string {
	q := url.Values{}
	c.Context().QueryArgs().VisitAll(func(k, v []byte) { q.Add(string(k), string(v)) })
	q.Set(key, value)
	return c.Path() + "?" + q.Encode()
}

// stats is GET /v1/followups/stats.
type stats struct {
	From string            `json:"from"`
	To   string            `json:"to"`
	Days []followup.RepDay `json:"days"`
}

// transferResult is POST /v1/customers/transfer's answer.
type transferResult struct {
	From        string             `json:"from"`
	To          string             `json:"to"`
	Transferred []string           `json:"transferred"`
	Refused     []followup.Refusal `json:"refused"`
}

// funnelBar is one stage of the funnel chart, laid out for the SVG.
type funnelBar struct {
	Stage       string
	Count       int
	Y, W, TextY int
	CountX      int
}

// The funnel chart's geometry (SVG user units).
const (
	barLabel = 150 // the stage names' column
	barMax   = 380 // the widest bar
	barStep  = 30  // one row
	barThick = 20
)

// funnelBars lays out the funnel's current counts as bars, the largest
// full width.
func funnelBars(f *followup.Funnel) ([]funnelBar, int) {
	top := 0
	for _, s := range f.Current {
		top = max(top, s.Count)
	}
	out := make([]funnelBar, len(f.Current))
	for i, s := range f.Current {
		w := 0
		if top > 0 {
			w = s.Count * barMax / top
		}
		if s.Count > 0 {
			w = max(w, 2)
		}
		y := i*barStep + 4
		out[i] = funnelBar{Stage: s.Stage, Count: s.Count, Y: y, W: w, TextY: y + barThick - 5, CountX: barLabel + w + 6}
	}
	return out, len(f.Current)*barStep + 8
}

func (cons *Console) teamPage(c *fiber.Ctx) error {
	v := cons.viewOf(c, "team.title")
	d, err := cons.teamData(c)
	if err != nil {
		return cons.fail(c, err)
	}
	v.Data = d
	return cons.renderView(c, "team_team", v)
}

// teamData reads the team page's answers; a refusal of the team (an admin
// naming no manager) is no error: the page asks for one.
func (cons *Console) teamData(c *fiber.Ctx) (*teamData, error) {
	u := userOf(c)
	cl := cons.clientOf(c)
	d := &teamData{ManagerID: c.Query("manager_id"), From: c.Query("from"), To: c.Query("to"),
		AskManager: u.Role == auth.RoleAdmin || u.StaffID == "", Form: map[string]string{}}
	tq := url.Values{}
	if d.ManagerID != "" && d.AskManager {
		tq.Set("manager_id", d.ManagerID)
	}
	if !d.AskManager || d.ManagerID != "" {
		var tm team
		if err := cl.get("/v1/followups/team", tq, &tm); err != nil {
			return nil, err
		}
		d.ManagerID, d.Members = tm.ManagerID, tm.Members
	}
	period := url.Values{}
	if d.From != "" {
		period.Set("from", d.From)
	}
	if d.To != "" {
		period.Set("to", d.To)
	}
	d.Digest, d.Funnel, d.Stats = &digest{}, &followup.Funnel{}, &stats{}
	sec, done := cl.within(sectionBudget)
	defer done()
	err := together(
		func() error { return pending(sec.get("/v1/followups/digest", nil, d.Digest), &d.DigestPending) },
		func() error { return pending(sec.get("/v1/followups/funnel", period, d.Funnel), &d.FunnelPending) },
		func() error { return pending(sec.get("/v1/followups/stats", period, d.Stats), &d.StatsPending) },
	)
	if err != nil {
		return nil, err
	}
	if d.FunnelPending {
		d.Funnel.From, d.Funnel.To = d.From, d.To
	}
	if d.StatsPending {
		d.Stats.From, d.Stats.To = d.From, d.To
	}
	if d.StatsPage, err = pageOfStats(c, d.Stats.Days); err != nil {
		return nil, err
	}
	d.Rows = teamRows(d.Members, d.Digest)
	d.Bars, d.Height = funnelBars(d.Funnel)
	return d, nil
}

// teamRefusal shows the team page with the API's refusal of a form beside
// it (and the form's values kept), or the error page for anything else.
func (cons *Console) teamRefusal(c *fiber.Ctx, v *view, err error, form map[string]string) error {
	var ae *apiError
	if !errors.As(err, &ae) || ae.Status >= http.StatusInternalServerError {
		return cons.fail(c, err)
	}
	d, derr := cons.teamData(c)
	if derr != nil {
		return cons.fail(c, derr)
	}
	d.Form = form
	formError(v, err)
	v.Data = d
	c.Status(ae.Status)
	return cons.renderView(c, "team_team", v)
}

// assignPost makes a staff member a customer's assignee.
func (cons *Console) assignPost(c *fiber.Ctx) error {
	form := map[string]string{"customer_id": strings.TrimSpace(c.FormValue("customer_id")), "staff_id": strings.TrimSpace(c.FormValue("staff_id"))}
	v := cons.viewOf(c, "team.title")
	if form["customer_id"] == "" {
		return cons.teamRefusal(c, v, &apiError{Status: http.StatusBadRequest, Field: "customer_id", Message: v.L.T("team.assign.need")}, form)
	}
	err := cons.clientOf(c).send(http.MethodPost, "/v1/customers/"+url.PathEscape(form["customer_id"])+"/assign",
		map[string]string{"staff_id": form["staff_id"]}, nil)
	if err != nil {
		return cons.teamRefusal(c, v, err, form)
	}
	return back(c, "/app/team", "team.assigned")
}

// transferPost moves customers between reps and shows what moved and
// each refusal's rule (WeCom's 2 transfers per customer in 90 days).
func (cons *Console) transferPost(c *fiber.Ctx) error {
	form := map[string]string{"from": strings.TrimSpace(c.FormValue("from")), "to": strings.TrimSpace(c.FormValue("to")),
		"customer_ids": c.FormValue("customer_ids")}
	v := cons.viewOf(c, "team.title")
	var res transferResult
	err := cons.clientOf(c).send(http.MethodPost, "/v1/customers/transfer",
		map[string]any{"from": form["from"], "to": form["to"], "customer_ids": formIDs(c, "customer_ids")}, &res)
	if err != nil {
		return cons.teamRefusal(c, v, err, form)
	}
	d, err := cons.teamData(c)
	if err != nil {
		return cons.fail(c, err)
	}
	d.Transfer, d.TransferRefused = &res, refusalsIn(v.L, res.Refused)
	if len(res.Transferred) > 0 {
		v.Notice = v.L.F("team.transferred", len(res.Transferred))
	}
	v.Data = d
	return cons.renderView(c, "team_team", v)
}

// handoverData is /app/team/handover: the preview, then the result.
type handoverData struct {
	StaffID, Successor string
	Moves              []string
	Moved              []string
	Done               bool
}

// handoverPage previews who goes where before a hand-over is confirmed
// (GET /v1/staff/{id}/handover-preview).
func (cons *Console) handoverPage(c *fiber.Ctx) error {
	v := cons.viewOf(c, "handover.title")
	d := &handoverData{StaffID: strings.TrimSpace(c.Query("staff_id")), Successor: strings.TrimSpace(c.Query("successor"))}
	v.Data = d
	if d.StaffID == "" {
		return cons.renderView(c, "team_handover", v)
	}
	q := url.Values{}
	if d.Successor != "" {
		q.Set("successor", d.Successor)
	}
	var p struct {
		Moves []string `json:"moves"`
	}
	if err := cons.clientOf(c).get("/v1/staff/"+url.PathEscape(d.StaffID)+"/handover-preview", q, &p); err != nil {
		var ae *apiError
		if !errors.As(err, &ae) || ae.Status >= http.StatusInternalServerError {
			return cons.fail(c, err)
		}
		formError(v, err)
		c.Status(ae.Status)
		d.Moves = nil
		return cons.renderView(c, "team_handover", v)
	}
	d.Moves = p.Moves
	return cons.renderView(c, "team_handover", v)
}

// handoverPost records the departure and hands the customers over.
func (cons *Console) handoverPost(c *fiber.Ctx) error {
	v := cons.viewOf(c, "handover.title")
	d := &handoverData{StaffID: strings.TrimSpace(c.FormValue("staff_id")), Successor: strings.TrimSpace(c.FormValue("successor"))}
	v.Data = d
	body := map[string]string{}
	if d.Successor != "" {
		body["successor"] = d.Successor
	}
	var res struct {
		Moved []string `json:"moved"`
	}
	if d.StaffID == "" {
		v.Error, v.Field = v.L.T("handover.need"), "staff_id"
		c.Status(http.StatusBadRequest)
		return cons.renderView(c, "team_handover", v)
	}
	if err := cons.clientOf(c).send(http.MethodPost, "/v1/staff/"+url.PathEscape(d.StaffID)+"/depart", body, &res); err != nil {
		var ae *apiError
		if !errors.As(err, &ae) || ae.Status >= http.StatusInternalServerError {
			return cons.fail(c, err)
		}
		formError(v, err)
		c.Status(ae.Status)
		return cons.renderView(c, "team_handover", v)
	}
	d.Moved, d.Done = res.Moved, true
	v.Notice = v.L.F("handover.done", len(res.Moved))
	return cons.renderView(c, "team_handover", v)
}

var teamMessages = map[string]msg{
	"nav.team":              {"团队", "Team"},
	"team.title":            {"团队", "Team"},
	"team.manager":          {"主管（员工 ID）", "Manager (staff id)"},
	"team.manager.show":     {"查看团队", "Show the team"},
	"team.manager.ask":      {"填写主管的员工 ID 查看其团队；漏斗与统计为全公司。", "Name a manager's staff id to see their team; the funnel and statistics cover the whole tenant."},
	"team.members":          {"团队成员", "Team members"},
	"team.members.of":       {"主管 %s 的团队", "Team of manager %s"},
	"team.members.none":     {"这个团队还没有成员。", "This team has no members yet."},
	"team.board":            {"看板", "Board"},
	"team.col.rep":          {"销售", "Rep"},
	"team.col.due":          {"今日到期", "Due today"},
	"team.col.overdue":      {"已逾期", "Overdue"},
	"team.period":           {"统计区间", "Period"},
	"team.from":             {"开始日期", "From"},
	"team.to":               {"结束日期", "To"},
	"team.period.show":      {"更新", "Update"},
	"team.funnel":           {"阶段漏斗（%s 至 %s）", "Stage funnel (%s to %s)"},
	"team.funnel.current":   {"各阶段当前客户数", "Customers at each stage now"},
	"team.funnel.conv":      {"阶段转化", "Stage conversions"},
	"team.funnel.entered":   {"进入", "Entered"},
	"team.funnel.reached":   {"之后到达", "Later reached"},
	"team.funnel.none":      {"这段时间没有阶段变化。", "No stage changes in this period."},
	"team.stats":            {"销售统计（%s 至 %s）", "Rep statistics (%s to %s)"},
	"team.stats.none":       {"这段时间没有统计数据。", "No statistics for this period."},
	"team.stats.rows":       {"第 %d–%d 行，共 %d 行", "Rows %d–%d of %d"},
	"team.stats.prev":       {"上一页", "Previous"},
	"team.stats.next":       {"下一页", "Next"},
	"team.stats.past":       {"这一页没有数据。", "Nothing on this page."},
	"team.stats.defs":       {"指标说明（与企业微信「联系客户统计」一致）", "What the columns mean (as WeCom's customer contact statistics)"},
	"stat.day":              {"日期", "Day"},
	"stat.chat_cnt":         {"聊天数", "Chats"},
	"stat.chat_cnt.d":       {"销售主动发送过至少一条消息的客户（单聊）数。", "Customers (one-to-one chats) the rep sent at least one message to."},
	"stat.message_cnt":      {"发送消息数", "Messages sent"},
	"stat.message_cnt.d":    {"销售发出的消息条数。", "Messages the rep sent."},
	"stat.customer_chat":    {"客户主动发起", "Customer-initiated chats"},
	"stat.customer_chat.d":  {"当天第一条消息由客户发出的聊天数。", "Chats whose first message that day came from the customer."},
	"stat.reply_pct":        {"已回复聊天占比", "Replied chats %"},
	"stat.reply_pct.d":      {"客户主动发起的聊天中，销售当天回复的百分比；没有这类聊天时为“—”。", "Percent of customer-initiated chats the rep answered the same day; “—” without such chats."},
	"stat.avg_reply":        {"平均首次回复时长（分钟）", "Average first reply time (minutes)"},
	"stat.avg_reply.d":      {"客户首条消息到销售首次回复的平均分钟数，只计已回复的客户主动聊天。", "Minutes from the customer's first message to the rep's first reply, averaged over answered customer-initiated chats."},
	"stat.negative":         {"删除/拉黑销售的客户数", "Customers who removed the rep"},
	"stat.negative.d":       {"当天删除了该销售的客户数。", "Customers who deleted the rep that day."},
	"stat.new_contact":      {"新增客户数", "New customers"},
	"stat.new_contact.d":    {"当天新添加该销售为好友的客户数。", "Customers who added the rep that day."},
	"team.assign":           {"分配客户", "Assign a customer"},
	"team.assign.customer":  {"客户 ID", "Customer id"},
	"team.assign.staff":     {"分配给（员工 ID）", "Assign to (staff id)"},
	"team.assign.submit":    {"分配", "Assign"},
	"team.assign.need":      {"请填写客户 ID。", "Fill in the customer id."},
	"team.assigned":         {"已分配。", "Assigned."},
	"team.transfer":         {"在职转接", "Transfer customers"},
	"team.transfer.rule":    {"企业微信规定：每位客户 90 天内最多在职转接 2 次，超出的会被拒绝并注明原因。", "WeCom's rule: a customer may be transferred between serving reps at most twice in 90 days; more is refused, with the reason."},
	"team.transfer.from":    {"转出销售（员工 ID）", "From (staff id)"},
	"team.transfer.to":      {"接收销售（员工 ID）", "To (staff id)"},
	"team.transfer.ids":     {"客户 ID（用逗号或换行分隔）", "Customer ids (comma or line separated)"},
	"team.transfer.submit":  {"转接", "Transfer"},
	"team.transferred":      {"已转接 %d 位客户。", "Transferred %d customers."},
	"team.transfer.done":    {"已转接", "Transferred"},
	"team.transfer.refused": {"未能转接", "Not transferred"},
	"handover.title":        {"离职交接", "Hand over a departing rep"},
	"handover.intro":        {"离职销售名下的客户会全部交给接替人；不填接替人则退回公海。先预览，再确认。", "Every customer of the departing rep goes to the successor, or back to the pool without one. Preview first, then confirm."},
	"handover.staff":        {"离职销售（员工 ID）", "Departing rep (staff id)"},
	"handover.successor":    {"接替人（员工 ID，可留空）", "Successor (staff id, optional)"},
	"handover.preview":      {"预览交接", "Preview the hand-over"},
	"handover.moves":        {"将交接 %d 位客户给 %s：", "%d customers would go to %s:"},
	"handover.pool":         {"公海", "the pool"},
	"handover.to":           {"交给", "Goes to"},
	"handover.none":         {"这位销售名下没有客户，确认后只记录离职。", "This rep holds no customers; confirming only records the departure."},
	"handover.confirm":      {"确认交接", "Confirm the hand-over"},
	"handover.confirm.q":    {"确认离职交接？此操作不能撤销。", "Hand over now? This cannot be undone."},
	"handover.later":        {"确认时以当时名下的客户为准。", "Confirming moves the customers held at that moment."},
	"handover.done":         {"已交接 %d 位客户。", "Handed over %d customers."},
	"handover.need":         {"请填写离职销售的员工 ID。", "Fill in the departing rep's staff id."},
	"handover.open":         {"离职交接（先预览）", "Hand over a departing rep (preview first)"},
	"handover.back":         {"返回团队", "Back to the team"},
}
