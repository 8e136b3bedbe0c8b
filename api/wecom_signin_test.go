package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/api"
	"github.com/siyu-dev/siyu/auth"
)

// weComOAuth is a stand-in for WeCom's server API as WeCom sign-in uses it
// (corp wwacme0001, secret appsecret): gettoken and auth/getuserinfo, each
// call checked for its exact path and query as WeCom documents them. codes
// maps an OAuth code to WeCom's answer.
type weComOAuth struct {
	t     *testing.T
	mu    sync.Mutex
	calls []string
	codes map[string]string
}

func (s *weComOAuth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, r.URL.Path)
	q := r.URL.Query()
	if r.Method != http.MethodGet {
		s.t.Errorf("%s %s, want GET", r.Method, r.URL)
	}
	switch r.URL.Path {
	case "/cgi-bin/gettoken":
		if q.Encode() != (url.Values{"corpid": {"wwacme0001"}, "corpsecret": {"appsecret"}}).Encode() {
			s.t.Errorf("gettoken ?%s", q.Encode())
			_, _ = w.Write([]byte(`{"errcode": 40001, "errmsg": "invalid credential"}`))
			return
		}
		_, _ = w.Write([]byte(`{"errcode": 0, "errmsg": "ok", "access_token": "tok-1", "expires_in": 7200}`))
	case "/cgi-bin/auth/getuserinfo":
		if len(q) != 2 || q.Get("access_token") != "tok-1" {
			s.t.Errorf("getuserinfo ?%s, want access_token=tok-1&code=...", q.Encode())
		}
		answer, ok := s.codes[q.Get("code")]
		if !ok {
			answer = `{"errcode": 40029, "errmsg": "invalid code"}`
		}
		_, _ = w.Write([]byte(answer))
	default:
		s.t.Errorf("unexpected call %s", r.URL)
		http.NotFound(w, r)
	}
}

// withWeComOAuth gives the fixture's server the tenants' WeCom clients,
// calling the stand-in.
func (f *fixture) withWeComOAuth(t *testing.T, codes map[string]string) *weComOAuth {
	t.Helper()
	stand := &weComOAuth{t: t, codes: codes}
	f.withWeComStandIn(t, stand)
	return stand
}

func TestWeComSignIn(t *testing.T) {
	f := newFixture(t)
	signIn := func(body string) (*http.Response, []byte) {
		return f.respond(t, http.MethodPost, "/v1/sessions/wecom", nil, []byte(body))
	}
	resp, body := signIn(`{"tenant": "acme", "code": "c"}`)
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "no WeCom clients: %s", body)

	stand := f.withWeComOAuth(t, map[string]string{
		"code-ray":     `{"errcode": 0, "errmsg": "ok", "userid": "s1", "user_ticket": "x", "expires_in": 1800}`,
		"code-nobody":  `{"errcode": 0, "errmsg": "ok", "userid": "s9"}`,
		"code-visitor": `{"errcode": 0, "errmsg": "ok", "openid": "o-1", "external_userid": "wm1"}`,
	})
	f.createUser(t, auth.NewUser{Login: "ray@acme", Tenant: "acme", Name: "Ray", Role: auth.RoleRep, StaffID: "s1"})

	resp, body = signIn(`{"tenant": "acme", "code": "code-ray"}`)
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "no WeCom app yet: %s", body)
	require.Contains(t, decodeError(t, body).Message, "an admin must set the corp id, agent id and secret")

	app := newWeComApp(t, "acme", "wwacme0001")
	cfg := app.configJSON()
	cfg = append(cfg[:len(cfg)-1], []byte(`, "agent_id": 1000002, "secret": "appsecret"}`)...)
	status, b := f.do(t, http.MethodPut, "/v1/wecom/config", "acme-admin", cfg)
	require.Equal(t, http.StatusOK, status, "%s", b)

	t.Run("login config", func(t *testing.T) {
		resp, body := f.respond(t, http.MethodGet, "/v1/wecom/login-config?tenant=acme", nil, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		require.JSONEq(t, `{"tenant": "acme", "corp_id": "wwacme0001", "agent_id": 1000002}`, string(body), "public values only")
		require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
		for q, want := range map[string]int{"": 400, "?tenant=": 400, "?tenant=Bad!": 400, "?tenant=globex": 404} {
			resp, body := f.respond(t, http.MethodGet, "/v1/wecom/login-config"+q, nil, nil)
			require.Equal(t, want, resp.StatusCode, "%s: %s", q, body)
		}
		_, body = f.respond(t, http.MethodGet, "/v1/wecom/login-config?tenant=globex", nil, nil)
		require.Contains(t, decodeError(t, body).Message, "PUT /v1/wecom/config", "tells who fixes it how")
	})

	t.Run("signs the staff member in", func(t *testing.T) {
		resp, body := signIn(`{"tenant": "acme", "code": "code-ray"}`)
		require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
		var sb sessionBody
		require.NoError(t, json.Unmarshal(body, &sb))
		require.Equal(t, "ray@acme", sb.Login)
		require.Equal(t, "s1", sb.StaffID)
		require.NotEmpty(t, sb.CSRF)
		var cookie *http.Cookie
		for _, ck := range resp.Cookies() {
			if ck.Name == api.SessionCookie {
				cookie = ck
			}
		}
		require.NotNil(t, cookie, "the session cookie")
		require.True(t, cookie.HttpOnly)
		require.Equal(t, http.SameSiteLaxMode, cookie.SameSite)

		status, body := f.as(t, console{token: cookie.Value, csrf: sb.CSRF}, false, http.MethodGet, "/v1/sessions/current", nil)
		require.Equal(t, http.StatusOK, status, "%s", body)
		require.Contains(t, string(body), `"staff_id":"s1"`)
	})

	for _, tt := range []struct {
		name, body string
		status     int
		field      string
	}{
		{"a wrong code", `{"tenant": "acme", "code": "forged"}`, 401, ""},
		{"a visitor from outside the corp", `{"tenant": "acme", "code": "code-visitor"}`, 403, ""},
		{"a member without a console user", `{"tenant": "acme", "code": "code-nobody"}`, 403, ""},
		{"a tenant without WeCom", `{"tenant": "globex", "code": "code-ray"}`, 404, ""},
		{"no code", `{"tenant": "acme"}`, 400, "code"},
		{"no tenant", `{"code": "code-ray"}`, 400, "tenant"},
		{"an unknown field", `{"tenant": "acme", "code": "x", "userid": "s1"}`, 400, "userid"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := signIn(tt.body)
			require.Equal(t, tt.status, resp.StatusCode, "%s", body)
			require.Equal(t, tt.field, decodeError(t, body).Field)
			for _, ck := range resp.Cookies() {
				require.NotEqual(t, api.SessionCookie, ck.Name, "no session on a refusal")
			}
		})
	}
	t.Run("refused codes are throttled per address", func(t *testing.T) {
		var last *http.Response
		var lastBody []byte
		for range auth.DefaultSignInClientBurst + 1 {
			last, lastBody = signIn(`{"tenant": "acme", "code": "forged"}`)
			if last.StatusCode == http.StatusTooManyRequests {
				break
			}
			require.Equal(t, http.StatusUnauthorized, last.StatusCode, "%s", lastBody)
		}
		require.Equal(t, http.StatusTooManyRequests, last.StatusCode, "%s", lastBody)
		require.NotEmpty(t, last.Header.Get("Retry-After"))
		calls := func() int { stand.mu.Lock(); defer stand.mu.Unlock(); return len(stand.calls) }
		before := calls()
		resp, body := signIn(`{"tenant": "acme", "code": "code-ray"}`)
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "even a good code waits: %s", body)
		require.Equal(t, before, calls(), "a throttled sign-in does not call WeCom")
	})
	stand.mu.Lock()
	defer stand.mu.Unlock()
	tokens := 0
	for _, c := range stand.calls {
		if c == "/cgi-bin/gettoken" {
			tokens++
		}
	}
	require.Equal(t, 1, tokens, "the access token is cached across sign-ins: %v", stand.calls)

}
