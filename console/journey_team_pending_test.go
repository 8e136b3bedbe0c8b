package console_test

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/api"
	"github.com/siyu-dev/siyu/console"
)

// TestJourneyTeamSectionLoadsLater: when a section of the team page is
// not ready in time (a large tenant's memory loading after a restart), the
// page shows the rest at once and that section as loading, then swaps it
// in by itself once its answer comes, keeping what the person typed.
func TestJourneyTeamSectionLoadsLater(t *testing.T) {
	ctx := tab(t) // the browser (the site's, for its chromium)
	app, ready := console.PendingTeamSite(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })
	base := "http://" + ln.Addr().String()

	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/assets/console.css")))
	evaluate[bool](t, ctx, `(document.cookie = "`+api.SessionCookie+`=sess; path=/", true)`)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(base+"/app/team"),
		chromedp.WaitVisible(chromedp.CSS(`[data-test=stats] [data-test=pending]`)),
	))
	require.Contains(t, text(t, ctx, `[data-test=stats]`), "正在载入")
	require.Contains(t, text(t, ctx, `[data-test=funnel]`), "各阶段当前客户数", "the other sections are there")
	require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`#assign-customer`), "c42")))

	ready()
	start := time.Now()
	waitFor(t, ctx, `!document.querySelector("[data-test=stats][data-pending]") && document.querySelectorAll("[data-test=stat-row]").length === 1`)
	require.Less(t, time.Since(start), 10*time.Second)
	require.Contains(t, text(t, ctx, `[data-test=stats]`), "聊天数")
	typed := evaluate[string](t, ctx, `document.getElementById("assign-customer").value`)
	require.Equal(t, "c42", strings.TrimSpace(typed), "the form the person was filling is untouched")
}
