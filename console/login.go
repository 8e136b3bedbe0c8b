package console

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/siyu-dev/siyu/api"
)

type loginForm struct {
	Next, Login, Tenant string
}

// corePages are the pages every role has (none listed in the navigation).
func (cons *Console) corePages() []page { return nil }

func (cons *Console) loginPage(c *fiber.Ctx) error {
	v := cons.viewOf(c, "login.title")
	v.Bare = true
	switch c.Query("why") {
	case "expired":
		v.Error = v.L.T("login.expired")
	case "bye":
		v.Notice = v.L.T("login.signedout")
	}
	v.Data = loginForm{Next: localPath(c.Query("next")), Tenant: c.Query("tenant")}
	cons.allowWeComForms(c)
	return cons.renderView(c, "login", v)
}

// login signs in through POST /v1/sessions and hands its cookie to the
// browser; a refusal is shown beside the form, saying what to do.
func (cons *Console) login(c *fiber.Ctx) error {
	if !sameOrigin(c) {
		return cons.fail(c, &apiError{Status: http.StatusForbidden, Code: "csrf"})
	}
	form := loginForm{Next: localPath(c.FormValue("next")), Login: c.FormValue("login")}
	cl := &client{api: cons.api, ctx: c.UserContext(), remote: c.Context().RemoteAddr()}
	var u sessionUser
	resp, err := cl.do(fiber.MethodPost, "/v1/sessions", nil, map[string]string{"login": form.Login, "password": c.FormValue("password")}, &u)
	if err != nil {
		v := cons.viewOf(c, "login.title")
		v.Bare, v.Data = true, form
		var ae *apiError
		switch {
		case errors.As(err, &ae) && ae.Status == http.StatusTooManyRequests:
			wait, _ := strconv.Atoi(string(resp.Header.Peek(fiber.HeaderRetryAfter)))
			v.Error = v.L.F("login.throttled", max(wait, 1))
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(max(wait, 1)))
		case errors.As(err, &ae) && ae.Status == http.StatusUnauthorized:
			v.Error = v.L.T("login.bad")
		default:
			formError(v, err)
		}
		if ae != nil {
			c.Status(ae.Status)
			v.Field = ae.Field
		}
		return cons.renderView(c, "login", v)
	}
	passCookie(c, resp)
	next := form.Next
	if next == "" || next == "/login" {
		next = homeOf(&u)
	}
	return c.Redirect(next, http.StatusSeeOther)
}

// passCookie hands the API's session cookie to the browser, Secure when
// the browser's own connection is TLS (the in-process call is not).
func passCookie(c *fiber.Ctx, resp *fasthttp.Response) {
	var ck fasthttp.Cookie
	ck.SetKey(api.SessionCookie)
	if !resp.Header.Cookie(&ck) {
		return
	}
	ck.SetSecure(c.Secure())
	c.Response().Header.SetCookie(&ck)
}

// logout ends this session, or with everywhere=1 every session of the
// person (a lost phone), and clears the cookie.
func (cons *Console) logout(c *fiber.Ctx) error {
	cl := cons.clientOf(c)
	var err error
	if c.FormValue("everywhere") == "1" {
		err = cl.send(fiber.MethodPost, "/v1/sessions/sign-out-everywhere", nil, nil)
	} else {
		_, err = cl.do(fiber.MethodDelete, "/v1/sessions/current", nil, nil, nil)
	}
	if err != nil {
		return cons.fail(c, err)
	}
	api.ExpireCookie(c, api.SessionCookie, "/")
	return c.Redirect("/login?why=bye", http.StatusSeeOther)
}

// sameOrigin refuses a cross-site form post (login CSRF): when the browser
// names the page's origin, it must be this host.
func sameOrigin(c *fiber.Ctx) bool {
	origin := c.Get(fiber.HeaderOrigin)
	if origin == "" {
		return c.Get("Sec-Fetch-Site") != "cross-site"
	}
	return origin == c.Protocol()+"://"+c.Hostname()
}
