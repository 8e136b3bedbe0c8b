package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

func TestJourneyTeamManager(t *testing.T) {
	ctx := tab(t)
	signIn(t, ctx, "manager")
	require.True(t, strings.HasPrefix(location(t, ctx), "/app/team"), "a manager starts on the team: %s", location(t, ctx))
	nav := text(t, ctx, "nav.nav")
	require.Contains(t, nav, "团队")
	require.Contains(t, nav, "我的一天")

	// The team, its funnel and WeCom's statistics with their meanings.
	for _, rep := range []string{site.demo.RepStaff, site.demo.OtherRepStaff} {
		text(t, ctx, `[data-test=member][data-id="`+rep+`"]`)
	}
	text(t, ctx, `[data-test=funnel]`)
	bars, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("[data-test=funnel-bar]").length`))
	require.NoError(t, err)
	require.Positive(t, bars, "a bar per stage")
	require.Contains(t, text(t, ctx, `[data-test=stats]`), "聊天数")
	require.Contains(t, text(t, ctx, `[data-test=transfer-rule]`), "90 天内最多在职转接 2 次")

	// A member's board, through the team page.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-test=member][data-id="`+site.demo.RepStaff+`"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-test=day-staff]`)),
	))
	require.Contains(t, location(t, ctx), "staff_id="+url.QueryEscape(site.demo.RepStaff))
	text(t, ctx, `[data-test=day-tabs]`)

	// A hand-over is previewed (who goes where) before it is confirmed;
	// the preview moves nothing.
	require.Equal(t, http.StatusOK, open(t, ctx, "/app/team/handover"))
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`#handover-staff`), site.demo.OtherRepStaff),
		chromedp.SendKeys(chromedp.CSS(`#handover-successor`), site.demo.RepStaff),
		chromedp.Click(chromedp.CSS(`[data-test=preview]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-test=handover-preview]`)),
	))
	moves, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("[data-test=move]").length`))
	require.NoError(t, err)
	require.Positive(t, moves, "rep2 holds customers")
	require.Contains(t, text(t, ctx, `[data-test=preview-summary]`), site.demo.RepStaff)
	text(t, ctx, `[data-test=confirm]`)

	// A transfer from rep2 to rep: the result, then WeCom's refusal of a
	// customer no longer rep2's, by rule.
	moved := heldBy(t, 1, site.demo.OtherRepStaff)[0]
	transfer := func() {
		require.Equal(t, http.StatusOK, open(t, ctx, "/app/team"))
		require.NoError(t, chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.CSS(`#transfer-from`), site.demo.OtherRepStaff),
			chromedp.SendKeys(chromedp.CSS(`#transfer-to`), site.demo.RepStaff),
			chromedp.SendKeys(chromedp.CSS(`#transfer-ids`), moved),
			chromedp.Click(chromedp.CSS(`[data-test=transfer]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-test=transfer-result]`)),
		))
	}
	transfer()
	require.Contains(t, text(t, ctx, `[data-test=transferred]`), moved)
	require.Contains(t, text(t, ctx, `p.notice`), "已转接 1 位客户")
	transfer()
	refused := text(t, ctx, `[data-test=transfer-refused] [data-rule=not_assigned_to_from]`)
	require.Contains(t, refused, moved)
	require.Contains(t, refused, "客户不在转出人名下")

	// An assignment the API refuses shows its message beside the form.
	require.Equal(t, http.StatusOK, open(t, ctx, "/app/team"))
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`#assign-customer`), moved),
		chromedp.SendKeys(chromedp.CSS(`#assign-staff`), site.demo.RepStaff),
		chromedp.Click(chromedp.CSS(`[data-test=assign]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-test=error]`)),
	))
	require.Contains(t, text(t, ctx, `[data-test=error]`), "already assigned")
}

func TestJourneyTeamWalls(t *testing.T) {
	ctx := tab(t)
	signIn(t, ctx, "manager")
	for _, p := range []string{"/app/billing", "/app/admin"} {
		require.Equal(t, http.StatusForbidden, open(t, ctx, p), p)
		require.Contains(t, text(t, ctx, `[data-test=error]`), "主管", p)
	}
}
