package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/api"
	"github.com/siyu-dev/siyu/auth"
)

// cheapPasswords keeps sign-ins fast in tests (the costs are in each hash).
var cheapPasswords = auth.PasswordParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

const testPassword = "correct horse battery"

// console is a browser of the web console: it holds a session cookie and
// its CSRF token.
type console struct {
	token, csrf string
}

type sessionBody struct {
	Login     string    `json:"login"`
	Tenant    string    `json:"tenant"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	StaffID   string    `json:"staff_id"`
	CSRF      string    `json:"csrf"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (f *fixture) createUser(t *testing.T, n auth.NewUser) {
	t.Helper()
	n.Password = testPassword
	_, err := f.deps.Users.Create(f.ctx, n)
	require.NoError(t, err)
}

// signIn signs login in through the API; it must succeed.
func (f *fixture) signIn(t *testing.T, login string) (console, sessionBody) {
	t.Helper()
	resp, body := f.respond(t, http.MethodPost, "/v1/sessions", nil, mustJSON(t, map[string]string{"login": login, "password": testPassword}))
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
	var sb sessionBody
	require.NoError(t, json.Unmarshal(body, &sb))
	var token string
	for _, ck := range resp.Cookies() {
		if ck.Name == api.SessionCookie {
			token = ck.Value
		}
	}
	require.NotEmpty(t, token, "no session cookie")
	return console{token: token, csrf: sb.CSRF}, sb
}

// as sends a request with the console's cookie, and its CSRF token when
// csrf is set.
func (f *fixture) as(t *testing.T, b console, csrf bool, method, path string, body []byte) (int, []byte) {
	t.Helper()
	h := http.Header{"Cookie": {api.SessionCookie + "=" + b.token}}
	if csrf {
		h.Set(api.CSRFHeader, b.csrf)
	}
	return f.doHeader(t, method, path, h, body)
}

func TestConsoleSessions(t *testing.T) {
	f := newFixture(t)
	f.createUser(t, auth.NewUser{Login: "ada@acme", Tenant: "acme", Name: "Ada", Role: auth.RoleAdmin})
	f.createUser(t, auth.NewUser{Login: "ray@acme", Tenant: "acme", Name: "Ray", Role: auth.RoleRep, StaffID: "s1"})
	f.createUser(t, auth.NewUser{Login: "tim@acme", Tenant: "acme", Name: "Tim", Role: auth.RoleManager})
	f.createUser(t, auth.NewUser{Login: "gus@globex", Tenant: "globex", Name: "Gus", Role: auth.RoleAdmin})

	t.Run("sign in sets the cookie", func(t *testing.T) {
		resp, body := f.respond(t, http.MethodPost, "/v1/sessions", nil, mustJSON(t, map[string]string{"login": "Ada@acme", "password": testPassword}))
		require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
		var sb sessionBody
		require.NoError(t, json.Unmarshal(body, &sb))
		require.Equal(t, sessionBody{Login: "ada@acme", Tenant: "acme", Name: "Ada", Role: "admin", CSRF: sb.CSRF, ExpiresAt: sb.ExpiresAt}, sb)
		require.NotEmpty(t, sb.CSRF)
		require.WithinDuration(t, time.Now().Add(auth.DefaultSessionTTL), sb.ExpiresAt, time.Minute)
		require.NotContains(t, string(body), "siyus_", "the token is only in the cookie")
		sc := resp.Header.Get("Set-Cookie")
		for _, attr := range []string{api.SessionCookie + "=siyus_", "path=/", "HttpOnly", "SameSite=Lax", "expires="} {
			require.Contains(t, strings.ToLower(sc), strings.ToLower(attr), sc)
		}
		require.NotContains(t, strings.ToLower(sc), "secure", "not over plain HTTP")
	})

	t.Run("bad credentials", func(t *testing.T) {
		for _, body := range []map[string]string{
			{"login": "ada@acme", "password": "wrong password"},
			{"login": "nobody", "password": testPassword},
		} {
			status, out := f.doHeader(t, http.MethodPost, "/v1/sessions", nil, mustJSON(t, body))
			require.Equal(t, http.StatusUnauthorized, status, "%s", out)
			e := decodeError(t, out)
			require.Equal(t, "bad_credentials", e.Code)
			require.Equal(t, "wrong login or password", e.Message)
		}
	})

	t.Run("throttled", func(t *testing.T) {
		for range auth.DefaultSignInBurst {
			status, out := f.doHeader(t, http.MethodPost, "/v1/sessions", nil, mustJSON(t, map[string]string{"login": "tim@acme", "password": "wrong password"}))
			require.Equal(t, http.StatusUnauthorized, status, "%s", out)
		}
		resp, out := f.respond(t, http.MethodPost, "/v1/sessions", nil, mustJSON(t, map[string]string{"login": "tim@acme", "password": testPassword}))
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "%s", out)
		require.Equal(t, "30", resp.Header.Get("Retry-After"))
		require.Equal(t, "too_many_sign_ins", decodeError(t, out).Code)
	})

	t.Run("input", func(t *testing.T) {
		cases := []struct {
			name, method, path, ctype string
			body                      string
			status                    int
			field                     string
		}{
			{"unknown field", "POST", "/v1/sessions", "", `{"login":"ada@acme","password":"x","remember":true}`, 400, "remember"},
			{"no password", "POST", "/v1/sessions", "", `{"login":"ada@acme"}`, 400, "password"},
			{"form body", "POST", "/v1/sessions", "application/x-www-form-urlencoded", `login=ada`, 415, "Content-Type"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				h := http.Header{}
				if tc.ctype != "" {
					h.Set("Content-Type", tc.ctype)
				}
				status, out := f.doHeader(t, tc.method, tc.path, h, []byte(tc.body))
				require.Equal(t, tc.status, status, "%s", out)
				require.Equal(t, tc.field, decodeError(t, out).Field)
			})
		}
	})

	ada, _ := f.signIn(t, "ada@acme")
	gus, _ := f.signIn(t, "gus@globex")

	t.Run("cookie reads and CSRF on writes", func(t *testing.T) {
		status, body := f.as(t, ada, false, http.MethodGet, "/v1/customers/c1", nil)
		require.Equal(t, http.StatusOK, status, "%s", body)
		status, body = f.as(t, ada, false, http.MethodGet, "/v1/sessions/current", nil)
		require.Equal(t, http.StatusOK, status, "%s", body)
		var sb sessionBody
		require.NoError(t, json.Unmarshal(body, &sb))
		require.Equal(t, ada.csrf, sb.CSRF)
		require.Equal(t, "Ada", sb.Name)

		newKey := mustJSON(t, map[string]string{"role": "marketer", "name": "csrf"})
		status, body = f.as(t, ada, false, http.MethodPost, "/v1/keys", newKey)
		require.Equal(t, http.StatusForbidden, status, "%s", body)
		e := decodeError(t, body)
		require.Equal(t, "csrf", e.Code)
		require.Contains(t, e.Message, "X-CSRF-Token")
		stale := ada
		stale.csrf = gus.csrf
		status, _ = f.as(t, stale, true, http.MethodPost, "/v1/keys", newKey)
		require.Equal(t, http.StatusForbidden, status, "another session's token")
		status, body = f.as(t, ada, true, http.MethodPost, "/v1/keys", newKey)
		require.Equal(t, http.StatusCreated, status, "%s", body)
	})

	t.Run("an API key is not a session", func(t *testing.T) {
		status, body := f.do(t, http.MethodGet, "/v1/sessions/current", "acme-admin", nil)
		require.Equal(t, http.StatusNotFound, status, "%s", body)
		require.Contains(t, decodeError(t, body).Message, "console sessions")
		// A key needs no CSRF token, and wins over a cookie.
		h := http.Header{"Authorization": {"Bearer " + f.keys["acme-admin"]}, "Cookie": {api.SessionCookie + "=siyus_garbage"}}
		status, body = f.doHeader(t, http.MethodPost, "/v1/keys", h, mustJSON(t, map[string]string{"role": "exec"}))
		require.Equal(t, http.StatusCreated, status, "%s", body)
	})

	t.Run("rep session sees only its own customers", func(t *testing.T) {
		ray, sb := f.signIn(t, "ray@acme")
		require.Equal(t, "s1", sb.StaffID)
		status, body := f.as(t, ray, false, http.MethodGet, "/v1/customers/c1", nil)
		require.Equal(t, http.StatusOK, status, "%s", body)
		status, body = f.as(t, ray, false, http.MethodGet, "/v1/customers/c2", nil)
		require.Equal(t, http.StatusNotFound, status, "%s", body)
		status, _ = f.as(t, ray, false, http.MethodGet, "/v1/users", nil)
		require.Equal(t, http.StatusForbidden, status)
	})

	t.Run("sign out", func(t *testing.T) {
		b, _ := f.signIn(t, "ada@acme")
		resp, body := f.respond(t, http.MethodDelete, "/v1/sessions/current",
			http.Header{"Cookie": {api.SessionCookie + "=" + b.token}, api.CSRFHeader: {b.csrf}}, nil)
		require.Equal(t, http.StatusNoContent, resp.StatusCode, "%s", body)
		require.Contains(t, resp.Header.Get("Set-Cookie"), "Max-Age=0")
		status, body := f.as(t, b, false, http.MethodGet, "/v1/customers/c1", nil)
		require.Equal(t, http.StatusUnauthorized, status, "%s", body)
		require.Equal(t, "signed out: sign in again", decodeError(t, body).Message)
		status, _ = f.as(t, ada, false, http.MethodGet, "/v1/customers/c1", nil)
		require.Equal(t, http.StatusOK, status, "another session of the same user lives on")
	})

	t.Run("sign out everywhere", func(t *testing.T) {
		one, _ := f.signIn(t, "ada@acme")
		two, _ := f.signIn(t, "ada@acme")
		status, body := f.as(t, one, true, http.MethodPost, "/v1/sessions/sign-out-everywhere", nil)
		require.Equal(t, http.StatusNoContent, status, "%s", body)
		for _, b := range []console{one, two, ada} {
			status, _ := f.as(t, b, false, http.MethodGet, "/v1/customers/c1", nil)
			require.Equal(t, http.StatusUnauthorized, status)
		}
		status, _ = f.as(t, gus, false, http.MethodGet, "/v1/customers/c1", nil)
		require.Equal(t, http.StatusOK, status, "other users' sessions live on")
		ada, _ = f.signIn(t, "ada@acme")
		status, _ = f.as(t, ada, false, http.MethodGet, "/v1/customers/c1", nil)
		require.Equal(t, http.StatusOK, status, "a new sign-in works")
	})

	t.Run("admin manages its tenant's users", func(t *testing.T) {
		status, body := f.as(t, ada, true, http.MethodPost, "/v1/users", mustJSON(t, map[string]string{
			"login": "rex@acme", "name": "Rex", "role": "rep", "staff_id": "s2", "password": testPassword}))
		require.Equal(t, http.StatusCreated, status, "%s", body)
		require.NotContains(t, string(body), "argon2")
		status, body = f.as(t, ada, true, http.MethodPost, "/v1/users", mustJSON(t, map[string]string{
			"login": "rex@acme", "name": "Rex", "role": "rep", "staff_id": "s2", "password": testPassword}))
		require.Equal(t, http.StatusConflict, status, "%s", body)
		for _, tc := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"login": "Rex Two", "role": "rep", "staff_id": "s2", "password": testPassword}, "login"},
			{map[string]any{"login": "rex2@acme", "role": "rep", "password": testPassword}, "staff_id"},
			{map[string]any{"login": "rex2@acme", "role": "boss", "password": testPassword}, "role"},
			{map[string]any{"login": "rex2@acme", "role": "exec", "password": "short"}, "password"},
			{map[string]any{"login": "rex2@acme", "role": "exec", "password": testPassword, "tenant": "globex"}, "tenant"},
		} {
			status, body := f.as(t, ada, true, http.MethodPost, "/v1/users", mustJSON(t, tc.body))
			require.Equal(t, http.StatusBadRequest, status, "%s", body)
			require.Equal(t, tc.field, decodeError(t, body).Field, "%s", body)
		}
		status, body = f.as(t, ada, true, http.MethodPost, "/v1/users", mustJSON(t, map[string]string{
			"login": "root@acme", "role": "platform", "password": testPassword}))
		require.Equal(t, http.StatusForbidden, status, "%s", body)

		rex, _ := f.signIn(t, "rex@acme")
		status, body = f.as(t, ada, true, http.MethodPatch, "/v1/users/rex%40acme", mustJSON(t, map[string]any{"disabled": true}))
		require.Equal(t, http.StatusOK, status, "%s", body)
		require.Contains(t, string(body), `"disabled":true`)
		status, _ = f.as(t, rex, false, http.MethodGet, "/v1/customers/c2", nil)
		require.Equal(t, http.StatusUnauthorized, status, "a disabled user's sessions are void")
		status, body = f.doHeader(t, http.MethodPost, "/v1/sessions", nil, mustJSON(t, map[string]string{"login": "rex@acme", "password": testPassword}))
		require.Equal(t, http.StatusUnauthorized, status, "%s", body)
		status, body = f.as(t, ada, true, http.MethodPatch, "/v1/users/rex@acme", mustJSON(t, map[string]any{"nmae": "x"}))
		require.Equal(t, http.StatusBadRequest, status, "%s", body)
		require.Equal(t, "nmae", decodeError(t, body).Field)

		status, body = f.as(t, ada, false, http.MethodGet, "/v1/users", nil)
		require.Equal(t, http.StatusOK, status, "%s", body)
		var list struct{ Users []auth.User }
		require.NoError(t, json.Unmarshal(body, &list))
		var names []string
		for _, u := range list.Users {
			names = append(names, u.Login)
		}
		require.Equal(t, []string{"ada@acme", "ray@acme", "rex@acme", "tim@acme"}, names)
	})

	t.Run("a user signs themself out", func(t *testing.T) {
		tim, _ := f.signIn(t, "ray@acme")
		status, body := f.as(t, tim, true, http.MethodPost, "/v1/users/ray@acme/sign-out", nil)
		require.Equal(t, http.StatusNoContent, status, "%s", body)
		status, _ = f.as(t, tim, false, http.MethodGet, "/v1/customers/c1", nil)
		require.Equal(t, http.StatusUnauthorized, status)
		ray, _ := f.signIn(t, "ray@acme")
		status, _ = f.as(t, ray, true, http.MethodPost, "/v1/users/ada@acme/sign-out", nil)
		require.Equal(t, http.StatusForbidden, status, "a rep cannot sign others out")
	})

	t.Run("tenant walls", func(t *testing.T) {
		status, body := f.as(t, gus, false, http.MethodGet, "/v1/users", nil)
		require.Equal(t, http.StatusOK, status, "%s", body)
		require.NotContains(t, string(body), "acme")
		status, _ = f.as(t, gus, false, http.MethodGet, "/v1/users?tenant=acme", nil)
		require.Equal(t, http.StatusForbidden, status)
		status, _ = f.as(t, gus, false, http.MethodGet, "/v1/keys?tenant=acme", nil)
		require.Equal(t, http.StatusForbidden, status)
		_, nobody := f.as(t, gus, true, http.MethodPatch, "/v1/users/nobody@acme", mustJSON(t, map[string]any{"name": "x"}))
		status, theirs := f.as(t, gus, true, http.MethodPatch, "/v1/users/ada@acme", mustJSON(t, map[string]any{"name": "x"}))
		require.Equal(t, http.StatusNotFound, status, "%s", theirs)
		require.JSONEq(t, string(nobody), string(theirs), "another tenant's login does not leak")
		status, _ = f.as(t, gus, true, http.MethodPost, "/v1/users/ada@acme/sign-out", nil)
		require.Equal(t, http.StatusNotFound, status)
		prefix := f.keys["acme-admin"][:9]
		status, _ = f.as(t, gus, true, http.MethodDelete, "/v1/keys/"+prefix, nil)
		require.Equal(t, http.StatusNotFound, status)
		status, _ = f.do(t, http.MethodGet, "/v1/customers/c1", "acme-admin", nil)
		require.Equal(t, http.StatusOK, status, "acme's key still works")
		status, _ = f.as(t, ada, false, http.MethodGet, "/v1/customers/c1", nil)
		require.Equal(t, http.StatusOK, status, "ada was not signed out")
	})

	t.Run("keys made and revoked through the API", func(t *testing.T) {
		status, body := f.as(t, ada, true, http.MethodPost, "/v1/keys", mustJSON(t, map[string]string{"role": "marketer", "name": "crm sync"}))
		require.Equal(t, http.StatusCreated, status, "%s", body)
		var created struct{ Key, Prefix string }
		require.NoError(t, json.Unmarshal(body, &created))
		require.Equal(t, created.Key[:9], created.Prefix)
		f.keys["crm-sync"] = created.Key
		status, _ = f.do(t, http.MethodGet, "/v1/customers/c1", "crm-sync", nil)
		require.Equal(t, http.StatusOK, status)

		status, body = f.as(t, ada, false, http.MethodGet, "/v1/keys", nil)
		require.Equal(t, http.StatusOK, status, "%s", body)
		require.Contains(t, string(body), `"prefix":"`+created.Prefix+`"`)
		require.NotContains(t, string(body), created.Key, "no secret in the list")
		require.NotContains(t, string(body), f.keys["acme-admin"])
		require.NotContains(t, string(body), "globex")

		for _, tc := range []struct {
			body  map[string]string
			code  int
			field string
		}{
			{map[string]string{"role": "rep"}, 400, "staff_id"},
			{map[string]string{"role": "platform"}, 403, "role"},
			{map[string]string{"role": "owner"}, 400, "role"},
			{map[string]string{"role": "exec", "secret": "x"}, 400, "secret"},
		} {
			status, body := f.as(t, ada, true, http.MethodPost, "/v1/keys", mustJSON(t, tc.body))
			require.Equal(t, tc.code, status, "%s", body)
			require.Equal(t, tc.field, decodeError(t, body).Field)
		}

		status, body = f.as(t, ada, true, http.MethodDelete, "/v1/keys/"+created.Prefix, nil)
		require.Equal(t, http.StatusNoContent, status, "%s", body)
		status, _ = f.do(t, http.MethodGet, "/v1/customers/c1", "crm-sync", nil)
		require.Equal(t, http.StatusUnauthorized, status, "a revoked key stops working")
		status, _ = f.as(t, ada, true, http.MethodDelete, "/v1/keys/"+created.Prefix, nil)
		require.Equal(t, http.StatusNotFound, status, "already revoked")
	})
}
