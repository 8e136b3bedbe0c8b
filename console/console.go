// Package console is Siyu's face: a web console for reps, managers,
// marketers, executives, billing and admins, and the chat sidebar WeCom
// opens beside a conversation with a customer. Pages are rendered on the
// server (html/template) from the public API's answers, called in-process
// with the person's own session (api.Caller), so the console never shows
// what the API would not give that person, and the two never disagree. A
// small script (assets/console.js) adds what needs the browser: the
// segment builder's live count, job progress, the WeCom JS-SDK.
package console

import (
	"crypto/subtle"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/compress"

	"github.com/siyu-dev/siyu/api"
	"github.com/siyu-dev/siyu/auth"
	"github.com/siyu-dev/siyu/wecom"
)

//go:embed templates
var templateFS embed.FS

// Deps are what the console needs besides the API it calls.
type Deps struct {
	Log *slog.Logger
	// GrafanaURL, when set, is where the executive pages link the
	// provisioned dashboards.
	GrafanaURL string
	// WeCom is where WeCom's sign-in pages are (its OAuth and QR login,
	// as the API's WeCom clients have them); empty: WeCom's own.
	WeCom wecom.Endpoints
}

// Console serves the pages. Build it with New; api.New mounts it.
type Console struct {
	Deps
	api    api.Caller
	pages  []page
	tmpl   map[string]*template.Template
	assets *assetSet
}

// New parses the templates and assets; a broken template is an error here,
// not on a person's screen.
func New(d Deps) (*Console, error) {
	cons := &Console{Deps: d}
	cons.GrafanaURL = strings.TrimSuffix(cons.GrafanaURL, "/")
	if cons.Log == nil {
		cons.Log = slog.New(slog.DiscardHandler)
	}
	var err error
	if cons.assets, err = loadAssets(); err != nil {
		return nil, err
	}
	if cons.tmpl, err = parseTemplates(cons.assets); err != nil {
		return nil, err
	}
	cons.pages = slices.Concat(cons.corePages(), cons.repPages(), cons.customerPages(), cons.teamPages(),
		cons.marketerPages(), cons.execPages(), cons.billingPages(), cons.adminPages())
	return cons, nil
}

// page is one page of the console: its path, its phrase key in the
// navigation (none: not listed), who may open it, and its handlers.
type page struct {
	path   string
	nav    string
	roles  []auth.Role
	get    fiber.Handler
	posts  map[string]fiber.Handler // sub-path ("" for the page itself) → form handler
	parent string                   // the nav entry this page belongs to
}

// Mount adds the console's routes to app, calling the API through caller.
func (cons *Console) Mount(app *fiber.App, caller api.Caller) {
	cons.api = caller
	app.Get("/assets/*", cons.serveAsset)
	app.Get("/favicon.ico", func(c *fiber.Ctx) error { return c.Redirect(cons.assets.url("icon.svg"), http.StatusMovedPermanently) })
	web := app.Group("", compress.New(), secureHeaders)
	web.Get("/", cons.signedIn, func(c *fiber.Ctx) error { return c.Redirect(homeOf(userOf(c)), http.StatusSeeOther) })
	web.Get("/login", cons.loginPage)
	web.Post("/login", cons.login)
	web.Get("/login/wecom", cons.wecomLogin)
	web.Get("/login/wecom/callback", cons.wecomCallback)
	web.Post("/logout", cons.signedIn, cons.checkForm, cons.logout)
	for _, p := range cons.pages {
		web.Get(p.path, cons.signedIn, cons.onlyRoles(p.roles), p.get)
		for sub, h := range p.posts {
			web.Post(p.path+sub, cons.signedIn, cons.onlyRoles(p.roles), cons.checkForm, h)
		}
	}
	web.Use("/app", cons.signedIn, func(c *fiber.Ctx) error {
		return cons.fail(c, &apiError{Status: http.StatusNotFound, Code: "not_found"})
	})
}

// secureHeaders keeps the pages from being framed, sniffed or leaking
// their addresses, and allows scripts and styles from Siyu itself only.
func secureHeaders(c *fiber.Ctx) error {
	c.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "+
		"connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("Referrer-Policy", "same-origin")
	return c.Next()
}

// sessionUser is who is signed in: GET /v1/sessions/current's answer.
type sessionUser = api.Session

const userKey = "console.user"

func userOf(c *fiber.Ctx) *sessionUser {
	u, _ := c.Locals(userKey).(*sessionUser)
	return u
}

// signedIn asks the API who the session cookie belongs to; without a
// live session the person is sent to sign in, and back here after.
func (cons *Console) signedIn(c *fiber.Ctx) error {
	if c.Cookies(api.SessionCookie) == "" {
		return cons.toLogin(c, "")
	}
	var u sessionUser
	if err := cons.clientOf(c).get("/v1/sessions/current", nil, &u); err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
			api.ExpireCookie(c, api.SessionCookie, "/")
			return cons.toLogin(c, "expired")
		}
		return cons.fail(c, err)
	}
	c.Locals(userKey, &u)
	return c.Next()
}

func (cons *Console) toLogin(c *fiber.Ctx, why string) error {
	q := url.Values{"next": {string(c.Request().URI().RequestURI())}}
	if tenant := c.Query("tenant"); tenant != "" && inWeCom(c) {
		// Inside WeCom (the sidebar's URL names its tenant): WeCom signs
		// the member in, no password.
		q.Set("tenant", tenant)
		return c.Redirect("/login/wecom?"+q.Encode(), http.StatusSeeOther)
	}
	if why != "" {
		q.Set("why", why)
	}
	return c.Redirect("/login?"+q.Encode(), http.StatusSeeOther)
}

// onlyRoles shows a page to its roles only; the API's walls still decide
// what each call returns.
func (cons *Console) onlyRoles(roles []auth.Role) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if u := userOf(c); len(roles) > 0 && !slices.Contains(roles, u.Role) {
			return cons.fail(c, &apiError{Status: http.StatusForbidden, Code: "forbidden_page"})
		}
		return c.Next()
	}
}

// checkForm refuses a form post without the session's CSRF token (every
// form carries it in the hidden field csrf; scripts send X-CSRF-Token).
func (cons *Console) checkForm(c *fiber.Ctx) error {
	token := c.FormValue("csrf")
	if token == "" {
		token = c.Get(api.CSRFHeader)
	}
	if u := userOf(c); u == nil || subtle.ConstantTimeCompare([]byte(token), []byte(u.CSRF)) != 1 {
		return cons.fail(c, &apiError{Status: http.StatusForbidden, Code: "csrf"})
	}
	return c.Next()
}

// homeOf is where a role starts.
func homeOf(u *sessionUser) string {
	if u == nil {
		return "/login"
	}
	switch u.Role {
	case auth.RoleRep:
		return "/app/day"
	case auth.RoleManager:
		return "/app/team"
	case auth.RoleMarketer:
		return "/app/segments"
	case auth.RoleExec:
		return "/app/adoption"
	case auth.RoleBilling, auth.RolePlatform:
		return "/app/billing"
	default:
		return "/app/admin"
	}
}

// localPath is next if it is a path on this site, else "": a sign-in
// never sends the person to another site.
func localPath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Host != "" || u.Scheme != "" {
		return ""
	}
	return next
}

// view is what every template gets.
type view struct {
	L       Lang
	User    *sessionUser
	Title   string
	Nav     []navItem
	Path    string
	Notice  string // a success message
	Error   string // what went wrong, and what to do
	Field   string // the form field at fault
	CSRF    string
	Asset   func(name string) string
	Bare    bool // no navigation: the sidebar and the sign-in page
	Data    any
	Tenants []string
}

type navItem struct {
	Href, Label string
	Current     bool
}

// render writes page name with data, status 200 unless set before.
func (cons *Console) render(c *fiber.Ctx, name, title string, data any) error {
	v := cons.viewOf(c, title)
	v.Data = data
	return cons.renderView(c, name, v)
}

func (cons *Console) viewOf(c *fiber.Ctx, title string) *view {
	l := langOf(c)
	v := &view{L: l, User: userOf(c), Title: l.T(title), Path: c.Path(), Asset: cons.assets.url}
	if v.User != nil {
		v.CSRF = v.User.CSRF
		v.Nav = cons.navFor(v.User, c.Path(), l)
	}
	if n := c.Query("done"); n != "" {
		if _, ok := catalog[n]; ok {
			v.Notice = l.T(n)
		}
	}
	return v
}

func (cons *Console) renderView(c *fiber.Ctx, name string, v *view) error {
	t, ok := cons.tmpl[name]
	if !ok {
		return errors.New("console: no template " + name)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return t.ExecuteTemplate(c.Response().BodyWriter(), "layout", v)
}

func (cons *Console) navFor(u *sessionUser, current string, l Lang) []navItem {
	var out []navItem
	for _, p := range cons.pages {
		if p.nav == "" || (len(p.roles) > 0 && !slices.Contains(p.roles, u.Role)) {
			continue
		}
		out = append(out, navItem{Href: p.path, Label: l.T(p.nav), Current: current == p.path || strings.HasPrefix(current, p.path+"/")})
	}
	return out
}

// fail shows an error page: the API's message when it has one (it says
// what to do), else a phrase for the kind of failure.
func (cons *Console) fail(c *fiber.Ctx, err error) error {
	v := cons.viewOf(c, "error.title")
	var ae *apiError
	if !errors.As(err, &ae) {
		cons.Log.Error("console page failed", "path", c.Path(), "err", err)
		ae = &apiError{Status: http.StatusInternalServerError, Code: "internal"}
	}
	switch {
	case ae.Code == "forbidden_page":
		role := "—"
		if v.User != nil {
			role = v.L.T("role." + string(v.User.Role))
		}
		v.Error = v.L.F("error.forbidden", role)
	case ae.Code == "csrf":
		v.Error = v.L.T("error.csrf")
	case ae.Status == http.StatusNotFound && ae.Message == "":
		v.Error = v.L.T("error.notfound")
	case ae.Message != "":
		v.Error = ae.Error()
	default:
		v.Error = v.L.T("error.unavailable")
	}
	c.Status(ae.Status)
	return cons.renderView(c, "error", v)
}

// formError re-renders a page with the API's refusal beside the form.
func formError(v *view, err error) {
	var ae *apiError
	if errors.As(err, &ae) {
		v.Error, v.Field = ae.Message, ae.Field
		return
	}
	v.Error = v.L.T("error.unavailable")
}

// back redirects to the page a form was on, with a notice phrase.
func back(c *fiber.Ctx, to, notice string) error {
	if notice != "" {
		sep := "?"
		if strings.Contains(to, "?") {
			sep = "&"
		}
		to += sep + "done=" + url.QueryEscape(notice)
	}
	return c.Redirect(to, http.StatusSeeOther)
}

// parseTemplates builds each page's template: the layout and partials,
// then the page's own file (each defines "content").
func parseTemplates(a *assetSet) (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"add":   func(a, b int) int { return a + b },
		"query": url.QueryEscape,
		"itoa":  strconv.Itoa,
	}
	base, err := template.New("layout").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials/*.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, err
		}
		out[name] = t
	}
	return out, nil
}
