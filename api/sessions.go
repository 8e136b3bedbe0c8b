package api

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-dev/siyu/auth"
)

// Console sessions: the web console signs a user in with POST
// /v1/sessions, which sets an HttpOnly cookie; every /v1 route then
// accepts that cookie instead of an API key (authenticate). A write made
// with the cookie must carry the session's CSRF token in X-CSRF-Token, so
// that another site cannot make the browser write on the user's behalf.

// SessionCookie is the cookie that holds a console session's token.
const SessionCookie = "siyu_session"

// CSRFHeader is the header a cookie-authenticated write carries the
// session's CSRF token in.
const CSRFHeader = "X-CSRF-Token"

// sessionKey is where authenticate leaves a cookie session's
// auth.SessionInfo in c.Locals (absent for an API key).
const sessionKey = "siyu.session"

const usersOff = "console users are not enabled on this server"

// errCSRF refuses a cookie-authenticated write without the session's token.
var errCSRF = &Error{Status: http.StatusForbidden, Code: "csrf",
	Message: "missing or stale " + CSRFHeader + ": reload the page and try again"}

// authenticateSession authenticates a request by its session cookie.
func (s *Server) authenticateSession(c *fiber.Ctx, token string) error {
	ctx, cancel := context.WithTimeout(ctxOf(c), keyCheckTimeout)
	p, info, err := s.Users.Session(ctx, token)
	cancel()
	switch {
	case errors.Is(err, auth.ErrNoSession):
		clearSessionCookie(c)
		return err
	case err != nil:
		s.log.Warn("session check failed", "err", err)
		return unavailable("cannot check your session right now (its store does not answer): try again in a moment")
	}
	if !safeMethod(c.Method()) {
		got := c.Get(CSRFHeader)
		if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(info.CSRF)) != 1 {
			return errCSRF
		}
	}
	c.Locals(principalKey, p)
	c.Locals(sessionKey, info)
	return c.Next()
}

func safeMethod(m string) bool {
	return m == fiber.MethodGet || m == fiber.MethodHead || m == fiber.MethodOptions
}

// sessionOf is the caller's console session; false for an API key.
func sessionOf(c *fiber.Ctx) (auth.SessionInfo, bool) {
	info, ok := c.Locals(sessionKey).(auth.SessionInfo)
	return info, ok
}

// setSessionCookie hands the browser its session: HttpOnly (no script
// reads it), SameSite=Lax (not sent on other sites' writes), Secure when
// the request came over TLS.
func setSessionCookie(c *fiber.Ctx, token string, expires time.Time) {
	c.Cookie(&fiber.Cookie{Name: SessionCookie, Value: token, Path: "/", Expires: expires,
		HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode, Secure: c.Secure()})
}

// clearSessionCookie tells the browser to drop its session cookie.
func clearSessionCookie(c *fiber.Ctx) { ExpireCookie(c, SessionCookie, "/") }

// ExpireCookie tells the browser to drop its cookie name of path (the
// console's cookies too). It writes the header itself: fasthttp cannot
// write Max-Age=0, and a cookie set empty without it would live on, empty,
// until the browser closes.
func ExpireCookie(c *fiber.Ctx, name, path string) {
	v := name + "=; Path=" + path + "; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax"
	if c.Secure() {
		v += "; Secure"
	}
	c.Append(fiber.HeaderSetCookie, v)
}

// sessionGroup is sign-in and the caller's own session.
type sessionGroup struct {
	Users *auth.Users
}

// publicRoutes are mounted before authentication: signing in needs none.
func (s *sessionGroup) publicRoutes() []route {
	return []route{on(fiber.MethodPost, "/v1/sessions", s.signIn)}
}

func (s *sessionGroup) routes() []route {
	return []route{
		on(fiber.MethodGet, "/sessions/current", s.currentSession),
		on(fiber.MethodDelete, "/sessions/current", s.signOut),
		on(fiber.MethodPost, "/sessions/sign-out-everywhere", s.signOutEverywhere),
	}
}

type signInRequest struct {
	Login    string `json:"login"`
	Password string `json:"password"`
}

// Session is a console session as GET /v1/sessions/current answers it
// (never its token); the console decodes it.
type Session struct {
	Login     string    `json:"login"`
	Tenant    string    `json:"tenant"`
	Name      string    `json:"name"`
	Role      auth.Role `json:"role"`
	StaffID   string    `json:"staff_id"`
	CSRF      string    `json:"csrf"`
	ExpiresAt time.Time `json:"expires_at"`
}

// signIn checks a login and password, sets the session cookie and answers
// 201 with the session; 401 for wrong credentials, 429 with Retry-After
// when the login or the address failed too often.
func (s *sessionGroup) signIn(c *fiber.Ctx) error {
	var req signInRequest
	if err := decodeBody(c, &req, `send {"login": "...", "password": "..."}`); err != nil {
		return err
	}
	if req.Login == "" {
		return badRequest("login", "login is required")
	}
	if req.Password == "" {
		return badRequest("password", "password is required")
	}
	sess, err := s.Users.SignIn(ctxOf(c), req.Login, req.Password, c.IP())
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

var errNotASession = notFound("this route is for console sessions (the " + SessionCookie +
	" cookie from POST /v1/sessions); an API key has no session")

// currentSession describes the caller's session.
func (s *sessionGroup) currentSession(c *fiber.Ctx) error {
	info, ok := sessionOf(c)
	if !ok {
		return errNotASession
	}
	p := principal(c)
	return c.JSON(Session{Login: info.Login, Tenant: info.Tenant, Name: p.Name, Role: p.Role,
		StaffID: p.StaffID, CSRF: info.CSRF, ExpiresAt: info.Expires})
}

// signOut ends the caller's session and clears its cookie.
func (s *sessionGroup) signOut(c *fiber.Ctx) error {
	if _, ok := sessionOf(c); !ok {
		return errNotASession
	}
	if err := s.Users.SignOut(ctxOf(c), c.Cookies(SessionCookie)); err != nil {
		return err
	}
	clearSessionCookie(c)
	return c.SendStatus(http.StatusNoContent)
}

// signOutEverywhere ends every session of the caller's login.
func (s *sessionGroup) signOutEverywhere(c *fiber.Ctx) error {
	info, ok := sessionOf(c)
	if !ok {
		return errNotASession
	}
	if err := s.Users.SignOutEverywhere(ctxOf(c), info.Login); err != nil {
		return err
	}
	clearSessionCookie(c)
	return c.SendStatus(http.StatusNoContent)
}

// userGroup is the tenants' console users, managed by their admins.
type userGroup struct {
	Users *auth.Users
}

func (s *userGroup) routes() []route {
	admins := allowRoles(auth.RoleAdmin, auth.RolePlatform)
	return []route{
		on(fiber.MethodGet, "/users", admins, s.listUsers),
		on(fiber.MethodPost, "/users", admins, s.createUser),
		on(fiber.MethodPatch, "/users/:login", admins, s.updateUser),
		on(fiber.MethodPost, "/users/:login/sign-out", s.signOutUser),
	}
}

type userListResponse struct {
	Users []auth.User `json:"users"`
}

func (s *userGroup) listUsers(c *fiber.Ctx) error {
	tenant, err := tenantOf(c)
	if err != nil {
		return err
	}
	users, err := s.Users.List(ctxOf(c), tenant)
	if err != nil {
		return err
	}
	if users == nil {
		users = []auth.User{}
	}
	return c.JSON(userListResponse{Users: users})
}

type createUserRequest struct {
	Login    string `json:"login"`
	Name     string `json:"name"`
	Role     string `json:"role"`
	StaffID  string `json:"staff_id"`
	Password string `json:"password"`
}

// createUser creates a console user in the caller's tenant (a platform
// caller names it with ?tenant=).
func (s *userGroup) createUser(c *fiber.Ctx) error {
	var req createUserRequest
	if err := decodeBody(c, &req, `send {"login", "name", "role", "staff_id", "password"}`); err != nil {
		return err
	}
	tenant, err := tenantOf(c)
	if err != nil {
		return err
	}
	if err := grantable(c, auth.Role(req.Role)); err != nil {
		return err
	}
	u, err := s.Users.Create(ctxOf(c), auth.NewUser{Login: req.Login, Tenant: tenant, Name: req.Name,
		Role: auth.Role(req.Role), StaffID: req.StaffID, Password: req.Password})
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(u)
}

// grantable refuses to give the platform role to anyone but a platform
// caller: an admin's powers end at its tenant.
func grantable(c *fiber.Ctx, r auth.Role) error {
	if r == auth.RolePlatform && !principal(c).Is(auth.RolePlatform) {
		return &Error{Status: http.StatusForbidden, Code: "forbidden", Field: "role",
			Message: "only the operator (a platform caller) may grant role platform"}
	}
	return nil
}

type updateUserRequest struct {
	Name     *string `json:"name"`
	Role     *string `json:"role"`
	StaffID  *string `json:"staff_id"`
	Disabled *bool   `json:"disabled"`
	Password *string `json:"password"`
}

// updateUser changes a console user of the caller's tenant.
func (s *userGroup) updateUser(c *fiber.Ctx) error {
	login, err := s.userOfTenant(c)
	if err != nil {
		return err
	}
	var req updateUserRequest
	if err := decodeBody(c, &req, `send any of {"name", "role", "staff_id", "disabled", "password"}`); err != nil {
		return err
	}
	up := auth.UserUpdate{Name: req.Name, StaffID: req.StaffID, Disabled: req.Disabled, Password: req.Password}
	if req.Role != nil {
		r := auth.Role(*req.Role)
		if err := grantable(c, r); err != nil {
			return err
		}
		up.Role = &r
	}
	u, err := s.Users.Update(ctxOf(c), login, up)
	if err != nil {
		return err
	}
	return c.JSON(u)
}

// signOutUser ends every session of a user: the user themself, or an
// admin of their tenant.
func (s *userGroup) signOutUser(c *fiber.Ctx) error {
	login, err := loginParam(c)
	if err != nil {
		return err
	}
	self := principal(c).Login == login
	if !self {
		if err := allow(c, auth.RoleAdmin, auth.RolePlatform); err != nil {
			return err
		}
		if login, err = s.userOfTenant(c); err != nil {
			return err
		}
	}
	if err := s.Users.SignOutEverywhere(ctxOf(c), login); err != nil {
		return err
	}
	if self {
		clearSessionCookie(c)
	}
	return c.SendStatus(http.StatusNoContent)
}

// userOfTenant returns the :login of the request when that user belongs
// to the tenant the caller acts on; a user of another tenant is not found,
// exactly as one that does not exist, so that logins do not leak.
func (s *userGroup) userOfTenant(c *fiber.Ctx) (string, error) {
	login, err := loginParam(c)
	if err != nil {
		return "", err
	}
	tenant, err := tenantOf(c)
	if err != nil {
		return "", err
	}
	u, err := s.Users.Get(ctxOf(c), login)
	if err != nil {
		return "", err
	}
	if u.Tenant != tenant {
		return "", auth.ErrNoUser
	}
	return login, nil
}

// loginParam is the :login of the path, percent-decoded ('@' may come as
// %40), or a 400 naming it.
func loginParam(c *fiber.Ctx) (string, error) {
	login, err := url.PathUnescape(c.Params("login"))
	if err != nil || !auth.ValidLogin(login) {
		return "", badRequest("login", "a login has 3 to 64 characters of a-z, 0-9, '.', '_', '@' and '-'")
	}
	return strings.Clone(login), nil
}

// keyGroup is the tenants' API keys, managed by their admins.
type keyGroup struct {
	Keys *auth.Keys
}

func (s *keyGroup) routes() []route {
	admins := allowRoles(auth.RoleAdmin, auth.RolePlatform)
	return []route{
		on(fiber.MethodGet, "/keys", admins, s.listKeys),
		on(fiber.MethodPost, "/keys", admins, s.createKey),
		on(fiber.MethodDelete, "/keys/:prefix", admins, s.revokeKey),
	}
}

type keyListResponse struct {
	Keys []auth.KeyInfo `json:"keys"`
}

func (s *keyGroup) listKeys(c *fiber.Ctx) error {
	tenant, err := tenantOf(c)
	if err != nil {
		return err
	}
	keys, err := s.Keys.List(ctxOf(c), tenant)
	if err != nil {
		return err
	}
	if keys == nil {
		keys = []auth.KeyInfo{}
	}
	return c.JSON(keyListResponse{Keys: keys})
}

type createKeyRequest struct {
	Role    string `json:"role"`
	StaffID string `json:"staff_id"`
	Name    string `json:"name"`
}

type createdKey struct {
	Key string `json:"key"`
	auth.KeyInfo
}

// maxKeyNameLen bounds a key's label, in characters.
const maxKeyNameLen = 128

// createKey makes a key of the caller's tenant and answers its secret,
// the only time it is shown.
func (s *keyGroup) createKey(c *fiber.Ctx) error {
	var req createKeyRequest
	if err := decodeBody(c, &req, `send {"role", "staff_id", "name"}`); err != nil {
		return err
	}
	tenant, err := tenantOf(c)
	if err != nil {
		return err
	}
	role, err := auth.ParseRole(req.Role)
	if err != nil {
		return badRequest("role", err.Error())
	}
	if role == auth.RolePlatform {
		return &Error{Status: http.StatusForbidden, Code: "forbidden", Field: "role",
			Message: "a platform key is made by the operator with `siyu keys create`, not through the API"}
	}
	if req.StaffID != "" {
		if err := checkID("staff_id", req.StaffID); err != nil {
			return err
		}
	}
	if role == auth.RoleRep && req.StaffID == "" {
		return badRequest("staff_id", "a rep key needs a staff_id: the rep's WeCom userid")
	}
	if !utf8.ValidString(req.Name) || utf8.RuneCountInString(req.Name) > maxKeyNameLen {
		return badRequest("name", "a key's name has at most 128 characters of valid UTF-8")
	}
	r := auth.NewKeyRequest{Tenant: tenant, Role: role, StaffID: req.StaffID, Name: req.Name}
	secret, err := s.Keys.Create(ctxOf(c), r)
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(createdKey{Key: secret, KeyInfo: auth.KeyInfo{Prefix: secret[:9],
		Role: role, StaffID: req.StaffID, Name: req.Name, CreatedAt: time.Now().UTC().Truncate(time.Second)}})
}

// revokeKey revokes the key of the caller's tenant with that prefix.
func (s *keyGroup) revokeKey(c *fiber.Ctx) error {
	tenant, err := tenantOf(c)
	if err != nil {
		return err
	}
	prefix, err := pathID(c, "prefix", "the key prefix")
	if err != nil {
		return err
	}
	if _, err := s.Keys.Revoke(ctxOf(c), tenant, prefix); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}
