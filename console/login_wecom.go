package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-dev/siyu/api"
	"github.com/siyu-dev/siyu/wecom"
)

// WeCom sign-in: inside WeCom (the chat sidebar) the browser goes through
// WeCom's web OAuth, outside it to WeCom's QR login; either way WeCom sends
// it back to /login/wecom/callback with a code, which POST
// /v1/sessions/wecom turns into a session. A random state in a short-lived
// cookie ties the callback to the browser that started the sign-in (no
// one can sign a victim in to their own account by a crafted link).

const (
	stateCookie = "siyu_wecom_state"
	stateMaxAge = 600 // seconds: a QR code is scanned within minutes
)

// wecomLogin sends the browser to WeCom to sign in to tenant ?tenant=.
func (cons *Console) wecomLogin(c *fiber.Ctx) error {
	tenant := strings.TrimSpace(c.Query("tenant"))
	next := localPath(c.Query("next"))
	if tenant == "" {
		return cons.loginFailed(c, tenant, next, langOf(c).T("login.wecom.notenant"), "wecom-tenant")
	}
	cl := &client{api: cons.api, ctx: c.UserContext(), remote: c.Context().RemoteAddr()}
	var cfg struct {
		CorpID  string `json:"corp_id"`
		AgentID int64  `json:"agent_id"`
	}
	if err := cl.get("/v1/wecom/login-config", url.Values{"tenant": {tenant}}, &cfg); err != nil {
		return cons.loginFailed(c, tenant, next, apiMessage(c, err), "wecom-tenant")
	}
	state, err := newState()
	if err != nil {
		return cons.fail(c, err)
	}
	c.Cookie(&fiber.Cookie{Name: stateCookie, Value: url.Values{"s": {state}, "t": {tenant}, "n": {next}}.Encode(),
		Path: "/login/wecom", MaxAge: stateMaxAge, HTTPOnly: true, Secure: c.Secure(), SameSite: fiber.CookieSameSiteLaxMode})
	back := c.BaseURL() + "/login/wecom/callback"
	ep := cons.wecomEndpoints()
	to := wecom.QRLoginURL(ep.QRLogin, cfg.CorpID, cfg.AgentID, back, state)
	if inWeCom(c) {
		to = wecom.OAuthURL(ep.OAuth, cfg.CorpID, cfg.AgentID, back, state)
	}
	return c.Redirect(to, http.StatusFound)
}

// wecomEndpoints are WeCom's sign-in pages (Deps.WeCom, else WeCom's own).
func (cons *Console) wecomEndpoints() wecom.Endpoints {
	ep, def := cons.WeCom, wecom.DefaultEndpoints()
	if ep.OAuth == "" {
		ep.OAuth = def.OAuth
	}
	if ep.QRLogin == "" {
		ep.QRLogin = def.QRLogin
	}
	return ep
}

// wecomCallback is where WeCom sends the browser back: the state must be
// this browser's, and the code becomes a session.
func (cons *Console) wecomCallback(c *fiber.Ctx) error {
	saved, _ := url.ParseQuery(c.Cookies(stateCookie))
	api.ExpireCookie(c, stateCookie, "/login/wecom")
	state, tenant, next := saved.Get("s"), saved.Get("t"), localPath(saved.Get("n"))
	l := langOf(c)
	if state == "" || subtle.ConstantTimeCompare([]byte(state), []byte(c.Query("state"))) != 1 {
		return cons.loginFailed(c, tenant, next, l.T("login.wecom.stale"), "")
	}
	code := c.Query("code")
	if code == "" {
		return cons.loginFailed(c, tenant, next, l.T("login.wecom.cancelled"), "")
	}
	cl := &client{api: cons.api, ctx: c.UserContext(), remote: c.Context().RemoteAddr()}
	var u sessionUser
	resp, err := cl.do(fiber.MethodPost, "/v1/sessions/wecom", nil, map[string]string{"tenant": tenant, "code": code}, &u)
	if err != nil {
		return cons.loginFailed(c, tenant, next, apiMessage(c, err), "")
	}
	passCookie(c, resp)
	if next == "" || next == "/login" {
		next = homeOf(&u)
	}
	return c.Redirect(next, http.StatusSeeOther)
}

// allowWeComForms lets the sign-in page's WeCom form follow /login/wecom's
// redirect to WeCom: a browser holds a form's redirects to the page's
// form-action too, which is otherwise this site only (secureHeaders).
func (cons *Console) allowWeComForms(c *fiber.Ctx) {
	ep := cons.wecomEndpoints()
	c.Set("Content-Security-Policy", strings.Replace(string(c.Response().Header.Peek("Content-Security-Policy")),
		"form-action 'self'", "form-action 'self' "+origin(ep.QRLogin)+" "+origin(ep.OAuth), 1))
}

// origin is base's scheme://host, as CSP names a source.
func origin(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// loginFailed shows the sign-in page with what went wrong.
func (cons *Console) loginFailed(c *fiber.Ctx, tenant, next, why, field string) error {
	v := cons.viewOf(c, "login.title")
	v.Bare, v.Error, v.Field = true, why, field
	cons.allowWeComForms(c)
	v.Data = loginForm{Next: next, Tenant: tenant}
	c.Status(http.StatusBadRequest)
	return cons.renderView(c, "login", v)
}

// apiMessage is an API refusal's own message (it says what to do).
func apiMessage(c *fiber.Ctx, err error) string {
	v := &view{L: langOf(c)}
	formError(v, err)
	return v.Error
}

func newState() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}
