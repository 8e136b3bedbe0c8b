package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/internal/reporting"
)

// The rep's customer card and the WeCom chat sidebar, walked in the
// browser: read the card, change the stage, add and remove a tag, log a
// follow-up and see it at once (read-your-writes), release to the pool and
// claim back; the sidebar at phone width; another rep's customer is not
// shown; a marketer reads without the rep's forms.

func TestJourneyCustomerRepWorksTheCard(t *testing.T) {
	ctx := tab(t)
	signIn(t, ctx, "rep")
	card := "/app/customers/" + url.PathEscape(site.demo.ContactID)
	require.Equal(t, http.StatusOK, open(t, ctx, card))
	require.NotEmpty(t, text(t, ctx, `[data-test=customer-name]`))
	text(t, ctx, `[data-test=customer-stage]`)
	text(t, ctx, `[data-test=customer-tags]`)
	require.NotEmpty(t, text(t, ctx, `[data-test=timeline] [data-test=event]`), "the timeline shows the customer's events")

	t.Run("stage", func(t *testing.T) {
		current := text(t, ctx, `[data-test=customer-stage]`)
		type stage struct{ Value, Label string }
		stages := evaluate[[]stage](t, ctx, `Array.from(document.querySelectorAll('#stage option')).map(o => ({Value: o.value, Label: o.textContent.trim()}))`)
		require.NotEmpty(t, stages)
		next := stages[0]
		if next.Label == current {
			next = stages[len(stages)-1]
		}
		require.NoError(t, chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS(`#stage`), next.Value), chromedp.Click(chromedp.CSS(`[data-test=stage-save]`))))
		waitDone(t, ctx, "customer.stage.saved")
		require.Equal(t, next.Label, text(t, ctx, `[data-test=customer-stage]`), "the new stage is read back at once")
	})

	t.Run("tags", func(t *testing.T) {
		options := evaluate[[]string](t, ctx, `Array.from(document.querySelectorAll('#tag-add option')).map(o => o.value).filter(v => v)`)
		require.NotEmpty(t, options, "the demo tag library has tags to add")
		name := evaluate[string](t, ctx, `document.querySelector('#tag-add option[value="`+options[0]+`"]').textContent`)
		name = name[strings.LastIndex(name, "/ ")+1:]
		name = strings.TrimSpace(name)
		require.NoError(t, chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS(`#tag-add`), options[0]), chromedp.Click(chromedp.CSS(`[data-test=tag-add]`))))
		waitDone(t, ctx, "customer.tags.added")
		require.Contains(t, text(t, ctx, `[data-test=customer-tags]`), name)
		remove := `form:has(input[name=remove][value="` + options[0] + `"]) button`
		require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(remove))))
		waitDone(t, ctx, "customer.tags.removed")
		require.Zero(t, evaluate[int](t, ctx, `document.querySelectorAll('input[name=remove][value="`+options[0]+`"]').length`), "the tag is gone")
	})

	t.Run("followup", func(t *testing.T) {
		note := "journey note " + time.Now().Format("150405.000")
		next := time.Now().In(reporting.Zone).Add(48 * time.Hour)
		local := next.Format("2006-01-02") + "T10:30"
		require.NoError(t, chromedp.Do(ctx,
			chromedp.SetValue(chromedp.CSS(`#fu-channel`), "call"),
			chromedp.SetValue(chromedp.CSS(`#fu-next`), local),
			chromedp.SendKeys(chromedp.CSS(`#fu-note`), note),
			chromedp.Click(chromedp.CSS(`[data-test=followup-save]`))))
		waitDone(t, ctx, "customer.followup.saved")
		first := text(t, ctx, `[data-test=timeline] [data-test=event]`)
		require.Contains(t, first, note, "the follow-up tops the timeline at once")
		require.Equal(t, next.Format("2006-01-02")+" 10:30", text(t, ctx, `[data-test=followup-next]`), "and is the next follow-up, in the reporting zone")
	})

	t.Run("release and claim", func(t *testing.T) {
		evaluate[bool](t, ctx, `(window.confirm = () => true, true)`) // the release form asks first
		require.NoError(t, chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.CSS(`#release-reason`), "journey"),
			chromedp.Click(chromedp.CSS(`[data-test=release]`))))
		waitDone(t, ctx, "customer.released")
		require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-test=claim]`))))
		waitFor(t, ctx, `location.search.includes("done=customer.claimed") || !!document.querySelector('[data-test=claim-refused]')`)
		if refused := evaluate[string](t, ctx, `(document.querySelector('[data-test=claim-refused]') || {}).textContent || ""`); refused != "" {
			require.Regexp(t, `cooldown|max_hold|max_claims_per_day`, refused, "a refusal names its rule")
			t.Logf("claim back refused as the rules say: %s", strings.TrimSpace(refused))
		}
	})
}

func TestJourneyCustomerSidebarOnPhone(t *testing.T) {
	ctx := tab(t)
	signIn(t, ctx, "rep")
	phone(t, ctx)
	require.Equal(t, http.StatusOK, open(t, ctx, "/sidebar?contact="+url.QueryEscape(site.demo.ContactID)))
	require.NotEmpty(t, text(t, ctx, `[data-test=customer-name]`))
	text(t, ctx, `[data-test=followup-form]`)
	require.Zero(t, evaluate[int](t, ctx, `document.querySelectorAll('nav.nav').length`), "bare layout")
	require.True(t, evaluate[bool](t, ctx, `document.documentElement.scrollWidth <= window.innerWidth + 1`), "no sideways scrolling at 390 px")

	// Without a contact outside WeCom: what to do.
	require.Equal(t, http.StatusOK, open(t, ctx, "/sidebar"))
	require.Contains(t, text(t, ctx, `[data-test=sidebar-outside]`), "?contact=")
}

// TestJourneyCustomerSidebarInWeCom: inside WeCom (its user agent) without
// ?contact= the sidebar asks the JS-SDK for the chat's customer; outside a
// real WeCom client (and with the demo's WeCom app not set up) that fails,
// and the page says what to do.
func TestJourneyCustomerSidebarInWeCom(t *testing.T) {
	ctx := tab(t)
	require.NoError(t, chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{
			UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 wxwork/4.1.20 MicroMessenger/7.0.1 Language/zh"})
		return err
	})))
	signIn(t, ctx, "rep")
	phone(t, ctx)
	require.Equal(t, http.StatusOK, open(t, ctx, "/sidebar"))
	waitFor(t, ctx, `!!document.querySelector('[data-test=sidebar-nosdk]') || !document.querySelector('[data-test=sidebar-failed]').hidden`)
	require.Contains(t, text(t, ctx, `[role=alert]`), "?contact=", "the page says what to do")
}

func TestJourneyCustomerNotAnotherRepsCustomer(t *testing.T) {
	ctx := tab(t)
	require.NotEmpty(t, site.demo.OtherContact)
	signIn(t, ctx, "rep")
	name := customerName(t, site.demo.OtherContact)
	for _, path := range []string{
		"/app/customers/" + url.PathEscape(site.demo.OtherContact),
		"/sidebar?contact=" + url.QueryEscape(site.demo.OtherContact),
	} {
		require.Equal(t, http.StatusNotFound, open(t, ctx, path), path)
		text(t, ctx, `[data-test=customer-missing]`)
		html := evaluate[string](t, ctx, `document.documentElement.outerHTML`)
		require.NotContains(t, html, site.demo.OtherContact, "%s: nothing of the customer in the page", path)
		if name != "" {
			require.NotContains(t, html, name, path)
		}
	}
}

func TestJourneyCustomerMarketerReads(t *testing.T) {
	ctx := tab(t)
	signIn(t, ctx, "marketer")
	require.Equal(t, http.StatusOK, open(t, ctx, "/app/customers/"+url.PathEscape(site.demo.ContactID)))
	require.NotEmpty(t, text(t, ctx, `[data-test=customer-name]`))
	text(t, ctx, `[data-test=readonly]`)
	for _, sel := range []string{`[data-test=followup-form]`, `[data-test=stage-save]`, `[data-test=release]`, `[data-test=timeline]`} {
		require.Zero(t, evaluate[int](t, ctx, `document.querySelectorAll('`+sel+`').length`), "a marketer has no %s", sel)
	}
	require.Equal(t, http.StatusForbidden, open(t, ctx, "/sidebar?contact="+url.QueryEscape(site.demo.ContactID)), "the sidebar is the reps'")

	exec := tab(t)
	signIn(t, exec, "exec")
	require.Equal(t, http.StatusForbidden, open(t, exec, "/app/customers/"+url.PathEscape(site.demo.ContactID)), "an executive has no customer card")
}

// evaluate is the value of a script expression on the tab's page.
func evaluate[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	require.NoError(t, err, expr)
	return v
}

// waitDone waits for the redirect a form post ends with, carrying the
// notice phrase key (done=), and fails with the page's alert otherwise.
func waitDone(t *testing.T, ctx context.Context, key string) {
	t.Helper()
	waitFor(t, ctx, `location.search.includes("done=`+key+`")`)
}

func waitFor(t *testing.T, ctx context.Context, cond string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](cond)); err == nil && ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	alert, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('[data-test=error]') || {}).textContent || ""`))
	t.Fatalf("waited for %s at %s; the page says: %q", cond, location(t, ctx), alert)
}

// customerName is the customer's name as the admin key reads it.
func customerName(t *testing.T, id string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, site.base+"/v1/customers/"+url.PathEscape(id), nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+site.demo.AdminKey)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var p struct {
		Name string `json:"name"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&p))
	return p.Name
}

// The demo tenant's WeCom app, as the stand-in knows it.
const (
	standInCorp   = "wwdemo0001"
	standInAgent  = 1000002
	standInSecret = "demosecret"
)

// startWeComStandIn is WeCom for the journeys (the site runs with its
// --wecom-*-base flags pointing here): the OAuth and QR login pages send
// the browser straight back with a one-use code, as WeCom does once the
// member confirms, and the server API answers gettoken and getuserinfo
// with the demo rep's userid, each call checked as WeCom documents it.
func startWeComStandIn() *httptest.Server {
	var mu sync.Mutex
	codes := map[string]bool{}
	back := func(w http.ResponseWriter, r *http.Request, q url.Values, want url.Values) {
		for k, v := range want {
			if q.Get(k) != v[0] {
				http.Error(w, "stand-in: "+k+"="+q.Get(k)+", want "+v[0], http.StatusBadRequest)
				return
			}
		}
		mu.Lock()
		code := fmt.Sprintf("code-%d", len(codes)+1)
		codes[code] = true
		mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?code="+code+"&state="+url.QueryEscape(q.Get("state")), http.StatusFound)
	}
	agent := strconv.Itoa(standInAgent)
	mux := http.NewServeMux()
	mux.HandleFunc("/connect/oauth2/authorize", func(w http.ResponseWriter, r *http.Request) {
		back(w, r, r.URL.Query(), url.Values{"appid": {standInCorp}, "agentid": {agent}, "response_type": {"code"}, "scope": {"snsapi_base"}})
	})
	mux.HandleFunc("/wwlogin/sso/login", func(w http.ResponseWriter, r *http.Request) {
		back(w, r, r.URL.Query(), url.Values{"login_type": {"CorpApp"}, "appid": {standInCorp}, "agentid": {agent}})
	})
	mux.HandleFunc("/cgi-bin/gettoken", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Encode() != (url.Values{"corpid": {standInCorp}, "corpsecret": {standInSecret}}).Encode() {
			_, _ = w.Write([]byte(`{"errcode": 40001, "errmsg": "invalid credential"}`))
			return
		}
		_, _ = w.Write([]byte(`{"errcode": 0, "errmsg": "ok", "access_token": "tok-demo", "expires_in": 7200}`))
	})
	mux.HandleFunc("/cgi-bin/auth/getuserinfo", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		mu.Lock()
		fresh := codes[q.Get("code")]
		delete(codes, q.Get("code"))
		mu.Unlock()
		if len(q) != 2 || q.Get("access_token") != "tok-demo" || !fresh {
			_, _ = w.Write([]byte(`{"errcode": 40029, "errmsg": "invalid code"}`))
			return
		}
		_, _ = fmt.Fprintf(w, `{"errcode": 0, "errmsg": "ok", "userid": %q}`, site.demo.RepStaff)
	})
	return httptest.NewServer(mux)
}

// TestJourneyCustomerWeComSignIn: the sidebar opened inside WeCom signs
// the rep in with WeCom's OAuth and shows the card; outside WeCom the
// sign-in page's WeCom button goes through the QR login; a callback this
// browser did not start is refused.
func TestJourneyCustomerWeComSignIn(t *testing.T) {
	ctx := tab(t)
	aesKey := strings.Repeat("a", 43)
	cfg := fmt.Sprintf(`{"corp_id": %q, "token": "demotoken", "encoding_aes_key": %q, "agent_id": %d, "secret": %q}`,
		standInCorp, aesKey, standInAgent, standInSecret)
	req, err := http.NewRequest(http.MethodPut, site.base+"/v1/wecom/config", strings.NewReader(cfg))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+site.demo.AdminKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "set the demo's WeCom app")

	t.Run("sidebar inside WeCom", func(t *testing.T) {
		require.NoError(t, chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: "Mozilla/5.0 wxwork/4.1.20"})
			return err
		})))
		open(t, ctx, "/sidebar?tenant=demo&contact="+url.QueryEscape(site.demo.ContactID))
		require.NotEmpty(t, text(t, ctx, `[data-test=customer-name]`), "signed in by WeCom, back on the sidebar")
		require.True(t, strings.HasPrefix(location(t, ctx), "/sidebar?"), location(t, ctx))
	})

	t.Run("QR login outside WeCom", func(t *testing.T) {
		qr := tab(t)
		require.Equal(t, http.StatusOK, open(t, qr, "/login?next="+url.QueryEscape("/app/customers/"+site.demo.ContactID)))
		require.NoError(t, chromedp.Do(qr, chromedp.SendKeys(chromedp.CSS(`#wecom-tenant`), "demo"), chromedp.Submit(chromedp.CSS(`#wecom-tenant`))))
		waitFor(t, qr, `location.pathname.startsWith("/app/customers/")`)
		require.NotEmpty(t, text(t, qr, `[data-test=customer-name]`))
	})

	t.Run("a callback this browser did not start", func(t *testing.T) {
		other := tab(t)
		require.Equal(t, http.StatusBadRequest, open(t, other, "/login/wecom/callback?code=code-1&state=forged"))
		text(t, other, `[data-test=error]`)
		require.Equal(t, http.StatusOK, open(t, other, "/login"), "still signed out")
		require.NoError(t, chromedp.Do(other, chromedp.WaitVisible(chromedp.CSS(`#password`))))
	})
}
