package console

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/require"
	"github.com/valyala/fasthttp"
)

// admStub is an API stand-in for the exec, billing and admin pages'
// rendering tests: answers by "METHOD path" (query ignored), and every
// request it saw.
type admStub struct {
	mu      sync.Mutex // the pages call the API concurrently
	role    string
	answers map[string]string // "GET /v1/..." → JSON body (200); a "!400 " prefix: that status
	seen    []string
	bodies  []string
}

func (s *admStub) Call(_ context.Context, req *fasthttp.Request, _ net.Addr, resp *fasthttp.Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := string(req.Header.Method()) + " " + string(req.URI().Path())
	s.seen = append(s.seen, key+"?"+string(req.URI().QueryString()))
	s.bodies = append(s.bodies, string(req.Body()))
	if key == "GET /v1/sessions/current" {
		resp.SetBodyString(`{"login":"u@demo","tenant":"demo","name":"U","role":"` + s.role + `","csrf":"tok"}`)
		return
	}
	body, ok := s.answers[key]
	if !ok {
		for k, v := range s.answers { // a prefix match: "GET /v1/meters/"
			if strings.HasSuffix(k, "*") && strings.HasPrefix(key, strings.TrimSuffix(k, "*")) {
				body, ok = v, true
			}
		}
	}
	if !ok {
		resp.SetStatusCode(404)
		resp.SetBodyString(`{"error":{"code":"not_found","message":"no stub for ` + key + `"}}`)
		return
	}
	if strings.HasPrefix(body, "!") {
		var code int
		code, body = atoiPrefix(body[1:])
		resp.SetStatusCode(code)
	}
	resp.SetBodyString(body)
}

// bodyOf is the body of the last request to "METHOD path".
func (s *admStub) bodyOf(call string) string {
	for i := len(s.seen) - 1; i >= 0; i-- {
		if strings.HasPrefix(s.seen[i], call+"?") {
			return s.bodies[i]
		}
	}
	return ""
}

func atoiPrefix(s string) (int, string) {
	n := 0
	i := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n, strings.TrimPrefix(s[i:], " ")
}

// admGet renders path as the stub's role and returns status and body.
func admGet(t *testing.T, cons *Console, s *admStub, method, path string, form string) (int, string, string) {
	t.Helper()
	app := fiber.New()
	cons.Mount(app, s)
	req := httptest.NewRequest(method, path, strings.NewReader(form))
	req.Header.Set("Cookie", "siyu_session=x")
	if form != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := app.Test(req, -1)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("Location")
}

func TestAdoptionPageRenders(t *testing.T) {
	cons, err := New(Deps{GrafanaURL: "https://grafana.example/", Log: testLog(t)})
	require.NoError(t, err)
	series := `"series":[{"day":"2026-11-01","value":3},{"day":"2026-11-02","value":null},{"day":"2026-11-03","value":5}]`
	var metrics []string
	for _, m := range []string{"dau", "wau", "mau", "paid_dau", "new_dau", "customer_dau", "customer_mau"} {
		metrics = append(metrics, `{"metric":"`+m+`",`+series+`}`)
	}
	s := &admStub{role: "exec", answers: map[string]string{
		"GET /v1/metrics":           `{"from":"2026-11-01","to":"2026-11-03","metrics":[` + strings.Join(metrics, ",") + `]}`,
		"GET /v1/metrics/retention": `{"days":[1,7],"cohorts":[{"day":"2026-11-01","size":4,"retained":[0.5,null]}]}`,
		"GET /v1/meters/*":          `{"meter":"x","series":[{"windowStart":"2026-11-03T00:00:00Z","windowEnd":"2026-11-04T00:00:00Z","value":80}]}`,
	}}
	status, body, _ := admGet(t, cons, s, "GET", "/app/adoption?from=2026-11-01&to=2026-11-03", "")
	require.Equal(t, 200, status, body)
	for _, want := range []string{`<title id="chart-active-t">`, `<polyline class="line s1"`, `<rect x=`, `<details>`,
		`class="num heat3">50.0%`, `class="num heatna">—`, `<meter id="meter-contacts" min="0" max="80"`,
		`href="https://grafana.example/d/siyu-adoption"`, `value="2026-11-01"`} {
		require.Contains(t, body, want)
	}
	require.Contains(t, s.seen, "GET /v1/metrics?from=2026-11-01&metrics=dau%2Cwau%2Cmau%2Cpaid_dau%2Cnew_dau%2Ccustomer_dau%2Ccustomer_mau&to=2026-11-03",
		"every series in one call")
	require.NotContains(t, strings.Join(s.seen, " "), "/v1/metrics/active", "no call per series")
	require.Contains(t, s.seen, "GET /v1/meters/contact_cap?from=2026-11-03&to=2026-11-03", "the meters as of the last day")
	require.Contains(t, body, `data-test="kpi-stickiness"><span>粘性（DAU/MAU）</span><b class="big">100.0%</b>`, "DAU/MAU of the last day")
	require.NotContains(t, strings.Join(s.seen, " "), "group_by", "only the platform lists tenants")

	// The API's refusal of the range is shown beside the form.
	s.answers["GET /v1/metrics"] = `!400 {"error":{"code":"bad_request","message":"a range spans at most 400 days","field":"to"}}`
	status, body, _ = admGet(t, cons, s, "GET", "/app/adoption?from=2020-01-01&to=2026-11-03", "")
	require.Equal(t, 400, status)
	require.Contains(t, body, "a range spans at most 400 days")
	require.Contains(t, body, `id="to" name="to" type="date" value="2026-11-03" required aria-invalid="true"`)

	// A platform user picks the tenant; the page asks the API for it.
	s.role = "platform"
	s.answers["GET /v1/metrics"] = `{"metrics":[]}`
	s.answers["GET /v1/metrics/active"] = `{"series":[],"groups":[{"key":"acme","series":[]}]}`
	status, body, _ = admGet(t, cons, s, "GET", "/app/adoption?from=2026-11-01&to=2026-11-03&tenant=acme", "")
	require.Equal(t, 200, status, body)
	require.Contains(t, strings.Join(s.seen, " "), "tenant=acme")
	require.Contains(t, body, `<option value="acme">`)

	s.role = "billing"
	status, _, _ = admGet(t, cons, s, "GET", "/app/adoption", "")
	require.Equal(t, 403, status)
}

func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, nil))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func TestBillingPageRenders(t *testing.T) {
	cons, err := New(Deps{Log: testLog(t)})
	require.NoError(t, err)
	s := &admStub{role: "platform", answers: map[string]string{
		"GET /v1/billing/usage": `{"period":"2026-10","closed":true,"lines":[` +
			`{"key":"acme:2026-10:peak_contacts","tenant":"acme","period":"2026-10","meter":"peak_contacts","value":120},` +
			`{"key":"acme:2026-10:peak_contacts:adjustment:1","tenant":"acme","period":"2026-10","meter":"peak_contacts_adjustment","value":-2},` +
			`{"key":"demo:2026-10:link_acquisitions","tenant":"demo","period":"2026-10","meter":"link_acquisitions","value":7}]}`,
	}}
	status, body, _ := admGet(t, cons, s, "GET", "/app/billing?period=2026-10&tenant=acme", "")
	require.Equal(t, 200, status, body)
	require.Contains(t, body, `<tr class="adjustment"><td>acme</td><td>客户数峰值 <span class="chip">调整</span></td><td class="num">-2</td>`)
	require.NotContains(t, body, "demo:2026-10:link_acquisitions", "the picked tenant's lines only")
	require.Contains(t, body, `<option value="demo">demo</option>`)
	require.Contains(t, body, `href="/v1/billing/usage?format=csv&amp;period=2026-10&amp;tenant=acme" download="siyu-usage-2026-10-acme.csv"`)
	require.Equal(t, "GET /v1/billing/usage?period=2026-10", s.seen[len(s.seen)-1])

	s.answers["GET /v1/billing/usage"] = `!400 {"error":{"code":"bad_request","message":"\"2026-13\" is not a period (YYYY-MM)","field":"period"}}`
	status, body, _ = admGet(t, cons, s, "GET", "/app/billing?period=2026-13", "")
	require.Equal(t, 400, status)
	require.Contains(t, body, "is not a period (YYYY-MM)")

	for _, role := range []string{"exec", "marketer", "admin", "rep"} {
		s.role = role
		status, _, _ = admGet(t, cons, s, "GET", "/app/billing", "")
		require.Equal(t, 403, status, role)
	}
}

func TestAdminPagesRender(t *testing.T) {
	cons, err := New(Deps{Log: testLog(t)})
	require.NoError(t, err)
	s := &admStub{role: "admin", answers: map[string]string{
		"GET /v1/users":             `{"users":[{"login":"rep9@demo","tenant":"demo","name":"Nine","role":"rep","staff_id":"s9","disabled":false,"created_at":"2026-11-01T00:00:00Z","updated_at":"2026-11-01T00:00:00Z"}]}`,
		"POST /v1/users":            `{"login":"x"}`,
		"PATCH /v1/users/rep9@demo": `{"login":"rep9@demo"}`,
		"GET /v1/keys":              `{"keys":[{"prefix":"siyu_abcd","role":"rep","staff_id":"s9","name":"bot","created_at":"2026-11-01T00:00:00Z","revoked":false}]}`,
		"POST /v1/keys":             `{"prefix":"siyu_wxyz","role":"admin","name":"ci","created_at":"2026-11-02T00:00:00Z","revoked":false,"key":"siyu_wxyz_SECRET"}`,
		"DELETE /v1/keys/siyu_abcd": ``,
		"GET /v1/followups/stages":  `{"stages":["new","won"],"default":true,"set_at":null}`,
		"PUT /v1/followups/stages":  `!400 {"error":{"code":"invalid_request","message":"stages needs 2 to 20 names","field":"stages"}}`,
		"GET /v1/pool/rules":        `{"max_hold":50,"max_claims_per_day":0,"recycle_days":30,"cooldown_days":0}`,
		"PUT /v1/pool/rules":        `{}`,
		"GET /v1/wecom/config":      `{"tenant":"demo","corp_id":"ww1","token_set":true,"encoding_aes_key_set":true,"agent_id":1000002,"secret_set":true,"updated_at":"2026-11-01T00:00:00Z","callback_path":"/wecom/callback/demo"}`,
		"GET /v1/settings":          `{"tenant":"demo","mask_phones_for_reps":true,"updated_at":null}`,
		"PUT /v1/settings":          `{}`,
		"GET /v1/grafana/status":    `{"configured":false,"token_set":false}`,
	}}
	status, body, _ := admGet(t, cons, s, "GET", "/app/admin", "")
	require.Equal(t, 200, status, body)
	require.Contains(t, body, `data-test="user-rep9@demo"`)
	require.Contains(t, body, `<a href="/app/admin" aria-current="page">用户与角色</a>`)

	status, _, loc := admGet(t, cons, s, "POST", "/app/admin/users/update", "csrf=tok&login=rep9%40demo&role=rep&staff_id=s9&disabled=1")
	require.Equal(t, 303, status)
	require.Equal(t, "/app/admin?done=admin.user.updated", loc)
	require.JSONEq(t, `{"role":"rep","staff_id":"s9","disabled":true}`, s.bodies[len(s.bodies)-1], "%v", s.seen)

	status, _, _ = admGet(t, cons, s, "POST", "/app/admin/users/update", "login=rep9%40demo&role=rep")
	require.Equal(t, 403, status, "no CSRF token")

	// The new key's secret is on the answer to the form, not after a redirect.
	status, body, _ = admGet(t, cons, s, "POST", "/app/admin/keys", "csrf=tok&name=ci&role=admin")
	require.Equal(t, 200, status, body)
	require.Contains(t, body, `value="siyu_wxyz_SECRET"`)
	require.Contains(t, body, `data-init="adminCopy"`)
	status, body, _ = admGet(t, cons, s, "GET", "/app/admin/keys", "")
	require.Equal(t, 200, status)
	require.NotContains(t, body, "SECRET")
	status, _, loc = admGet(t, cons, s, "POST", "/app/admin/keys/revoke", "csrf=tok&prefix=siyu_abcd")
	require.Equal(t, 303, status)
	require.Contains(t, loc, "admin.key.revoked")

	status, body, _ = admGet(t, cons, s, "POST", "/app/admin/stages", "csrf=tok&stages=only")
	require.Equal(t, 400, status)
	require.Contains(t, body, "stages needs 2 to 20 names")
	require.Contains(t, body, `name="stages" rows="8" aria-describedby="stages-hint" aria-invalid="true"`)
	require.JSONEq(t, `{"stages":["only"]}`, s.bodyOf("PUT /v1/followups/stages"))

	status, _, _ = admGet(t, cons, s, "POST", "/app/admin/pool", "csrf=tok&max_hold=10&max_claims_per_day=&recycle_days=7&cooldown_days=1")
	require.Equal(t, 303, status)
	require.JSONEq(t, `{"max_hold":10,"max_claims_per_day":0,"recycle_days":7,"cooldown_days":1}`, s.bodies[len(s.bodies)-1])
	status, body, _ = admGet(t, cons, s, "POST", "/app/admin/pool", "csrf=tok&max_hold=ten")
	require.Equal(t, 400, status)
	require.Contains(t, body, "max_hold must be a whole number")

	status, body, _ = admGet(t, cons, s, "GET", "/app/admin/wecom", "")
	require.Equal(t, 200, status)
	require.Contains(t, body, `value="ww1"`)
	require.Contains(t, body, `data-test="secret-state">已设置`)
	require.NotContains(t, body, `name="secret" value`, "a secret is never shown")

	status, body, _ = admGet(t, cons, s, "GET", "/app/admin/privacy", "")
	require.Equal(t, 200, status)
	require.Contains(t, body, `value="1" checked`)
	status, _, _ = admGet(t, cons, s, "POST", "/app/admin/privacy", "csrf=tok")
	require.Equal(t, 303, status)
	require.JSONEq(t, `{"mask_phones_for_reps":false}`, s.bodies[len(s.bodies)-1])

	status, body, _ = admGet(t, cons, s, "GET", "/app/admin/grafana", "")
	require.Equal(t, 200, status)
	require.Contains(t, body, "siyu dashboards apply --grafana-url URL")

	for _, role := range []string{"manager", "rep", "exec", "billing", "marketer"} {
		s.role = role
		status, _, _ = admGet(t, cons, s, "GET", "/app/admin/keys", "")
		require.Equal(t, 403, status, role)
	}
}
