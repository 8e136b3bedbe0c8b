package wecom

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/siyu-dev/siyu/errkind"
)

// Endpoints are where WeCom is: its server API (tokens, tickets, the
// member behind an OAuth code), the web OAuth that pages opened inside
// WeCom redirect through, and the QR login of a browser outside it. Tests
// and private deployments point them at stand-ins.
type Endpoints struct {
	API     string
	OAuth   string
	QRLogin string
}

// The default endpoints: WeCom's own.
const (
	DefaultOAuthBase   = "https://open.weixin.qq.com"
	DefaultQRLoginBase = "https://login.work.weixin.qq.com"
)

// DefaultEndpoints are WeCom's own endpoints.
func DefaultEndpoints() Endpoints {
	return Endpoints{API: DefaultAPIBase, OAuth: DefaultOAuthBase, QRLogin: DefaultQRLoginBase}
}

// Validate checks that each endpoint is an absolute http(s) URL.
func (e Endpoints) Validate() error {
	for _, f := range []struct{ name, base string }{{"api", e.API}, {"oauth", e.OAuth}, {"qr login", e.QRLogin}} {
		if err := CheckBase(f.base); err != nil {
			return fmt.Errorf("wecom %s endpoint: %w", f.name, err)
		}
	}
	return nil
}

// CheckBase reports whether base is an absolute http(s) URL without a
// query or fragment, as every endpoint must be.
func CheckBase(base string) error {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q is not an absolute http(s) URL like https://host", base)
	}
	return nil
}

// OAuthURL is where a page opened inside WeCom sends the member to be
// signed in (WeCom's web OAuth, developer.work.weixin.qq.com/document/path/91022):
// WeCom redirects back to redirect with ?code=CODE&state=STATE, and
// APIClient.UserID turns the code into the member's userid. scope is
// snsapi_base (no consent page: the userid only). state comes back as is;
// WeCom takes a-zA-Z0-9 up to 128 bytes.
func OAuthURL(base, corpID string, agentID int64, redirect, state string) string {
	return strings.TrimRight(base, "/") + "/connect/oauth2/authorize?appid=" + url.QueryEscape(corpID) +
		"&redirect_uri=" + url.QueryEscape(redirect) + "&response_type=code&scope=snsapi_base&state=" +
		url.QueryEscape(state) + "&agentid=" + strconv.FormatInt(agentID, 10) + "#wechat_redirect"
}

// QRLoginURL is where a browser outside WeCom sends the member to sign in
// by scanning a QR code with the WeCom app (WeCom's web login,
// developer.work.weixin.qq.com/document/path/98151); the redirect back
// carries ?code=CODE&state=STATE as OAuthURL's does.
func QRLoginURL(base, corpID string, agentID int64, redirect, state string) string {
	return strings.TrimRight(base, "/") + "/wwlogin/sso/login?login_type=CorpApp&appid=" + url.QueryEscape(corpID) +
		"&agentid=" + strconv.FormatInt(agentID, 10) + "&redirect_uri=" + url.QueryEscape(redirect) +
		"&state=" + url.QueryEscape(state)
}

// ErrAppNotConfigured means the tenant's WeCom settings lack the app's
// corp id, agent id or secret, which sign-in and the sidebar's JS-SDK need.
// It is also ErrNotConfigured (errors.Is).
var ErrAppNotConfigured error = appNotConfigured{}

type appNotConfigured struct{}

func (appNotConfigured) Error() string {
	return "the tenant's WeCom app is not configured: no corp id, agent id or secret"
}

func (appNotConfigured) Is(target error) bool { return target == ErrNotConfigured }

// Describe is a conflict of the tenant's state, and says who fixes it how.
func (appNotConfigured) Describe() errkind.Error {
	return errkind.Error{Kind: errkind.Conflict, Code: "wecom_not_configured",
		Msg: "the tenant's WeCom app is not configured",
		Public: "WeCom sign-in and the sidebar are not set up for this tenant: an admin must set the corp id, " +
			"agent id and secret of the WeCom app in WeCom settings (PUT /v1/wecom/config)"}
}

// errSettingsUnavailable is a failure to read the settings: retry.
var errSettingsUnavailable error = &errkind.Error{Kind: errkind.Unavailable, Msg: "read wecom settings",
	Public: "the WeCom settings could not be read; retry"}

// Clients holds one APIClient per tenant's app, so that its access token
// and tickets are cached across requests (WeCom limits how often they may
// be fetched). A tenant's client is replaced when its corp, agent or
// secret change. Only tenants with configured apps are held, so the map is
// bounded by the tenants. It is safe for concurrent use.
type Clients struct {
	settings func(context.Context, string) (Config, error)
	ep       Endpoints
	http     *http.Client

	mu      sync.Mutex
	clients map[string]tenantClient
}

type tenantClient struct {
	app    appKey
	client *APIClient
}

// appKey is what an APIClient is made for: a change makes a new client.
type appKey struct {
	corpID, secret string
	agentID        int64
}

// NewClients returns the clients of the apps that settings returns (e.g.
// (*Configs).Get), calling WeCom's API at ep.API through httpClient (a
// client with a 10 s timeout when nil).
func NewClients(settings func(ctx context.Context, tenant string) (Config, error), ep Endpoints, httpClient *http.Client) *Clients {
	return &Clients{settings: settings, ep: ep, http: httpClient, clients: map[string]tenantClient{}}
}

// Endpoints returns the endpoints the clients use, for building sign-in URLs.
func (cs *Clients) Endpoints() Endpoints { return cs.ep }

// For returns the tenant's client and settings, or ErrAppNotConfigured.
// It reads the settings each time, so a change takes effect at once.
func (cs *Clients) For(ctx context.Context, tenant string) (*APIClient, Config, error) {
	cfg, err := cs.settings(ctx, tenant)
	if errors.Is(err, ErrNotConfigured) {
		return nil, Config{}, ErrAppNotConfigured
	}
	if err != nil {
		return nil, Config{}, fmt.Errorf("%w: %w", errSettingsUnavailable, err)
	}
	if !cfg.AppConfigured() {
		return nil, Config{}, ErrAppNotConfigured
	}
	app := appKey{corpID: cfg.CorpID, secret: cfg.Secret, agentID: cfg.AgentID}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if tc, ok := cs.clients[tenant]; ok && tc.app == app {
		return tc.client, cfg, nil
	}
	c, err := NewAPIClient(APIConfig{Base: cs.ep.API, CorpID: cfg.CorpID, Secret: cfg.Secret, AgentID: cfg.AgentID, HTTP: cs.http})
	if err != nil {
		return nil, Config{}, err
	}
	cs.clients[strings.Clone(tenant)] = tenantClient{app: app, client: c}
	return c, cfg, nil
}
