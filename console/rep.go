package console

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-dev/siyu/auth"
	"github.com/siyu-dev/siyu/followup"
)

// repRoles open "my day" and the pool: reps for themselves, managers and
// admins for the reps the API lets them read.
var repRoles = []auth.Role{auth.RoleRep, auth.RoleManager, auth.RoleAdmin}

// repPages are the rep pages: the day (board, reminders, digest) and the
// customer pool.
func (cons *Console) repPages() []page {
	return []page{
		{path: "/app/day", nav: "nav.day", roles: repRoles, get: cons.dayPage},
		{path: "/app/pool", nav: "nav.pool", roles: repRoles, get: cons.poolPage,
			posts: map[string]fiber.Handler{"/claim": cons.claimPost}},
	}
}

// dayViews are the board's tabs, in order.
var dayViews = []string{followup.ViewDueToday, followup.ViewOverdue, followup.ViewUpcoming, followup.ViewRecent, followup.ViewAll}

// dayData is /app/day.
type dayData struct {
	View, Stage, StaffID string
	Tabs                 []dayTab
	Stages               []string
	Board                *followup.BoardPage
	Reminders            *reminders
	Soon                 []followup.DueEntry // the first reminders shown
	MoreSoon             int                 // the reminders not shown
	MoreHref             string              // where they are: the overdue view
	Digest               *digest
	NextPage             string
	Pick                 bool     // the person may pick a rep (manager, admin)
	Team                 []string // a manager's reps, for the picker
	Refused              bool     // the API refused the rep asked for: no data shown
}

// shownReminders is how many reminders the day lists; the rest are a link.
const shownReminders = 8

// dayTab is one of the board's views and its address.
type dayTab struct{ View, Href string }

// reminders is GET /v1/followups/reminders.
type reminders struct {
	StaffID   string              `json:"staff_id"`
	Until     time.Time           `json:"until"`
	Items     []followup.DueEntry `json:"items"`
	Truncated bool                `json:"truncated"`
}

// digest is GET /v1/followups/digest.
type digest struct {
	Date string               `json:"date"`
	Reps []followup.RepDigest `json:"reps"`
}

// team is GET /v1/followups/team.
type team struct {
	ManagerID string   `json:"manager_id"`
	Members   []string `json:"members"`
}

// dayHref is /app/day with the given view, stage, rep and cursor.
func dayHref(view, stage, staff, cursor string) string {
	q := url.Values{"view": {view}}
	if stage != "" {
		q.Set("stage", stage)
	}
	if staff != "" {
		q.Set("staff_id", staff)
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	return "/app/day?" + q.Encode()
}

func (cons *Console) dayPage(c *fiber.Ctx) error {
	u := userOf(c)
	cl := cons.clientOf(c)
	d := &dayData{View: c.Query("view", followup.ViewDueToday), Stage: c.Query("stage"), StaffID: c.Query("staff_id"),
		Pick: u.Role != auth.RoleRep}
	if !slices.Contains(followup.Views, d.View) {
		d.View = followup.ViewDueToday
	}
	for _, view := range dayViews {
		d.Tabs = append(d.Tabs, dayTab{View: view, Href: dayHref(view, d.Stage, d.StaffID, "")})
	}
	v := cons.viewOf(c, "day.title")
	v.Data = d
	q := url.Values{"view": {d.View}}
	who := url.Values{}
	if d.StaffID != "" {
		q.Set("staff_id", d.StaffID)
		who.Set("staff_id", d.StaffID)
	}
	if d.Stage != "" {
		q.Set("stage", d.Stage)
	}
	if cur := c.Query("cursor"); cur != "" {
		q.Set("cursor", cur)
	}
	rq := url.Values{"within": {"24h"}}
	if d.StaffID != "" {
		rq.Set("staff_id", d.StaffID)
	}
	var stages followup.StageList
	d.Board, d.Reminders, d.Digest = &followup.BoardPage{}, &reminders{}, &digest{}
	var boardErr error
	err := together(
		func() error { return cl.get("/v1/followups/stages", nil, &stages) },
		func() error {
			if u.Role == auth.RoleManager && u.StaffID != "" {
				var tm team
				if cl.get("/v1/followups/team", nil, &tm) == nil {
					d.Team = tm.Members
				}
			}
			return nil
		},
		func() error { boardErr = cl.get("/v1/followups/board", q, d.Board); return nil },
		func() error { return cl.get("/v1/followups/reminders", rq, d.Reminders) },
		func() error { return cl.get("/v1/followups/digest", who, d.Digest) },
	)
	if boardErr != nil {
		// The API's refusal (another rep's board, a rep outside the
		// team, a key without a staff id) is the page: nothing else.
		var ae *apiError
		if !errors.As(boardErr, &ae) || ae.Status >= http.StatusInternalServerError {
			return cons.fail(c, boardErr)
		}
		d.Board, d.Reminders, d.Digest, d.Refused = nil, nil, nil, true
		formError(v, boardErr)
		c.Status(ae.Status)
		return cons.renderView(c, "rep_day", v)
	}
	if err != nil {
		return cons.fail(c, err)
	}
	d.Stages = stages.Stages
	if d.Board.NextCursor != "" {
		d.NextPage = dayHref(d.View, d.Stage, d.StaffID, d.Board.NextCursor)
	}
	d.Soon = d.Reminders.Items[:min(len(d.Reminders.Items), shownReminders)]
	d.MoreSoon = len(d.Reminders.Items) - len(d.Soon)
	d.MoreHref = dayHref(followup.ViewOverdue, "", d.StaffID, "")
	return cons.renderView(c, "rep_day", v)
}

// poolData is /app/pool.
type poolData struct {
	Page     *followup.PoolPage
	Rules    followup.Rules
	NextPage string
	Claimed  []string
	Refused  []refusal
	CanClaim bool // the person has a staff id: a claim is for oneself
}

// refusal is a followup.Refusal with its rule in the person's language.
type refusal struct {
	followup.Refusal
	RuleText string
}

// refusalsIn names each refusal's rule in l (the API's reason beside it).
func refusalsIn(l Lang, rs []followup.Refusal) []refusal {
	out := make([]refusal, len(rs))
	for i, r := range rs {
		text := r.Rule
		if _, ok := catalog["rule."+r.Rule]; ok {
			text = l.T("rule." + r.Rule)
		}
		out[i] = refusal{Refusal: r, RuleText: text}
	}
	return out
}

func (cons *Console) poolPage(c *fiber.Ctx) error {
	v := cons.viewOf(c, "pool.title")
	d, err := cons.poolData(c)
	if err != nil {
		return cons.fail(c, err)
	}
	v.Data = d
	return cons.renderView(c, "rep_pool", v)
}

func (cons *Console) poolData(c *fiber.Ctx) (*poolData, error) {
	cl := cons.clientOf(c)
	d := &poolData{Page: &followup.PoolPage{}, CanClaim: userOf(c).StaffID != ""}
	q := url.Values{}
	if cur := c.Query("cursor"); cur != "" {
		q.Set("cursor", cur)
	}
	if err := cl.get("/v1/pool", q, d.Page); err != nil {
		return nil, err
	}
	if d.Page.NextCursor != "" {
		d.NextPage = "/app/pool?cursor=" + url.QueryEscape(d.Page.NextCursor)
	}
	if err := cl.get("/v1/pool/rules", nil, &d.Rules); err != nil {
		return nil, err
	}
	return d, nil
}

// claimResult is POST /v1/pool/claim's answer.
type claimResult struct {
	StaffID string             `json:"staff_id"`
	Claimed []string           `json:"claimed"`
	Refused []followup.Refusal `json:"refused"`
}

// formIDs are the ids of a form's repeated field name (and of one field
// listing them apart by commas, spaces or lines), in order, once each.
func formIDs(c *fiber.Ctx, name string) []string {
	var out []string
	for _, b := range c.Request().PostArgs().PeekMulti(name) {
		for _, id := range strings.FieldsFunc(string(b), func(r rune) bool {
			return r == ',' || r == '，' || r == ' ' || r == '\n' || r == '\r' || r == '\t'
		}) {
			if !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	return out
}

// claimPost claims the customers ticked (or the one button's) and shows
// the pool with what was claimed and each refusal's rule.
func (cons *Console) claimPost(c *fiber.Ctx) error {
	ids := formIDs(c, "customer_ids")
	v := cons.viewOf(c, "pool.title")
	var res claimResult
	err := cons.clientOf(c).send(http.MethodPost, "/v1/pool/claim", map[string]any{"customer_ids": ids}, &res)
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) || ae.Status >= http.StatusInternalServerError {
			return cons.fail(c, err)
		}
		formError(v, err)
		c.Status(ae.Status)
	}
	d, derr := cons.poolData(c)
	if derr != nil {
		return cons.fail(c, derr)
	}
	d.Claimed, d.Refused = res.Claimed, refusalsIn(v.L, res.Refused)
	if err == nil && len(res.Claimed) > 0 {
		v.Notice = v.L.F("pool.claimed", len(res.Claimed))
	}
	v.Data = d
	return cons.renderView(c, "rep_pool", v)
}

var repMessages = map[string]msg{
	"nav.day":                   {"我的一天", "My day"},
	"nav.pool":                  {"公海", "Pool"},
	"day.title":                 {"我的一天", "My day"},
	"day.view.due_today":        {"今日待跟进", "Due today"},
	"day.view.overdue":          {"已逾期", "Overdue"},
	"day.view.upcoming":         {"即将到期", "Upcoming"},
	"day.view.recent":           {"最近跟进", "Recent"},
	"day.view.all":              {"全部客户", "All customers"},
	"day.views":                 {"看板视图", "Board views"},
	"day.stage":                 {"阶段", "Stage"},
	"day.stage.all":             {"全部阶段", "Every stage"},
	"day.staff":                 {"销售（员工 ID）", "Rep (staff id)"},
	"day.staff.me":              {"留空：自己（或整个团队）", "Empty: yourself (or the team)"},
	"day.filter":                {"筛选", "Filter"},
	"day.board":                 {"客户", "Customers"},
	"day.board.of":              {"员工 %s 的看板", "Board of staff %s"},
	"day.col.customer":          {"客户", "Customer"},
	"day.col.stage":             {"阶段", "Stage"},
	"day.col.next":              {"下次跟进", "Next follow-up"},
	"day.col.last":              {"上次跟进", "Last follow-up"},
	"day.col.inbound":           {"客户最近消息", "Last customer message"},
	"day.empty":                 {"这个视图里没有客户。", "No customers in this view."},
	"day.reminders":             {"24 小时内的提醒", "Reminders in the next 24 hours"},
	"day.reminders.none":        {"24 小时内没有待跟进的客户。", "Nothing due in the next 24 hours."},
	"day.reminders.truncated":   {"只列出前 1000 条。", "Only the first 1,000 are listed."},
	"day.reminders.more":        {"还有 %d 条，查看已逾期", "%d more: see the overdue view"},
	"day.overdue":               {"逾期", "overdue"},
	"day.digest":                {"今日摘要（%s）", "Daily digest (%s)"},
	"day.digest.due":            {"今日到期", "Due today"},
	"day.digest.overdue":        {"已逾期", "Overdue"},
	"day.digest.none":           {"今天没有到期或逾期的跟进。", "Nothing due or overdue today."},
	"day.digest.rep":            {"销售", "Rep"},
	"day.times":                 {"时间均为报表时区（北京时间）。", "Times are in the reporting zone (Beijing time)."},
	"day.unnamed":               {"（未命名）", "(no name)"},
	"pool.title":                {"公海", "Customer pool"},
	"pool.rules":                {"公海规则", "Pool rules"},
	"pool.rule.max_hold":        {"每人最多持有客户数", "Most customers one rep holds"},
	"pool.rule.max_claims":      {"每人每天最多认领数", "Most claims per rep per day"},
	"pool.rule.recycle":         {"多少天未跟进自动回收", "Days without a follow-up before recycling"},
	"pool.rule.cooldown":        {"释放后多少天内不能再认领", "Days before a rep may claim back a customer they released"},
	"pool.rule.none":            {"不限", "No limit"},
	"pool.col.pick":             {"选择", "Select"},
	"pool.col.customer":         {"客户 ID", "Customer id"},
	"pool.col.since":            {"进入公海", "In the pool since"},
	"pool.col.last":             {"上次跟进", "Last follow-up"},
	"pool.col.action":           {"操作", "Action"},
	"pool.claim":                {"认领", "Claim"},
	"pool.claim.one":            {"认领 %s", "Claim %s"},
	"pool.claim.many":           {"认领所选客户", "Claim the selected customers"},
	"pool.claim.nostaff":        {"你的账号没有员工 ID，不能认领（主管请在团队页分配客户）。", "Your account has no staff id, so it cannot claim (managers assign customers on the team page)."},
	"pool.claimed":              {"已认领 %d 位客户。", "Claimed %d customers."},
	"pool.claimed.list":         {"已认领", "Claimed"},
	"pool.refused":              {"未能认领", "Not claimed"},
	"pool.empty":                {"公海里暂时没有客户。", "The pool is empty."},
	"rule.unknown_customer":     {"没有这个客户", "No such customer"},
	"rule.not_in_pool":          {"客户不在公海中（已有负责人）", "Not in the pool (someone holds the customer)"},
	"rule.max_hold":             {"已达持有上限", "Holding limit reached"},
	"rule.max_claims_per_day":   {"已达今日认领上限", "Daily claim limit reached"},
	"rule.cooldown":             {"释放后冷却期内不能认领", "Cool-down after a release"},
	"rule.not_assigned_to_from": {"客户不在转出人名下", "Not assigned to the rep it is moved from"},
	"rule.max_transfers_90d":    {"90 天内已转接 2 次（企业微信限制）", "Transferred twice in 90 days (WeCom's limit)"},
}
