package console

import (
	"context"
	"encoding/json"
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
	"github.com/siyu-dev/siyu/followup"
	"github.com/siyu-dev/siyu/internal/reporting"
)

// cardAPI answers the /v1 routes the card calls with fixed data, and
// records what the console sent: the card's wiring, without the stack
// (the browser journeys walk the real one).
type cardAPI struct {
	h         fasthttp.RequestHandler
	mu        sync.Mutex
	readAfter []string // Siyu-Read-After of customer reads
	bodies    map[string]string
}

func (f *cardAPI) Call(_ context.Context, req *fasthttp.Request, remote net.Addr, resp *fasthttp.Response) {
	var rc fasthttp.RequestCtx
	rc.Init(req, remote, nil)
	f.h(&rc)
	rc.Response.CopyTo(resp)
}

var cardUsers = map[string]sessionUser{
	"rep":      {Login: "rep@demo", Tenant: "demo", Name: "Rep", Role: "rep", StaffID: "s1", CSRF: "tok"},
	"marketer": {Login: "m@demo", Tenant: "demo", Name: "M", Role: "marketer", CSRF: "tok"},
	"exec":     {Login: "e@demo", Tenant: "demo", Name: "E", Role: "exec", CSRF: "tok"},
}

func newCardAPI() *cardAPI {
	f := &cardAPI{bodies: map[string]string{}}
	app := fiber.New()
	notFound := func(c *fiber.Ctx) error {
		return c.Status(404).JSON(fiber.Map{"error": fiber.Map{"code": "not_found", "message": "customer not found"}})
	}
	app.Get("/v1/sessions/current", func(c *fiber.Ctx) error {
		u, ok := cardUsers[c.Cookies(api.SessionCookie)]
		if !ok {
			return c.Status(401).JSON(fiber.Map{"error": fiber.Map{"code": "unauthorized", "message": "sign in"}})
		}
		return c.JSON(u)
	})
	app.Get("/v1/customers/:id", func(c *fiber.Ctx) error {
		if c.Params("id") != "c1" {
			return notFound(c)
		}
		f.mu.Lock()
		f.readAfter = append(f.readAfter, c.Get(api.ReadAfterHeader))
		f.mu.Unlock()
		return c.SendString(`{"id":"c1","ids":["c1","u-9"],"contact_id":"c1","name":"王小明","stage":"new",
			"acquisition":{"channel":"qr_code"},"tags":[{"tag_id":"t1","name":"VIP","group":"等级"}],
			"chat":{"messages_in":7,"messages_out":9},"followup":{"next_at":"2026-12-08T02:30:00Z","count":3},
			"relations":[{"staff_id":"s1"}]}`)
	})
	app.Get("/v1/customers/:id/timeline", func(c *fiber.Ctx) error {
		if c.Params("id") != "c1" {
			return notFound(c)
		}
		return c.SendString(`{"items":[
			{"id":"e2","at":"2026-12-06T02:00:00Z","type":"followup.logged","staff_id":"s1","data":{"channel":"call","note":"回访 <b>","next_at":"2026-12-08T10:30:00+08:00"}},
			{"id":"e1","at":"2026-12-05T02:00:00Z","type":"tag.added","staff_id":"s1","data":{"tag_id":"t1"}}],
			"next_cursor":"abc"}`)
	})
	app.Get("/v1/tags", func(c *fiber.Ctx) error {
		return c.SendString(`{"tags":[{"id":"t1","name":"VIP"},{"id":"t2","name":"新客","group":"阶段"}]}`)
	})
	app.Get("/v1/followups/stages", func(c *fiber.Ctx) error {
		if c.Cookies(api.SessionCookie) == "marketer" {
			return c.Status(403).JSON(fiber.Map{"error": fiber.Map{"code": "forbidden", "message": "no"}})
		}
		return c.JSON(followup.StageList{Stages: followup.Stages})
	})
	app.Post("/v1/*", func(c *fiber.Ctx) error {
		f.mu.Lock()
		f.bodies[strings.Clone(c.Path())] = string(c.Body())
		f.mu.Unlock()
		if c.Get(api.CSRFHeader) != "tok" {
			return c.Status(403).JSON(fiber.Map{"error": fiber.Map{"code": "csrf", "message": "csrf"}})
		}
		c.Set(api.WriteTokenHeader, "0:42")
		if c.Path() == "/v1/pool/claim" {
			return c.SendString(`{"claimed":[],"refused":[{"customer_id":"c1","rule":"cooldown","reason":"released 1 day ago"}]}`)
		}
		return c.Status(201).SendString(`{}`)
	})
	f.h = app.Handler()
	return f
}

func cardSite(t *testing.T) (*fiber.App, *cardAPI) {
	t.Helper()
	cons, err := New(Deps{})
	require.NoError(t, err)
	f := newCardAPI()
	app := fiber.New()
	cons.Mount(app, f)
	return app, f
}

func cardGet(t *testing.T, app *fiber.App, who, path string, headers ...string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.AddCookie(&http.Cookie{Name: api.SessionCookie, Value: who})
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := app.Test(req, -1)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestCustomerCard(t *testing.T) {
	app, _ := cardSite(t)
	status, html := cardGet(t, app, "rep", "/app/customers/c1?lang=en")
	require.Equal(t, http.StatusOK, status)
	for _, want := range []string{"王小明", "qr_code", `data-test="customer-stage">New<`, "VIP", `value="t2"`, "u-9",
		"s1 called", "回访 &lt;b&gt;", "next: 2026-12-08 10:30", "2026-12-08 10:30", `data-test="followup-form"`,
		`href="/app/customers/c1?cursor=abc"`, `data-test="claim"`} {
		require.Contains(t, html, want)
	}
	require.NotContains(t, html, `<option value="t1"`, "a tag on the customer is not offered again")
	require.NotContains(t, html, "sidebar.js", "the sidebar's script is the sidebar's only")
}

func TestCustomerCardWalls(t *testing.T) {
	app, _ := cardSite(t)
	status, html := cardGet(t, app, "rep", "/app/customers/c2")
	require.Equal(t, http.StatusNotFound, status)
	require.Contains(t, html, `data-test="customer-missing"`)
	require.NotContains(t, html[strings.Index(html, "<main"):], "c2", "nothing of the customer (the asset hashes above may hold any letters)")

	status, html = cardGet(t, app, "marketer", "/app/customers/c1")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, html, "王小明")
	require.Contains(t, html, `data-test="readonly"`)
	require.NotContains(t, html, `data-test="followup-form"`)
	require.NotContains(t, html, `data-test="timeline"`)

	status, _ = cardGet(t, app, "marketer", "/sidebar?contact=c1")
	require.Equal(t, http.StatusForbidden, status)
	status, _ = cardGet(t, app, "exec", "/app/customers/c1")
	require.Equal(t, http.StatusForbidden, status)
}

func TestSidebar(t *testing.T) {
	app, _ := cardSite(t)
	status, html := cardGet(t, app, "rep", "/sidebar?contact=c1")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, html, `class="bare"`)
	require.Contains(t, html, "sidebar-card")
	require.Contains(t, html, `name="from" value="sidebar"`)
	require.NotContains(t, html, `class="nav"`)

	status, html = cardGet(t, app, "rep", "/sidebar?lang=en")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, html, `data-test="sidebar-outside"`)
	require.NotContains(t, html, "sidebar.js")

	// Inside WeCom: the JS-SDK and the script when built in, else what to do.
	status, html = cardGet(t, app, "rep", "/sidebar?lang=en", fiber.HeaderUserAgent, "Mozilla/5.0 wxwork/4.1.0")
	require.Equal(t, http.StatusOK, status)
	cons, _ := New(Deps{})
	if cons.assets.has(wecomSDK) {
		require.Contains(t, html, "/assets/vendor/wecom-jssdk.js")
		require.Contains(t, html, "/assets/sidebar.js")
	} else {
		require.Contains(t, html, `data-test="sidebar-nosdk"`)
		require.NotContains(t, html, "sidebar.js")
	}
}

func cardPost(t *testing.T, app *fiber.App, path string, form url.Values, cookies ...*http.Cookie) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: api.SessionCookie, Value: "rep"})
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := app.Test(req, -1)
	require.NoError(t, err)
	return resp
}

// TestCardWriteReadsBack: a form post sends the API its body, keeps the
// write token in a cookie, and the card's next read sends it as
// Siyu-Read-After.
func TestCardWriteReadsBack(t *testing.T) {
	app, f := cardSite(t)
	resp := cardPost(t, app, "/app/customers/c1/followups", url.Values{"csrf": {"tok"}, "channel": {"call"},
		"note": {"hi"}, "next": {"2026-12-08T10:30"}, "from": {"sidebar"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/sidebar?contact=c1&done=customer.followup.saved", resp.Header.Get("Location"))
	var body map[string]string
	require.NoError(t, json.Unmarshal([]byte(f.bodies["/v1/customers/c1/followups"]), &body))
	want := time.Date(2026, 12, 8, 10, 30, 0, 0, reporting.Zone).Format(time.RFC3339)
	require.Equal(t, map[string]string{"channel": "call", "note": "hi", "next_at": want}, body)
	var after *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == afterCookie {
			after = c
		}
	}
	require.NotNil(t, after)
	require.Equal(t, "0:42", after.Value)
	require.True(t, after.HttpOnly)

	req := httptest.NewRequest(http.MethodGet, "/sidebar?contact=c1", nil)
	req.AddCookie(&http.Cookie{Name: api.SessionCookie, Value: "rep"})
	req.AddCookie(after)
	r2, err := app.Test(req, -1)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r2.StatusCode)
	require.Equal(t, "0:42", f.readAfter[len(f.readAfter)-1], "the card reads after the write")

	resp = cardPost(t, app, "/app/customers/c1/stage", url.Values{"stage": {"won"}})
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "no form post without the CSRF token")
}

func TestCardClaimRefusalNamesTheRule(t *testing.T) {
	app, f := cardSite(t)
	resp := cardPost(t, app, "/app/customers/c1/claim", url.Values{"csrf": {"tok"}})
	require.Equal(t, http.StatusConflict, resp.StatusCode)
	b, _ := io.ReadAll(resp.Body)
	require.Contains(t, string(b), "cooldown")
	require.Contains(t, string(b), "released 1 day ago")
	require.JSONEq(t, `{"customer_ids":["c1"]}`, f.bodies["/v1/pool/claim"])

	resp = cardPost(t, app, "/app/customers/c1/tags", url.Values{"csrf": {"tok"}, "remove": {"t1"}})
	require.Equal(t, "/app/customers/c1?done=customer.tags.removed", resp.Header.Get("Location"))
	require.JSONEq(t, `{"remove":["t1"]}`, f.bodies["/v1/customers/c1/tags"])

	resp = cardPost(t, app, "/app/customers/c1/followups", url.Values{"csrf": {"tok"}, "channel": {"call"}, "next": {"tomorrow"}})
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "a bad next time is refused beside the form")
}

func TestDescribe(t *testing.T) {
	en := Lang{Code: langEn}
	for _, tc := range []struct {
		typ, data, want string
	}{
		{"followup.logged", `{"channel":"visit"}`, "s1 visited"},
		{"followup.stage_changed", `{"stage":"won"}`, "s1 changed the stage"},
		{"chat.message", `{"direction":"in"}`, "The customer wrote to s1"},
		{"assignee.changed", `{"reason":"release"}`, "The customer went back to the pool"},
		{"contact.removed", `{"by":"customer"}`, "The customer deleted s1"},
		{"wecom.unknown", `{}`, "Other event"},
	} {
		e := describe(en, followup.Item{Type: tc.typ, StaffID: "s1", Data: json.RawMessage(tc.data)}, nil)
		require.Equal(t, tc.want, e.Text, tc.typ)
	}
	require.Equal(t, time.Unix(0, 5), parseNextAt(json.RawMessage(`5`)))
	require.True(t, parseNextAt(nil).IsZero())
}

// wecomSignInAPI adds the WeCom sign-in routes to the stand-in API.
func wecomSignInAPI(f *cardAPI) {
	app := fiber.New()
	app.Get("/v1/wecom/login-config", func(c *fiber.Ctx) error {
		if c.Query("tenant") != "acme" {
			return c.Status(404).JSON(fiber.Map{"error": fiber.Map{"code": "not_found", "message": "WeCom sign-in is not set up for tenant " + c.Query("tenant")}})
		}
		return c.JSON(fiber.Map{"tenant": "acme", "corp_id": "wwacme0001", "agent_id": 1000002})
	})
	app.Post("/v1/sessions/wecom", func(c *fiber.Ctx) error {
		f.mu.Lock()
		f.bodies["/v1/sessions/wecom"] = string(c.Body())
		f.mu.Unlock()
		c.Cookie(&fiber.Cookie{Name: api.SessionCookie, Value: "rep", Path: "/", HTTPOnly: true, SameSite: "Lax"})
		return c.Status(201).JSON(cardUsers["rep"])
	})
	old := f.h
	next := app.Handler()
	f.h = func(rc *fasthttp.RequestCtx) {
		switch string(rc.Path()) {
		case "/v1/wecom/login-config", "/v1/sessions/wecom":
			next(rc)
		default:
			old(rc)
		}
	}
}

func TestWeComSignInPages(t *testing.T) {
	app, f := cardSite(t)
	wecomSignInAPI(f)
	start := func(ua, query string) *http.Response {
		req := httptest.NewRequest(http.MethodGet, "/login/wecom?"+query, nil)
		req.Header.Set(fiber.HeaderUserAgent, ua)
		resp, err := app.Test(req, -1)
		require.NoError(t, err)
		return resp
	}
	next := "/sidebar?contact=c1"
	resp := start("Mozilla/5.0 wxwork/4.1.0 MicroMessenger", "tenant=acme&next="+url.QueryEscape(next))
	require.Equal(t, http.StatusFound, resp.StatusCode)
	to, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, "open.weixin.qq.com", to.Host, "inside WeCom: its web OAuth")
	require.Equal(t, "/connect/oauth2/authorize", to.Path)
	require.Equal(t, "wwacme0001", to.Query().Get("appid"))
	require.Equal(t, "1000002", to.Query().Get("agentid"))
	require.Equal(t, "http://example.com/login/wecom/callback", to.Query().Get("redirect_uri"))
	state := to.Query().Get("state")
	require.Len(t, state, 32)
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == stateCookie {
			cookie = c
		}
	}
	require.NotNil(t, cookie)
	require.True(t, cookie.HttpOnly)
	require.Equal(t, http.SameSiteLaxMode, cookie.SameSite)

	resp = start("Mozilla/5.0 Chrome", "tenant=acme")
	to, _ = url.Parse(resp.Header.Get("Location"))
	require.Equal(t, "login.work.weixin.qq.com", to.Host, "outside WeCom: its QR login")

	resp = start("Mozilla/5.0 Chrome", "tenant=globex&lang=en")
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	b, _ := io.ReadAll(resp.Body)
	require.Contains(t, string(b), "not set up for tenant globex")

	callback := func(query string, cookies ...*http.Cookie) *http.Response {
		req := httptest.NewRequest(http.MethodGet, "/login/wecom/callback?"+query, nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		resp, err := app.Test(req, -1)
		require.NoError(t, err)
		return resp
	}
	resp = callback("code=C1&state=forged", cookie)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "another browser's state")
	resp = callback("code=C1&state=" + state)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "no state cookie")
	require.Empty(t, f.bodies["/v1/sessions/wecom"])

	resp = callback("code=C1&state="+state, cookie)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, next, resp.Header.Get("Location"))
	require.JSONEq(t, `{"tenant":"acme","code":"C1"}`, f.bodies["/v1/sessions/wecom"])
	var session bool
	for _, c := range resp.Cookies() {
		session = session || (c.Name == api.SessionCookie && c.Value == "rep" && c.HttpOnly)
	}
	require.True(t, session, "the API's session cookie reaches the browser")

	// The sidebar opened inside WeCom without a session: WeCom signs in.
	req := httptest.NewRequest(http.MethodGet, "/sidebar?tenant=acme", nil)
	req.Header.Set(fiber.HeaderUserAgent, "wxwork/4.1")
	resp, err = app.Test(req, -1)
	require.NoError(t, err)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.True(t, strings.HasPrefix(resp.Header.Get("Location"), "/login/wecom?"), resp.Header.Get("Location"))
}

func TestLoginPageAllowsWeComRedirects(t *testing.T) {
	app, _ := cardSite(t)
	resp, err := app.Test(httptest.NewRequest(http.MethodGet, "/login", nil), -1)
	require.NoError(t, err)
	require.Contains(t, resp.Header.Get("Content-Security-Policy"),
		"form-action 'self' https://login.work.weixin.qq.com https://open.weixin.qq.com;")
}
