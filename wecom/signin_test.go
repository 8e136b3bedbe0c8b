package wecom

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/errkind"
)

func TestSignInURLs(t *testing.T) {
	ep := DefaultEndpoints()
	redirect := "https://siyu.example/auth/wecom?next=/sidebar&x=a b"
	require.Equal(t, "https://open.weixin.qq.com/connect/oauth2/authorize?appid=ww1436e0e65a779aee"+
		"&redirect_uri=https%3A%2F%2Fsiyu.example%2Fauth%2Fwecom%3Fnext%3D%2Fsidebar%26x%3Da+b"+
		"&response_type=code&scope=snsapi_base&state=St4te&agentid=1000002#wechat_redirect",
		OAuthURL(ep.OAuth, "ww1436e0e65a779aee", 1000002, redirect, "St4te"))
	require.Equal(t, "https://login.work.weixin.qq.com/wwlogin/sso/login?login_type=CorpApp&appid=ww1436e0e65a779aee"+
		"&agentid=1000002&redirect_uri=https%3A%2F%2Fsiyu.example%2Fauth%2Fwecom%3Fnext%3D%2Fsidebar%26x%3Da+b&state=St4te",
		QRLoginURL(ep.QRLogin, "ww1436e0e65a779aee", 1000002, redirect, "St4te"))
	// WeCom's own example (document/path/91022), with the agent id added.
	require.Equal(t, "https://open.weixin.qq.com/connect/oauth2/authorize?appid=wxdd725338566d6ffe"+
		"&redirect_uri=http%3A%2F%2Fapi.3dept.com%2Fcgi-bin%2Fquery%3Faction%3Dget&response_type=code&scope=snsapi_base"+
		"&state=&agentid=1000002#wechat_redirect",
		OAuthURL("https://open.weixin.qq.com/", "wxdd725338566d6ffe", 1000002, "http://api.3dept.com/cgi-bin/query?action=get", ""),
		"a trailing slash of the base is dropped")
	require.Equal(t, "http://127.0.0.1:9/wwlogin/sso/login?login_type=CorpApp&appid=ww&agentid=7&redirect_uri=r&state=s",
		QRLoginURL("http://127.0.0.1:9", "ww", 7, "r", "s"), "a stand-in base")
}

func TestEndpointsValidate(t *testing.T) {
	require.NoError(t, DefaultEndpoints().Validate())
	for _, bad := range []string{"", "open.weixin.qq.com", "ftp://x", "https://", "https://x?a=b", "https://x#f", "://x"} {
		ep := DefaultEndpoints()
		ep.QRLogin = bad
		require.ErrorContains(t, ep.Validate(), "qr login", "%q", bad)
	}
}

// settingsOf is a settings func over a map, counting reads.
type settingsOf struct {
	mu    sync.Mutex
	m     map[string]Config
	err   error
	reads int
}

func (s *settingsOf) get(_ context.Context, tenant string) (Config, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	if s.err != nil {
		return Config{}, s.err
	}
	c, ok := s.m[tenant]
	if !ok {
		return Config{}, ErrNotConfigured
	}
	return c, nil
}

func (s *settingsOf) set(tenant string, c Config) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[tenant] = c
}

func TestClients(t *testing.T) {
	stand := &standIn{t: t, calls: map[string]int{}}
	srv := httptest.NewServer(stand)
	t.Cleanup(srv.Close)
	ep := DefaultEndpoints()
	ep.API = srv.URL
	settings := &settingsOf{m: map[string]Config{
		"acme":    {CorpID: "ww-corp", Token: "t", AgentID: 1000002, Secret: "s3cret"},
		"noapp":   {CorpID: "ww-corp", Token: "t"},
		"nosecre": {CorpID: "ww-corp", Token: "t", AgentID: 1000002},
	}}
	cs := NewClients(settings.get, ep, srv.Client())
	ctx := context.Background()

	c1, cfg, err := cs.For(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, int64(1000002), cfg.AgentID)
	sig, err := c1.Sign(ctx, "https://siyu.example/sidebar", "n1")
	require.NoError(t, err)
	require.Equal(t, "ww-corp", sig.CorpID)
	c2, _, err := cs.For(ctx, "acme")
	require.NoError(t, err)
	require.Same(t, c1, c2, "one client per app")
	_, err = c2.Sign(ctx, "https://siyu.example/sidebar", "n2")
	require.NoError(t, err)
	require.Equal(t, 1, stand.calls["/cgi-bin/gettoken"], "the token is cached across requests")
	require.Equal(t, 1, stand.calls["/cgi-bin/get_jsapi_ticket"])

	acme := settings.m["acme"]
	acme.Secret = "rotated"
	settings.set("acme", acme)
	c3, _, err := cs.For(ctx, "acme")
	require.NoError(t, err)
	require.NotSame(t, c1, c3, "a new secret makes a new client")
	_, err = c3.AccessToken(ctx)
	var ae *APIError
	require.ErrorAs(t, err, &ae, "the stand-in knows only s3cret")
	k, _ := errkind.Of(err)
	require.Equal(t, errkind.Conflict, k.Kind, "a wrong secret is the admin's to fix")
	require.Equal(t, "wecom_refused", k.Code)
	require.Contains(t, k.Public, "errcode 40001")
	require.True(t, errkind.Is(&APIError{Code: 45009, Message: "api freq out of limit"}, errkind.Unavailable),
		"other refusals are WeCom's trouble: retry")

	for _, tenant := range []string{"noapp", "nosecre", "unknown"} {
		_, _, err := cs.For(ctx, tenant)
		require.ErrorIs(t, err, ErrAppNotConfigured, tenant)
		require.ErrorIs(t, err, ErrNotConfigured, tenant)
		k, ok := errkind.Of(err)
		require.True(t, ok)
		require.Equal(t, errkind.Conflict, k.Kind)
		require.Equal(t, "wecom_not_configured", k.Code)
		require.Contains(t, k.Public, "an admin must set the corp id, agent id and secret")
	}

	settings.err = errors.New("clickhouse is down")
	_, _, err = cs.For(ctx, "acme")
	require.True(t, errkind.Is(err, errkind.Unavailable), "%v", err)
	require.ErrorContains(t, err, "clickhouse is down")
}
