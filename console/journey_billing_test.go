package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// TestJourneyBillingUsage: billing lands on the usage page, sees the
// period's lines, downloads the CSV with its own session, picks another
// period; the executive and the marketer cannot open billing, and billing
// cannot open the adoption page.
func TestJourneyBillingUsage(t *testing.T) {
	ctx := tab(t)
	signIn(t, ctx, "billing")
	require.Equal(t, "/app/billing", location(t, ctx))
	require.NotEmpty(t, text(t, ctx, "[data-test=period-state]"))
	require.Contains(t, text(t, ctx, "[data-test=lines]"), site.demo.Tenant, "the demo tenant's lines")
	require.Contains(t, text(t, ctx, "[data-test=lines]"), "客户数峰值")

	// The CSV, fetched as the browser's link would be: with the session cookie.
	type got struct {
		Status int    `json:"status"`
		Type   string `json:"type"`
		Body   string `json:"body"`
	}
	res, err := chromedp.Run(ctx, chromedp.Evaluate[got](`(async () => {
		const a = document.querySelector("[data-test=csv]");
		const r = await fetch(a.href, {credentials: "same-origin"});
		return {status: r.status, type: r.headers.get("Content-Type"), body: await r.text()};
	})()`, chromedp.EvalAwaitPromise))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.Status, res.Body)
	require.True(t, strings.HasPrefix(res.Type, "text/csv"), res.Type)
	require.True(t, strings.HasPrefix(res.Body, "key,tenant,period,meter,value\n"), res.Body)
	require.Contains(t, res.Body, site.demo.Tenant+":")
	dl, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("[data-test=csv]"), "download"))
	require.NoError(t, err)
	require.True(t, dl.Exists && strings.HasSuffix(dl.Value, ".csv"), "the link saves a .csv file")

	// Another period through the picker's links.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#period-hint a:nth-of-type(2)`)),
	))
	waitLocation(t, ctx, "period=")
	require.NotEmpty(t, text(t, ctx, "[data-test=period-state]"))

	// A malformed period is told beside the form.
	require.Equal(t, http.StatusBadRequest, open(t, ctx, "/app/billing?period=2026-13"))
	require.Contains(t, text(t, ctx, "[data-test=error]"), "YYYY-MM")

	require.Equal(t, http.StatusForbidden, open(t, ctx, "/app/adoption"), "billing does not read adoption")
	for _, role := range []string{"exec", "marketer"} {
		other := tab(t)
		signInRole(t, other, role)
		require.Equal(t, http.StatusForbidden, open(t, other, "/app/billing"), role)
		require.Contains(t, text(t, other, "[data-test=error]"), "不能打开这个页面", role)
	}
}
