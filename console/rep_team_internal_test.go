package console

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/require"
	"github.com/valyala/fasthttp"

	"github.com/siyu-dev/siyu/api"
	"github.com/siyu-dev/siyu/auth"
	"github.com/siyu-dev/siyu/followup"
)

// fakeAPI answers the console's calls with canned answers, by "METHOD
// /path", and records them: the pages' reading of the API without a
// database (the browser journeys walk the real one).
type fakeAPI struct {
	mu     sync.Mutex
	user   sessionUser
	routes map[string]func(q url.Values, body []byte) (int, any)
	calls  []string
}

func (f *fakeAPI) Call(_ context.Context, req *fasthttp.Request, _ net.Addr, resp *fasthttp.Response) {
	key := string(req.Header.Method()) + " " + string(req.URI().Path())
	q, _ := url.ParseQuery(string(req.URI().QueryString()))
	f.mu.Lock()
	f.calls = append(f.calls, key+"?"+q.Encode()+" "+string(req.Body()))
	h := f.routes[key]
	f.mu.Unlock()
	status, out := http.StatusNotFound, any(map[string]any{"error": map[string]string{"code": "not_found", "message": "no route " + key}})
	switch {
	case key == "GET /v1/sessions/current":
		status, out = http.StatusOK, f.user
	case h != nil:
		status, out = h(q, req.Body())
	}
	b, _ := json.Marshal(out)
	resp.SetStatusCode(status)
	resp.Header.SetContentType("application/json")
	resp.SetBody(b)
}

func (f *fakeAPI) called(prefix string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

func refusalOf(code, msg string) any {
	return map[string]any{"error": map[string]string{"code": code, "message": msg}}
}

func ok(v any) func(url.Values, []byte) (int, any) {
	return func(url.Values, []byte) (int, any) { return http.StatusOK, v }
}

// newFake is a console over a fake API for a user of role with staff id.
func newFake(t *testing.T, role, staff string) (*fiber.App, *fakeAPI) {
	t.Helper()
	next := time.Date(2026, 12, 6, 2, 30, 0, 0, time.UTC) // 10:30 in Shanghai
	f := &fakeAPI{user: sessionUser{Login: role + "@demo", Tenant: "demo", Name: role, Role: auth.Role(role), StaffID: staff, CSRF: "tok"}}
	f.routes = map[string]func(url.Values, []byte) (int, any){
		"GET /v1/followups/stages": ok(followup.StageList{Stages: []string{"new", "contacted", "won"}}),
		"GET /v1/followups/reminders": ok(reminders{StaffID: staff, Items: []followup.DueEntry{
			{StaffID: staff, ContactID: "c9", Name: "钱九", NextFollowupAt: next, Overdue: true}}}),
		"GET /v1/followups/digest": ok(digest{Date: "2026-12-06", Reps: []followup.RepDigest{{StaffID: "s1", DueCount: 3, OverdueCount: 1}}}),
		"GET /v1/followups/team":   ok(team{ManagerID: "m1", Members: []string{"s1", "s2"}}),
		"GET /v1/followups/funnel": ok(followup.Funnel{From: "2026-11-30", To: "2026-12-06", Stages: []string{"new", "won"},
			Current:     []followup.StageCount{{Stage: "new", Count: 8}, {Stage: "won", Count: 2}},
			Conversions: []followup.Conversion{{Stage: "new", Entered: 5, Reached: []followup.StageCount{{Stage: "won", Count: 1}}}}}),
		"GET /v1/followups/stats": ok(stats{From: "2026-11-30", To: "2026-12-06", Days: []followup.RepDay{{StaffID: "s1", Day: "2026-12-06", ChatCnt: 4, MessageCnt: 9}}}),
		"GET /v1/pool":            ok(followup.PoolPage{Items: []followup.PoolEntry{{ContactID: "p1"}, {ContactID: "p2"}}, NextCursor: "cur2"}),
		"GET /v1/pool/rules":      ok(followup.Rules{MaxHold: 50, MaxClaimsPerDay: 5}),
	}
	f.routes["GET /v1/followups/board"] = func(q url.Values, _ []byte) (int, any) {
		if s := q.Get("staff_id"); s != "" && f.user.Role == "rep" && s != staff {
			return http.StatusForbidden, refusalOf("forbidden", "a rep sees only their own follow-ups")
		}
		return http.StatusOK, followup.BoardPage{StaffID: staff, View: q.Get("view"), NextCursor: "next1",
			Items: []followup.BoardEntry{{ContactID: "c1", Name: "张三", Stage: "new", NextFollowupAt: &next}}}
	}
	cons, err := New(Deps{})
	require.NoError(t, err)
	app := fiber.New()
	cons.Mount(app, f)
	return app, f
}

// get fetches path as the fake's user and returns the status and body.
func get(t *testing.T, app *fiber.App, method, path string, form url.Values) (int, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		form.Set("csrf", "tok")
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.AddCookie(&http.Cookie{Name: api.SessionCookie, Value: "sess"})
	resp, err := app.Test(req, -1)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestDayPage(t *testing.T) {
	app, f := newFake(t, "rep", "s1")
	status, body := get(t, app, http.MethodGet, "/app/day?view=overdue&stage=new", nil)
	require.Equal(t, http.StatusOK, status, body)
	require.Contains(t, body, `href="/app/customers/c1"`)
	require.Contains(t, body, "张三")
	require.Contains(t, body, "2026-12-06 10:30", "times in the reporting zone")
	require.Contains(t, body, `data-test="view-overdue" aria-current="page"`)
	require.Contains(t, body, `<option value="new" selected>`)
	require.Contains(t, body, `href="/app/day?cursor=next1&amp;stage=new&amp;view=overdue"`, "the next page keeps the view and stage")
	require.Contains(t, body, "钱九")
	require.NotContains(t, body, `data-test="reminders-more"`, "one reminder: no link to more")
	require.NotContains(t, body, `id="day-staff"`, "a rep picks no rep")
	require.Equal(t, []string{"GET /v1/followups/board?stage=new&view=overdue "}, f.called("GET /v1/followups/board"))

	status, body = get(t, app, http.MethodGet, "/app/day?staff_id=s2", nil)
	require.Equal(t, http.StatusForbidden, status)
	require.Contains(t, body, "a rep sees only their own follow-ups")
	require.NotContains(t, body, "张三", "no data beside a refusal")
	// The page's calls go out together: the API walls each of them, and
	// nothing of them is shown beside the board's refusal.
}

func TestPoolPageClaims(t *testing.T) {
	app, f := newFake(t, "rep", "s1")
	f.routes["POST /v1/pool/claim"] = func(_ url.Values, body []byte) (int, any) {
		var req struct {
			CustomerIDs []string `json:"customer_ids"`
		}
		require.NoError(t, json.Unmarshal(body, &req))
		require.Equal(t, []string{"p1", "p2", "p3"}, req.CustomerIDs)
		return http.StatusOK, claimResult{StaffID: "s1", Claimed: []string{"p1"}, Refused: []followup.Refusal{
			{ContactID: "p2", Rule: followup.RuleMaxClaimsPerDay, Reason: "you claimed 5 customers today"},
			{ContactID: "p3", Rule: "new_rule", Reason: "a rule the console does not know"}}}
	}
	status, body := get(t, app, http.MethodGet, "/app/pool", nil)
	require.Equal(t, http.StatusOK, status, body)
	require.Contains(t, body, `href="/app/pool?cursor=cur2"`)
	require.Contains(t, body, "<dd>50</dd>")
	status, body = get(t, app, http.MethodPost, "/app/pool/claim", url.Values{"customer_ids": {"p1", "p2", "p1", "p3"}})
	require.Equal(t, http.StatusOK, status, body)
	require.Contains(t, body, "已认领 1 位客户。")
	require.Contains(t, body, "已达今日认领上限")
	require.Contains(t, body, "you claimed 5 customers today")
	require.Contains(t, body, "new_rule", "an unknown rule is shown by its name")
}

func TestTeamPages(t *testing.T) {
	app, _ := newFake(t, "rep", "s1")
	status, body := get(t, app, http.MethodGet, "/app/team", nil)
	require.Equal(t, http.StatusForbidden, status)
	require.Contains(t, body, "不能打开这个页面")

	app, f := newFake(t, "manager", "m1")
	status, body = get(t, app, http.MethodGet, "/app/team", nil)
	require.Equal(t, http.StatusOK, status, body)
	require.Contains(t, body, `data-test="member" data-id="s2"`)
	require.Contains(t, body, `href="/app/day?staff_id=s2&amp;view=due_today"`)
	require.Contains(t, body, `data-stage="new"`)
	require.Contains(t, body, `width="380"`, "the largest stage is a full bar")
	require.Contains(t, body, `width="95"`, "2 of 8")
	require.Contains(t, body, "chat_cnt")
	require.Contains(t, body, "90 天内最多在职转接 2 次")

	f.routes["POST /v1/customers/transfer"] = func(_ url.Values, body []byte) (int, any) {
		var req transferResult
		var in struct {
			From, To    string
			CustomerIDs []string `json:"customer_ids"`
		}
		require.NoError(t, json.Unmarshal(body, &in))
		require.Equal(t, []string{"c1", "c2"}, in.CustomerIDs)
		req = transferResult{From: in.From, To: in.To, Transferred: []string{"c1"},
			Refused: []followup.Refusal{{ContactID: "c2", Rule: followup.RuleMaxTransfers, Reason: "the customer was transferred 2 times in the last 90 days (WeCom's limit)"}}}
		return http.StatusOK, req
	}
	status, body = get(t, app, http.MethodPost, "/app/team/transfer", url.Values{"from": {"s1"}, "to": {"s2"}, "customer_ids": {"c1,\nc2"}})
	require.Equal(t, http.StatusOK, status, body)
	require.Contains(t, body, "已转接 1 位客户。")
	require.Contains(t, body, "90 天内已转接 2 次（企业微信限制）")

	f.routes["POST /v1/customers/c1/assign"] = func(url.Values, []byte) (int, any) {
		return http.StatusConflict, refusalOf("conflict", "the customer is already assigned to this staff member")
	}
	status, body = get(t, app, http.MethodPost, "/app/team/assign", url.Values{"customer_id": {"c1"}, "staff_id": {"s2"}})
	require.Equal(t, http.StatusConflict, status)
	require.Contains(t, body, "already assigned to this staff member")
	require.Contains(t, body, `name="customer_id" value="c1"`, "the form keeps its values")

	f.routes["GET /v1/staff/s1/handover-preview"] = func(q url.Values, _ []byte) (int, any) {
		return http.StatusOK, map[string]any{"staff_id": "s1", "successor": q.Get("successor"), "moves": []string{"c1", "c3"}}
	}
	status, body = get(t, app, http.MethodGet, "/app/team/handover?staff_id=s1&successor=s2", nil)
	require.Equal(t, http.StatusOK, status, body)
	require.Contains(t, body, "将交接 2 位客户给 s2")
	require.Equal(t, 2, strings.Count(body, `data-test="move"`))
	require.Empty(t, f.called("POST /v1/staff/s1/depart"), "a preview writes nothing")
	f.routes["POST /v1/staff/s1/depart"] = func(url.Values, []byte) (int, any) {
		return http.StatusCreated, map[string]any{"staff_id": "s1", "successor": "s2", "moved": []string{"c1", "c3"}}
	}
	status, body = get(t, app, http.MethodPost, "/app/team/handover", url.Values{"staff_id": {"s1"}, "successor": {"s2"}})
	require.Equal(t, http.StatusOK, status, body)
	require.Contains(t, body, "已交接 2 位客户。")
	require.Equal(t, []string{`POST /v1/staff/s1/depart? {"successor":"s2"}`}, f.called("POST /v1/staff/s1/depart"))
}

// TestDynamicPhrases: the phrases templates name by a computed key exist.
func TestDynamicPhrases(t *testing.T) {
	for _, v := range dayViews {
		require.Contains(t, catalog, "day.view."+v)
	}
	for _, r := range []string{followup.RuleUnknownCustomer, followup.RuleNotInPool, followup.RuleMaxHold, followup.RuleMaxClaimsPerDay,
		followup.RuleCooldown, followup.RuleNotAssignedFrom, followup.RuleMaxTransfers} {
		require.Contains(t, catalog, "rule."+r)
	}
}

// TestTeamPageSectionsPending: a section whose answer does not come in
// time (503) is shown as loading, the others as they are, and the page
// says it fills in by itself; any other failure is still the page's.
func TestTeamPageSectionsPending(t *testing.T) {
	app, f := newFake(t, "manager", "m1")
	late := func(url.Values, []byte) (int, any) {
		return http.StatusServiceUnavailable, refusalOf("timeout", "the request took longer than 5s")
	}
	f.routes["GET /v1/followups/stats"] = late
	f.routes["GET /v1/followups/digest"] = late
	status, body := get(t, app, http.MethodGet, "/app/team?from=2026-11-30&to=2026-12-06", nil)
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, 2, strings.Count(body, `data-test="pending"`), "stats and members")
	require.Contains(t, body, `id="team-stats" aria-labelledby="team-stats-h" data-test="stats" data-pending`)
	require.Contains(t, body, "销售统计（2026-11-30 至 2026-12-06）", "the period asked is shown")
	require.Contains(t, body, `data-test="member" data-id="s2"><td>s2</td><td class="num">…</td>`, "members without their counts")
	require.NotContains(t, body, `id="team-funnel" aria-labelledby="team-funnel-h" data-test="funnel" data-pending`)
	require.Contains(t, body, `width="380"`, "the funnel is there")
	require.Contains(t, body, "载入后自动显示")

	f.routes["GET /v1/followups/stats"] = func(url.Values, []byte) (int, any) {
		return http.StatusInternalServerError, refusalOf("internal", "boom")
	}
	status, _ = get(t, app, http.MethodGet, "/app/team", nil)
	require.Equal(t, http.StatusInternalServerError, status, "not a section's delay: the page fails")
}

// TestTeamStatsPages: a large team's statistics are shown 100 rows at a
// time, the period and manager kept in the page links.
func TestTeamStatsPages(t *testing.T) {
	app, f := newFake(t, "admin", "")
	var days []followup.RepDay
	for i := range 230 {
		days = append(days, followup.RepDay{StaffID: fmt.Sprintf("s%03d", i), Day: "2026-12-06", ChatCnt: i})
	}
	f.routes["GET /v1/followups/stats"] = ok(stats{From: "2026-12-06", To: "2026-12-06", Days: days})
	status, body := get(t, app, http.MethodGet, "/app/team?manager_id=m1&from=2026-12-06&to=2026-12-06", nil)
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, 100, strings.Count(body, `data-test="stat-row"`))
	require.Contains(t, body, "第 1–100 行，共 230 行")
	require.Contains(t, body, `href="/app/team?from=2026-12-06&amp;manager_id=m1&amp;stats_page=2&amp;to=2026-12-06#team-stats" rel="next"`)
	require.NotContains(t, body, `data-test="stats-prev"`)

	status, body = get(t, app, http.MethodGet, "/app/team?manager_id=m1&stats_page=3", nil)
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, 30, strings.Count(body, `data-test="stat-row"`))
	require.Contains(t, body, "<td>s229</td>")
	require.Contains(t, body, "第 201–230 行，共 230 行")
	require.Contains(t, body, `stats_page=2#team-stats" rel="prev"`)
	require.NotContains(t, body, `data-test="stats-next"`)

	status, body = get(t, app, http.MethodGet, "/app/team?stats_page=9", nil)
	require.Equal(t, http.StatusOK, status, body)
	require.Contains(t, body, "这一页没有数据。")
	require.Contains(t, body, `stats_page=3#team-stats" rel="prev"`, "back to the last page")

	for _, bad := range []string{"0", "x", "-1"} {
		status, body = get(t, app, http.MethodGet, "/app/team?stats_page="+bad, nil)
		require.Equal(t, http.StatusBadRequest, status, bad)
		require.Contains(t, body, "stats_page", bad)
	}
}
