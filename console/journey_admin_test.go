package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// keyAPI calls the API with an API key, as a script would (curl -H "Authorization: Bearer …").
func keyAPI(t *testing.T, method, path, key string, body any) (int, []byte) {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, site.base+path, rd)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.Bytes()
}

// signInAs signs in through the form with any login and password.
func signInAs(t *testing.T, ctx context.Context, login, password string) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(site.base+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`#login`)),
		chromedp.SendKeys(chromedp.CSS(`#login`), login),
		chromedp.SendKeys(chromedp.CSS(`#password`), password),
		chromedp.Submit(chromedp.CSS(`#password`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#password`)),
	), "sign in as %s", login)
}

// acceptConfirms makes the tab's confirm() dialogs answer yes (the
// revoke and sign-out buttons ask first).
func acceptConfirms(t *testing.T, ctx context.Context) {
	t.Helper()
	_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(window.confirm = () => true, true)`))
	require.NoError(t, err)
}

// waitLocation waits until the tab's address contains want (a form's
// answer has loaded).
func waitLocation(t *testing.T, ctx context.Context, want string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(location(t, ctx), want) {
		require.True(t, time.Now().Before(deadline), "the address %s never contained %s", location(t, ctx), want)
		time.Sleep(100 * time.Millisecond)
	}
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitReady(chromedp.CSS("body"))))
}

// signInRole signs in as the demo user of role without waiting for that
// role's start page to be a console page (signIn does).
func signInRole(t *testing.T, ctx context.Context, role string) {
	t.Helper()
	require.NotEmpty(t, site.demo.Users[role], "demo user for %s", role)
	signInAs(t, ctx, site.demo.Users[role], site.demo.Password)
}

// TestJourneyAdminUsers: the admin creates a rep with a staff id; the rep
// signs in in another tab; the admin disables them and the rep's next page
// load asks for sign-in. No other role opens the admin pages.
func TestJourneyAdminUsers(t *testing.T) {
	admin := tab(t)
	signIn(t, admin, "admin")
	require.Equal(t, "/app/admin", location(t, admin))
	require.Contains(t, text(t, admin, "[data-test=users]"), site.demo.Users["rep"])

	login := fmt.Sprintf("jrep%d@demo", time.Now().UnixNano()%1e9)
	password := "journey-pass-1234"
	require.NoError(t, chromedp.Do(admin,
		chromedp.SendKeys(chromedp.CSS("#nu-login"), login),
		chromedp.SendKeys(chromedp.CSS("#nu-name"), "Journey Rep"),
		chromedp.SetValue(chromedp.CSS("#nu-role"), "rep"),
		chromedp.SendKeys(chromedp.CSS("#nu-staff"), site.demo.RepStaff),
		chromedp.SendKeys(chromedp.CSS("#nu-password"), password),
		chromedp.Submit(chromedp.CSS("#nu-password")),
		chromedp.WaitVisible(chromedp.CSS(`[data-test="user-`+login+`"]`)),
	))
	require.Contains(t, text(t, admin, "[role=status]"), "用户已创建")
	require.Contains(t, text(t, admin, `[data-test="user-`+login+`"]`), site.demo.RepStaff)

	rep := tab(t)
	signInAs(t, rep, login, password)
	require.False(t, strings.HasPrefix(location(t, rep), "/login"), "the new rep is signed in: %s", location(t, rep))

	// A refusal is shown beside the form: a rep without a staff id.
	require.NoError(t, chromedp.Do(admin,
		chromedp.SendKeys(chromedp.CSS("#nu-login"), "x"+login),
		chromedp.SetValue(chromedp.CSS("#nu-role"), "rep"),
		chromedp.SendKeys(chromedp.CSS("#nu-password"), password),
		chromedp.Submit(chromedp.CSS("#nu-password")),
		chromedp.WaitVisible(chromedp.CSS("[data-test=error]")),
	))
	require.Contains(t, text(t, admin, "[data-test=error]"), "staff")

	// Disable the new rep: their other tab's next page load is the sign-in page.
	sel := `[data-test="user-` + login + `"]`
	require.NoError(t, chromedp.Do(admin,
		chromedp.Click(chromedp.CSS(sel+" summary")),
		chromedp.Click(chromedp.CSS(sel+" input[name=disabled]")),
		chromedp.Submit(chromedp.CSS(sel+" input[name=disabled]")),
		chromedp.WaitVisible(chromedp.CSS(sel+" .chip")),
	))
	require.Contains(t, text(t, admin, sel), "停用")
	open(t, rep, "/")
	require.True(t, strings.HasPrefix(location(t, rep), "/login"), "a disabled user is signed out: %s", location(t, rep))
	require.NoError(t, chromedp.Do(rep,
		chromedp.SendKeys(chromedp.CSS(`#login`), login),
		chromedp.SendKeys(chromedp.CSS(`#password`), password),
		chromedp.Submit(chromedp.CSS(`#password`)),
		chromedp.WaitVisible(chromedp.CSS("[data-test=error]")),
	))

	for _, role := range []string{"manager", "exec", "billing", "marketer", "rep"} {
		other := tab(t)
		signInRole(t, other, role)
		require.Equal(t, http.StatusForbidden, open(t, other, "/app/admin"), role)
		require.Equal(t, http.StatusForbidden, open(t, other, "/app/admin/keys"), role)
	}
}

// TestJourneyAdminKeys: the admin creates a rep's API key, sees its secret
// once, a script uses it, the admin revokes it (after a confirm) and the
// script is refused.
func TestJourneyAdminKeys(t *testing.T) {
	ctx := tab(t)
	signIn(t, ctx, "admin")
	open(t, ctx, "/app/admin/keys")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#nk-name"), "journey script"),
		chromedp.SetValue(chromedp.CSS("#nk-role"), "rep"),
		chromedp.SendKeys(chromedp.CSS("#nk-staff"), site.demo.RepStaff),
		chromedp.Submit(chromedp.CSS("#nk-staff")),
		chromedp.WaitVisible(chromedp.CSS("[data-test=secret-value]")),
	))
	secret, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("[data-test=secret-value]")))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(secret, "siyu_"), secret)
	require.Contains(t, text(t, ctx, "[data-test=secret]"), "只显示这一次")

	// curl -H "Authorization: Bearer $KEY" /v1/customers/<the rep's customer>
	status, body := keyAPI(t, http.MethodGet, "/v1/customers/"+site.demo.ContactID, secret, nil)
	require.Equal(t, http.StatusOK, status, "%s", body)
	status, _ = keyAPI(t, http.MethodGet, "/v1/customers/"+site.demo.OtherContact, secret, nil)
	require.Equal(t, http.StatusNotFound, status, "a rep's key sees only the rep's customers")

	// The secret is not shown again.
	open(t, ctx, "/app/admin/keys")
	html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	require.NoError(t, err)
	require.NotContains(t, html, secret)

	prefix := secret[:9]
	acceptConfirms(t, ctx)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-test="revoke-`+prefix+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-test="key-`+prefix+`"] .chip`)),
	))
	require.Contains(t, text(t, ctx, "[role=status]"), "已吊销")
	status, _ = keyAPI(t, http.MethodGet, "/v1/customers/"+site.demo.ContactID, secret, nil)
	require.Equal(t, http.StatusUnauthorized, status, "a revoked key is refused")
}

// TestJourneyAdminStages: the admin edits the stage list (and a list the
// API refuses is told beside the form); the list is put back after.
func TestJourneyAdminStages(t *testing.T) {
	ctx := tab(t)
	signIn(t, ctx, "admin")
	open(t, ctx, "/app/admin/stages")
	before, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#stages")))
	require.NoError(t, err)
	t.Cleanup(func() {
		var stages []string
		for _, s := range strings.Split(before, "\n") {
			if s = strings.TrimSpace(s); s != "" {
				stages = append(stages, s)
			}
		}
		status, body := keyAPI(t, http.MethodPut, "/v1/followups/stages", site.demo.AdminKey, map[string]any{"stages": stages})
		require.Equal(t, http.StatusOK, status, "%s", body)
	})
	edited := before + "\n复购"
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS("#stages"), edited),
		chromedp.Submit(chromedp.CSS("#stages")),
		chromedp.WaitVisible(chromedp.CSS("[role=status]")),
	))
	require.Contains(t, text(t, ctx, "[data-test=stages]"), "复购")
	require.Contains(t, text(t, ctx, "[role=status]"), "阶段已保存")

	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS("#stages"), "只有一个"),
		chromedp.Submit(chromedp.CSS("#stages")),
		chromedp.WaitVisible(chromedp.CSS("[data-test=error]")),
	))
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#stages[aria-invalid=true]`))))
}

// TestJourneyAdminMaskPhones: the admin turns on "mask phones for reps";
// the rep's customer read (the API, with the rep's own session) shows
// the phone as 138****8000. Put back off after.
func TestJourneyAdminMaskPhones(t *testing.T) {
	started(t)
	// The rep's customer has a phone (the demo may not have given one).
	phone := "13800138000"
	status, body := keyAPI(t, http.MethodPost, "/v1/events", site.demo.AdminKey, []map[string]any{{
		"specversion": "1.0", "id": fmt.Sprintf("journey-phone-%d", time.Now().UnixNano()), "source": "console/journey",
		"type": "contact.updated", "time": time.Now().UTC().Format(time.RFC3339), "tenant": site.demo.Tenant,
		"subject": site.demo.ContactID, "data": map[string]any{"staff_id": site.demo.RepStaff, "phone": phone},
	}})
	require.Equal(t, http.StatusOK, status, "%s", body)
	t.Cleanup(func() {
		keyAPI(t, http.MethodPut, "/v1/settings", site.demo.AdminKey, map[string]bool{"mask_phones_for_reps": false})
	})

	admin := tab(t)
	signIn(t, admin, "admin")
	open(t, admin, "/app/admin/privacy")
	require.NoError(t, chromedp.Do(admin,
		chromedp.Click(chromedp.CSS("#mask_phones_for_reps")),
		chromedp.Submit(chromedp.CSS("#mask_phones_for_reps")),
		chromedp.WaitVisible(chromedp.CSS("[role=status]")),
	))
	checked, err := chromedp.Run(admin, chromedp.Evaluate[bool](`document.getElementById("mask_phones_for_reps").checked`))
	require.NoError(t, err)
	require.True(t, checked)

	rep := tab(t)
	signInRole(t, rep, "rep")
	var seen string
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		v, err := chromedp.Run(rep, chromedp.Evaluate[string](`(async () => {
			const r = await fetch("/v1/customers/`+site.demo.ContactID+`", {credentials: "same-origin"});
			return (await r.json()).phone || "";
		})()`, chromedp.EvalAwaitPromise))
		require.NoError(t, err)
		if seen = v; seen == "138****8000" {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	require.Equal(t, "138****8000", seen, "the rep sees the phone masked")
	status, body = keyAPI(t, http.MethodGet, "/v1/customers/"+site.demo.ContactID, site.demo.AdminKey, nil)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, string(body), `"phone":"`+phone+`"`, "the admin still sees it whole")
}

// TestJourneyAdminSettingsPages: the WeCom tab never shows a secret, the
// pool rules and Grafana tabs open.
func TestJourneyAdminSettingsPages(t *testing.T) {
	ctx := tab(t)
	signIn(t, ctx, "admin")
	for _, path := range []string{"/app/admin/wecom", "/app/admin/pool", "/app/admin/grafana", "/app/admin/privacy"} {
		require.Equal(t, http.StatusOK, open(t, ctx, path), path)
	}
	open(t, ctx, "/app/admin/wecom")
	for _, id := range []string{"#token", "#encoding_aes_key", "#secret"} {
		v, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(id)))
		require.NoError(t, err)
		require.Empty(t, v, "%s is write-only", id)
	}
	open(t, ctx, "/app/admin/grafana")
	require.Contains(t, text(t, ctx, "[data-test=grafana-state]"), site.grafana, "the site runs with a Grafana (journey_grafana_test.go)")
}
