package wecom

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestJSSDKSignatureOfficialExample: WeCom's own example
// (developer.work.weixin.qq.com/document/path/96909).
func TestJSSDKSignatureOfficialExample(t *testing.T) {
	const ticket = "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg"
	got := JSSDKSignature(ticket, "Wm3WZYTPz0wzccnW", 1414587457, "http://mp.weixin.qq.com?params=value")
	require.Equal(t, "0f9de62fce790f9a083d5c99e95740ceb90c27ed", got)
	require.Equal(t, got, JSSDKSignature(ticket, "Wm3WZYTPz0wzccnW", 1414587457, "http://mp.weixin.qq.com?params=value#/card"),
		"the fragment is not signed")
}

// standIn is WeCom's server API as documented, for one corp and app: it
// checks each request's method, path and query exactly and counts calls.
type standIn struct {
	t        *testing.T
	mu       sync.Mutex
	calls    map[string]int
	tokens   int    // tokens issued: the valid one is "token-<tokens>"
	refuseAt string // a path whose next call answers 42001 (expired token)
}

func (s *standIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Method != http.MethodGet {
		s.t.Errorf("%s %s: WeCom's API is GET", r.Method, r.URL.Path)
	}
	s.calls[r.URL.Path]++
	q := r.URL.Query()
	want := func(keys ...string) bool {
		if len(q) != len(keys) {
			s.t.Errorf("%s: query %v, want exactly %v", r.URL.Path, q, keys)
			return false
		}
		for _, k := range keys {
			if len(q[k]) != 1 {
				s.t.Errorf("%s: query %v lacks %s", r.URL.Path, q, k)
				return false
			}
		}
		return true
	}
	reply := func(v any) { _ = json.NewEncoder(w).Encode(v) }
	token := func() bool {
		if q.Get("access_token") != "token-"+strconv.Itoa(s.tokens) {
			reply(map[string]any{"errcode": 40014, "errmsg": "invalid access_token"})
			return false
		}
		if s.refuseAt == r.URL.Path {
			s.refuseAt = ""
			reply(map[string]any{"errcode": 42001, "errmsg": "access_token expired"})
			return false
		}
		return true
	}
	switch r.URL.Path {
	case "/cgi-bin/gettoken":
		if !want("corpid", "corpsecret") {
			return
		}
		if q.Get("corpid") != "ww-corp" || q.Get("corpsecret") != "s3cret" {
			reply(map[string]any{"errcode": 40001, "errmsg": "invalid credential"})
			return
		}
		s.tokens++
		reply(map[string]any{"errcode": 0, "errmsg": "ok", "access_token": "token-" + strconv.Itoa(s.tokens), "expires_in": 7200})
	case "/cgi-bin/auth/getuserinfo":
		if !want("access_token", "code") || !token() {
			return
		}
		switch q.Get("code") {
		case "member-code":
			reply(map[string]any{"errcode": 0, "errmsg": "ok", "userid": "s0019", "user_ticket": "t"})
		case "outsider-code":
			reply(map[string]any{"errcode": 0, "errmsg": "ok", "openid": "o-1", "external_userid": "wm-1"})
		default:
			reply(map[string]any{"errcode": 40029, "errmsg": "invalid code"})
		}
	case "/cgi-bin/get_jsapi_ticket":
		if !want("access_token") || !token() {
			return
		}
		reply(map[string]any{"errcode": 0, "errmsg": "ok", "ticket": "corp-ticket", "expires_in": 7200})
	case "/cgi-bin/ticket/get":
		if !want("access_token", "type") || !token() {
			return
		}
		if q.Get("type") != "agent_config" {
			s.t.Errorf("ticket/get type=%q, want agent_config", q.Get("type"))
		}
		reply(map[string]any{"errcode": 0, "errmsg": "ok", "ticket": "agent-ticket", "expires_in": 7200})
	default:
		s.t.Errorf("unexpected call %s", r.URL)
		http.NotFound(w, r)
	}
}

func newStandIn(t *testing.T) (*standIn, *APIClient, *time.Time) {
	s := &standIn{t: t, calls: map[string]int{}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c, err := NewAPIClient(APIConfig{Base: srv.URL, CorpID: "ww-corp", Secret: "s3cret", AgentID: 1000002})
	require.NoError(t, err)
	now := time.Unix(1_800_000_000, 0)
	c.now = func() time.Time { return now }
	return s, c, &now
}

func TestAPIClientSignInAndSignatures(t *testing.T) {
	s, c, now := newStandIn(t)
	ctx := context.Background()

	user, err := c.UserID(ctx, "member-code")
	require.NoError(t, err)
	require.Equal(t, "s0019", user)
	_, err = c.UserID(ctx, "outsider-code")
	require.ErrorIs(t, err, ErrNotMember)
	_, err = c.UserID(ctx, "stale-code")
	var ae *APIError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, 40029, ae.Code)

	sig, err := c.Sign(ctx, "https://siyu.example/sidebar?contact=wm1#top", "n0nce")
	require.NoError(t, err)
	require.Equal(t, JSSDKSignatures{CorpID: "ww-corp", AgentID: 1000002, Timestamp: now.Unix(), NonceStr: "n0nce",
		Config: JSSDKSignature("corp-ticket", "n0nce", now.Unix(), "https://siyu.example/sidebar?contact=wm1"),
		Agent:  JSSDKSignature("agent-ticket", "n0nce", now.Unix(), "https://siyu.example/sidebar?contact=wm1")}, sig)
	_, err = c.Sign(ctx, "https://siyu.example/console", "other")
	require.NoError(t, err)
	require.Equal(t, map[string]int{"/cgi-bin/gettoken": 1, "/cgi-bin/auth/getuserinfo": 3,
		"/cgi-bin/get_jsapi_ticket": 1, "/cgi-bin/ticket/get": 1}, s.calls, "one token and one ticket each, cached")

	// Two hours later the token and tickets are fetched again.
	*now = now.Add(2 * time.Hour)
	_, err = c.Sign(ctx, "https://siyu.example/console", "later")
	require.NoError(t, err)
	require.Equal(t, 2, s.calls["/cgi-bin/gettoken"])
	require.Equal(t, 2, s.calls["/cgi-bin/get_jsapi_ticket"])
}

func TestAPIClientFetchesAnExpiredTokenOnce(t *testing.T) {
	s, c, _ := newStandIn(t)
	ctx := context.Background()
	_, err := c.AccessToken(ctx)
	require.NoError(t, err)
	s.refuseAt = "/cgi-bin/auth/getuserinfo"
	user, err := c.UserID(ctx, "member-code")
	require.NoError(t, err)
	require.Equal(t, "s0019", user)
	require.Equal(t, 2, s.calls["/cgi-bin/gettoken"], "a new token after 42001")
	require.Equal(t, 2, s.calls["/cgi-bin/auth/getuserinfo"], "the call again, once")
}

func TestAPIClientRefusals(t *testing.T) {
	_, err := NewAPIClient(APIConfig{CorpID: "ww"})
	require.Error(t, err)
	_, err = NewAPIClient(APIConfig{CorpID: "ww", Secret: "x", Base: "ftp://x"})
	require.Error(t, err)

	s := &standIn{t: t, calls: map[string]int{}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	c, err := NewAPIClient(APIConfig{Base: srv.URL, CorpID: "ww-corp", Secret: "wrong"})
	require.NoError(t, err)
	_, err = c.UserID(context.Background(), "member-code")
	var ae *APIError
	require.True(t, errors.As(err, &ae) && ae.Code == 40001, "a wrong secret is WeCom's 40001: %v", err)
	_, err = c.UserID(context.Background(), "")
	require.Error(t, err)
	_, err = c.Sign(context.Background(), "https://x", "a&b")
	require.Error(t, err)

	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("<html>")) }))
	defer bad.Close()
	c, err = NewAPIClient(APIConfig{Base: bad.URL, CorpID: "ww-corp", Secret: "s3cret"})
	require.NoError(t, err)
	_, err = c.AccessToken(context.Background())
	require.ErrorContains(t, err, "not WeCom's JSON")
	require.ErrorIs(t, err, ErrAPIUnavailable)
}
