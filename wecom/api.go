package wecom

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/siyu-dev/siyu/errkind"
)

// DefaultAPIBase is WeCom's server API. Every call of APIClient goes to its
// base URL, so tests and private deployments point it at a stand-in.
const DefaultAPIBase = "https://qyapi.weixin.qq.com"

// APIClient calls WeCom's server API for one self-built app of one corp:
// the access token (gettoken), the OAuth sign-in of a member (code →
// userid) and the JS-SDK tickets and signatures a page needs for
// ww.register (the corp's jsapi_ticket for the config signature, the app's
// for the agentConfig signature). Tokens and tickets are cached until a
// few minutes before WeCom says they expire, as WeCom requires (tickets
// are limited to 400 an hour per corp); a token WeCom calls invalid or
// expired is fetched again once.
type APIClient struct {
	base    string
	corpID  string
	secret  string
	agentID int64
	http    *http.Client
	now     func() time.Time

	mu        sync.Mutex // one fetch at a time of each cached value
	token     cachedValue
	corpTick  cachedValue
	agentTick cachedValue
}

// cachedValue is a token or ticket and when to fetch it again.
type cachedValue struct {
	value string
	until time.Time
}

// APIConfig is what an APIClient needs: the corp, the app's secret and
// agent id (WeCom's console, 应用管理), and where WeCom's API is.
type APIConfig struct {
	Base    string // DefaultAPIBase when empty
	CorpID  string
	Secret  string
	AgentID int64
	HTTP    *http.Client // a client with a 10 s timeout when nil
}

// expiryMargin is how long before WeCom's expires_in a cached token or
// ticket is fetched again.
const expiryMargin = 5 * time.Minute

// NewAPIClient returns a client for cfg's app.
func NewAPIClient(cfg APIConfig) (*APIClient, error) {
	if cfg.CorpID == "" || cfg.Secret == "" {
		return nil, errors.New("wecom api: the corp id and the app secret are required")
	}
	base := cfg.Base
	if base == "" {
		base = DefaultAPIBase
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("wecom api: base URL %q: want https://host", base)
	}
	hc := cfg.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	return &APIClient{base: strings.TrimRight(base, "/"), corpID: cfg.CorpID, secret: cfg.Secret, agentID: cfg.AgentID,
		http: hc, now: time.Now}, nil
}

// APIError is an answer of WeCom's with a non-zero errcode.
type APIError struct {
	Path    string
	Code    int
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("wecom %s: errcode %d: %s", e.Path, e.Code, e.Message)
}

// settingsRefused are the errcodes an admin fixes in the tenant's WeCom
// settings or WeCom's console: 40001 a wrong secret, 40013 a wrong corp
// id, 40056 a wrong agent id, 60020 this server's IP not among the app's
// trusted IPs, 48002 the API not allowed to the app.
var settingsRefused = map[int]bool{40001: true, 40013: true, 40056: true, 60020: true, 48002: true}

// Describe is a conflict for a refusal an admin fixes; other refusals are
// WeCom's trouble (unavailable: retry).
func (e *APIError) Describe() errkind.Error {
	if settingsRefused[e.Code] {
		return errkind.Error{Kind: errkind.Conflict, Code: "wecom_refused", Msg: e.Error(),
			Public: fmt.Sprintf("WeCom refused the tenant's app (errcode %d: %s): an admin must check the corp id, "+
				"agent id and secret in WeCom settings, and that this server's IP is trusted by the app", e.Code, e.Message)}
	}
	return errkind.Error{Kind: errkind.Unavailable, Msg: e.Error(),
		Public: fmt.Sprintf("WeCom answered errcode %d (%s); retry", e.Code, e.Message)}
}

// ErrAPIUnavailable wraps a call to WeCom's API that got no answer of
// WeCom's (network, HTTP status, not JSON): retry.
var ErrAPIUnavailable error = &errkind.Error{Kind: errkind.Unavailable, Msg: "wecom api unavailable",
	Public: "WeCom's API did not answer; retry"}

// tokenRefused are the errcodes of an access token WeCom no longer takes
// (40014 invalid, 42001 expired): fetch a new one and call again once.
func tokenRefused(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && (ae.Code == 40014 || ae.Code == 42001)
}

// answer is the envelope of every WeCom answer.
type answer struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

func (a answer) err(path string) error {
	if a.ErrCode != 0 {
		return &APIError{Path: path, Code: a.ErrCode, Message: a.ErrMsg}
	}
	return nil
}

// get calls GET base+path?query and decodes the JSON answer into out,
// whose envelope it checks.
func (c *APIClient) get(ctx context.Context, path string, query url.Values, out interface{ err(string) error }) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path+"?"+query.Encode(), nil)
	if err != nil {
		return fmt.Errorf("wecom %s: %w", path, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("wecom %s: %w: %w", path, ErrAPIUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("wecom %s: %w: %w", path, ErrAPIUnavailable, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("wecom %s: %w: HTTP %d", path, ErrAPIUnavailable, resp.StatusCode)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("wecom %s: %w: not WeCom's JSON: %w", path, ErrAPIUnavailable, err)
	}
	return out.err(path)
}

type tokenAnswer struct {
	answer
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

type ticketAnswer struct {
	answer
	Ticket    string `json:"ticket"`
	ExpiresIn int64  `json:"expires_in"`
}

// cached returns *v while it is fresh, else fetches it (c.mu held).
func (c *APIClient) cached(v *cachedValue, fetch func() (string, int64, error)) (string, error) {
	if v.value != "" && c.now().Before(v.until) {
		return v.value, nil
	}
	value, expiresIn, err := fetch()
	if err != nil {
		return "", err
	}
	if value == "" {
		return "", errors.New("wecom: an empty token or ticket in an answer without an error")
	}
	*v = cachedValue{value: value, until: c.now().Add(time.Duration(expiresIn)*time.Second - expiryMargin)}
	return value, nil
}

// AccessToken is the app's access token (GET /cgi-bin/gettoken).
func (c *APIClient) AccessToken(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.accessTokenLocked(ctx)
}

func (c *APIClient) accessTokenLocked(ctx context.Context) (string, error) {
	return c.cached(&c.token, func() (string, int64, error) {
		var a tokenAnswer
		err := c.get(ctx, "/cgi-bin/gettoken", url.Values{"corpid": {c.corpID}, "corpsecret": {c.secret}}, &a)
		return a.AccessToken, a.ExpiresIn, err
	})
}

// withToken calls call with the access token, and once more with a new
// one when WeCom refuses the token (c.mu held).
func (c *APIClient) withToken(ctx context.Context, call func(token string) error) error {
	for attempt := 0; ; attempt++ {
		token, err := c.accessTokenLocked(ctx)
		if err != nil {
			return err
		}
		err = call(token)
		if attempt == 0 && tokenRefused(err) {
			c.token = cachedValue{}
			continue
		}
		return err
	}
}

type userAnswer struct {
	answer
	UserID string `json:"userid"`
	OpenID string `json:"openid"`
}

// ErrNotMember is the OAuth answer for a visitor who is not a member of
// the corp (WeCom gives an openid instead of a userid).
var ErrNotMember = errors.New("wecom: the visitor is not a member of this corp")

// UserID is the corp member who signed in with WeCom's OAuth (the web
// page's redirect or the QR login) and got code (GET
// /cgi-bin/auth/getuserinfo). A code is good for one use within 5 minutes.
func (c *APIClient) UserID(ctx context.Context, code string) (string, error) {
	if code == "" || len(code) > 512 {
		return "", errors.New("wecom: the OAuth code is empty or too long")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var a userAnswer
	err := c.withToken(ctx, func(token string) error {
		a = userAnswer{}
		return c.get(ctx, "/cgi-bin/auth/getuserinfo", url.Values{"access_token": {token}, "code": {code}}, &a)
	})
	if err != nil {
		return "", err
	}
	if a.UserID == "" {
		return "", ErrNotMember
	}
	return a.UserID, nil
}

// ticket is the corp's jsapi_ticket (GET /cgi-bin/get_jsapi_ticket) or, with
// agent, the app's (GET /cgi-bin/ticket/get?type=agent_config) (c.mu
// held).
func (c *APIClient) ticket(ctx context.Context, agent bool) (string, error) {
	v, path, query := &c.corpTick, "/cgi-bin/get_jsapi_ticket", url.Values{}
	if agent {
		v, path, query = &c.agentTick, "/cgi-bin/ticket/get", url.Values{"type": {"agent_config"}}
	}
	return c.cached(v, func() (string, int64, error) {
		var a ticketAnswer
		err := c.withToken(ctx, func(token string) error {
			a = ticketAnswer{}
			q := url.Values{"access_token": {token}}
			for k, vs := range query {
				q[k] = vs
			}
			return c.get(ctx, path, q, &a)
		})
		return a.Ticket, a.ExpiresIn, err
	})
}

// JSSDKSignatures is what a page passes to ww.register (JS-SDK 1.x+) or
// wx.config / wx.agentConfig for one URL.
type JSSDKSignatures struct {
	CorpID    string `json:"corp_id"`
	AgentID   int64  `json:"agent_id"`
	Timestamp int64  `json:"timestamp"`
	NonceStr  string `json:"nonce_str"`
	// Config signs with the corp's ticket (ww.register's getConfigSignature),
	// Agent with the app's (getAgentConfigSignature).
	Config string `json:"config_signature"`
	Agent  string `json:"agent_config_signature"`
}

// Sign returns both JS-SDK signatures of pageURL (without its fragment)
// for nonce at the current time.
func (c *APIClient) Sign(ctx context.Context, pageURL, nonce string) (JSSDKSignatures, error) {
	if nonce == "" || strings.ContainsAny(nonce, "&=#") {
		return JSSDKSignatures{}, errors.New("wecom: the nonce must be non-empty and hold no '&', '=' or '#'")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	corp, err := c.ticket(ctx, false)
	if err != nil {
		return JSSDKSignatures{}, err
	}
	agent, err := c.ticket(ctx, true)
	if err != nil {
		return JSSDKSignatures{}, err
	}
	ts := c.now().Unix()
	return JSSDKSignatures{CorpID: c.corpID, AgentID: c.agentID, Timestamp: ts, NonceStr: nonce,
		Config: JSSDKSignature(corp, nonce, ts, pageURL), Agent: JSSDKSignature(agent, nonce, ts, pageURL)}, nil
}

// JSSDKSignature is WeCom's JS-SDK signature algorithm
// (developer.work.weixin.qq.com/document/path/96909): the SHA-1, in lower
// case hex, of "jsapi_ticket=T&noncestr=N&timestamp=TS&url=U" in that order,
// nothing escaped, the URL without "#" and what follows.
func JSSDKSignature(ticket, nonce string, timestamp int64, pageURL string) string {
	if i := strings.IndexByte(pageURL, '#'); i >= 0 {
		pageURL = pageURL[:i]
	}
	sum := sha1.Sum([]byte("jsapi_ticket=" + ticket + "&noncestr=" + nonce + "&timestamp=" +
		strconv.FormatInt(timestamp, 10) + "&url=" + pageURL))
	return hex.EncodeToString(sum[:])
}
