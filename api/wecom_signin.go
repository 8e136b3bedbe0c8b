package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-dev/siyu/auth"
	"github.com/siyu-dev/siyu/wecom"
)

// WeCom sign-in: a member is signed in to the console by WeCom itself,
// with the web OAuth inside WeCom (the chat sidebar) or the QR login
// outside it. The console sends the browser to WeCom with the tenant's
// public app settings (GET /v1/wecom/login-config), WeCom sends it back
// with a code, and POST /v1/sessions/wecom turns the code into the
// member's userid (the tenant's app, GET /cgi-bin/auth/getuserinfo) and
// that into a session of the console user whose staff id it is. Neither
// route needs a key: the person is not signed in yet.

// wecomSignInGroup is WeCom sign-in, with each tenant's app.
type wecomSignInGroup struct {
	Users   *auth.Users
	Clients *wecom.Clients
}

// publicRoutes are mounted before authentication, like POST /v1/sessions.
func (s *wecomSignInGroup) publicRoutes() []route {
	return []route{
		on(fiber.MethodPost, "/v1/sessions/wecom", s.signIn),
		on(fiber.MethodGet, "/v1/wecom/login-config", s.loginConfig),
	}
}

// wecomLoginConfig is what a sign-in page needs to send a browser to
// WeCom: public values only (both appear in WeCom's own sign-in URL).
type wecomLoginConfig struct {
	Tenant  string `json:"tenant"`
	CorpID  string `json:"corp_id"`
	AgentID int64  `json:"agent_id"`
}

// errWeComSignInOff is a tenant without a configured WeCom app: sign-in
// cannot start, and the person cannot fix it.
func errWeComSignInOff(tenant string) *Error {
	return notFound("WeCom sign-in is not set up for tenant " + tenant + ": an admin must set the corp id, agent id " +
		"and secret of the WeCom app in WeCom settings (PUT /v1/wecom/config); until then sign in with a login and password")
}

// loginConfig answers the tenant's corp id and agent id (?tenant=), 404
// when its WeCom app is not configured.
func (s *wecomSignInGroup) loginConfig(c *fiber.Ctx) error {
	tenant := c.Query("tenant")
	if err := checkTenantParam(tenant); err != nil {
		return err
	}
	_, cfg, err := s.Clients.For(ctxOf(c), tenant)
	if errors.Is(err, wecom.ErrAppNotConfigured) {
		return errWeComSignInOff(tenant)
	}
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(wecomLoginConfig{Tenant: tenant, CorpID: cfg.CorpID, AgentID: cfg.AgentID})
}

func checkTenantParam(tenant string) error {
	if tenant == "" {
		return badRequest("tenant", "tenant is required: the company's tenant id, e.g. ?tenant=demo")
	}
	return checkTenant(tenant)
}

type wecomSignInRequest struct {
	Tenant string `json:"tenant"`
	Code   string `json:"code"`
}

// maxOAuthCode bounds the code WeCom's redirect carried.
const maxOAuthCode = 512

// weComCodeRefused are getuserinfo's errcodes for a code that is wrong,
// used or expired (40029 invalid code, 42003 expired): the person signs in
// again.
var weComCodeRefused = map[int]bool{40029: true, 42003: true}

// signIn turns a WeCom OAuth code into a console session: the same cookie
// and answer as POST /v1/sessions.
func (s *wecomSignInGroup) signIn(c *fiber.Ctx) error {
	var req wecomSignInRequest
	if err := decodeBody(c, &req, `send {"tenant": "...", "code": "<the code WeCom's redirect carried>"}`); err != nil {
		return err
	}
	if err := checkTenantParam(req.Tenant); err != nil {
		return err
	}
	if req.Code == "" || len(req.Code) > maxOAuthCode {
		return badRequest("code", "code is required (at most 512 bytes): the code WeCom's redirect carried")
	}
	ctx := ctxOf(c)
	client, _, err := s.Clients.For(ctx, req.Tenant)
	if errors.Is(err, wecom.ErrAppNotConfigured) {
		return errWeComSignInOff(req.Tenant)
	}
	if err != nil {
		return err
	}
	sess, err := s.Users.SignInWeCom(ctx, req.Tenant, c.IP(), func(ctx context.Context) (string, error) {
		userID, err := client.UserID(ctx, req.Code)
		var refused *wecom.APIError
		switch {
		case errors.Is(err, wecom.ErrNotMember):
			return "", errors.Join(auth.ErrSignInRefused,
				forbidden("WeCom says this account is not a member of the company: sign in with your company's WeCom account"))
		case errors.As(err, &refused) && weComCodeRefused[refused.Code]:
			return "", errors.Join(auth.ErrSignInRefused,
				unauthorized("the WeCom sign-in code is wrong, used or expired: sign in with WeCom again"))
		}
		return userID, err
	})
	var throttled *auth.SignInThrottledError
	if errors.As(err, &throttled) {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(retryAfterSeconds(throttled.RetryAfter)))
	}
	if err != nil {
		return err
	}
	setSessionCookie(c, sess.Token, sess.Expires)
	u := sess.User
	return c.Status(http.StatusCreated).JSON(Session{Login: u.Login, Tenant: u.Tenant, Name: u.Name,
		Role: u.Role, StaffID: u.StaffID, CSRF: sess.CSRF, ExpiresAt: sess.Expires})
}
