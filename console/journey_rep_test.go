package console_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// fixtures are the demo's customers other journeys rely on: left alone.
func fixtures() []string { return []string{site.demo.ContactID, site.demo.OtherContact} }

// poolIDs lists the pool's first page, as the admin sees it.
func poolIDs(t *testing.T) []string {
	var p struct {
		Items []struct {
			ID string `json:"customer_id"`
		} `json:"items"`
	}
	adminAPI(t, http.MethodGet, "/v1/pool?limit=200", nil, &p)
	var out []string
	for _, e := range p.Items {
		out = append(out, e.ID)
	}
	return out
}

// heldBy lists n customers held by the first of staff that have them,
// leaving out those other journeys rely on.
func heldBy(t *testing.T, n int, staff ...string) []string {
	t.Helper()
	var out []string
	for _, s := range staff {
		var b struct {
			Items []struct {
				ID string `json:"contact_id"`
			} `json:"items"`
		}
		adminAPI(t, http.MethodGet, "/v1/followups/board?view=all&limit=200&staff_id="+url.QueryEscape(s), nil, &b)
		for _, e := range b.Items {
			if !slices.Contains(fixtures(), e.ID) && !slices.Contains(out, e.ID) && len(out) < n {
				out = append(out, e.ID)
			}
		}
	}
	require.Len(t, out, n, "%v hold %d spare customers", staff, n)
	return out
}

// inPool makes sure the pool lists n customers besides the fixtures
// (releasing rep2's when it does not) and returns them.
func inPool(t *testing.T, n int) []string {
	t.Helper()
	var spare []string
	for _, id := range poolIDs(t) {
		if !slices.Contains(fixtures(), id) {
			spare = append(spare, id)
		}
	}
	if len(spare) >= n {
		return spare[:n]
	}
	release := heldBy(t, n-len(spare), site.demo.OtherRepStaff, site.demo.RepStaff)
	for _, id := range release {
		adminAPI(t, http.MethodPost, "/v1/customers/"+url.PathEscape(id)+"/release", map[string]string{"reason": "console journey"}, nil)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ids := poolIDs(t)
		missing := slices.DeleteFunc(slices.Clone(release), func(id string) bool { return slices.Contains(ids, id) })
		if len(missing) == 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "released customers %v not in the pool", missing)
		time.Sleep(300 * time.Millisecond)
	}
	return append(spare, release...)
}

func TestJourneyRepDay(t *testing.T) {
	ctx := tab(t)
	signIn(t, ctx, "rep")
	require.True(t, strings.HasPrefix(location(t, ctx), "/app/day"), "a rep starts on the day: %s", location(t, ctx))
	require.Contains(t, text(t, ctx, "nav.nav"), "我的一天")
	require.Contains(t, text(t, ctx, "nav.nav"), "公海")
	require.NotContains(t, text(t, ctx, "nav.nav"), "团队")

	// The views are tabs.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-test=view-overdue]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-test=view-overdue][aria-current=page]`)),
	))
	require.Contains(t, location(t, ctx), "view=overdue")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-test=view-recent]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-test=view-recent][aria-current=page]`)),
	))

	// The stage filter keeps the view.
	stage, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#day-stage option:nth-child(2)").value`))
	require.NoError(t, err)
	require.NotEmpty(t, stage, "the tenant has stages")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#day-stage`), stage),
		chromedp.Click(chromedp.CSS(`[data-test=filter-submit]`)),
		chromedp.WaitReady(chromedp.CSS(`#day-stage option[value="`+stage+`"][selected]`)),
	))
	loc := location(t, ctx)
	require.Contains(t, loc, "stage="+url.QueryEscape(stage))
	require.Contains(t, loc, "view=recent")
	label, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#day-stage option[selected]").textContent`))
	require.NoError(t, err)
	require.Contains(t, text(t, ctx, "#day-board-h"), label, "the heading names the stage in the page's language")

	// Every customer of the board opens the customer page.
	require.Equal(t, http.StatusOK, open(t, ctx, "/app/day?view=all"))
	text(t, ctx, `[data-test=reminders]`)
	text(t, ctx, `[data-test=digest]`)
	href, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("[data-test=customer-link]").getAttribute("href")`))
	require.NoError(t, err, "the rep's board lists customers")
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-test=customer-link]`)),
		chromedp.WaitVisible(chromedp.CSS(`main`))))
	require.Eventually(t, func() bool { return location(t, ctx) == href }, 10*time.Second, 100*time.Millisecond, "opened %s", href)
	require.True(t, strings.HasPrefix(href, "/app/customers/"), href)
}

func TestJourneyRepPool(t *testing.T) {
	ctx := tab(t)
	ids := inPool(t, 2)
	mine, taken := ids[0], ids[1]
	signIn(t, ctx, "rep")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`nav.nav a[href="/app/pool"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-test=pool-rules]`)),
	))
	require.Contains(t, text(t, ctx, "[data-test=pool-rules]"), "每人最多持有客户数")
	text(t, ctx, `[data-test=pool-row][data-id="`+mine+`"]`)
	text(t, ctx, `[data-test=pool-row][data-id="`+taken+`"]`)

	// While the page is open, a manager gives one of them to rep2: the
	// rep's claim of both gets one, and the other's refusal names its rule.
	adminAPI(t, http.MethodPost, "/v1/customers/"+url.PathEscape(taken)+"/assign", map[string]string{"staff_id": site.demo.OtherRepStaff}, nil)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-test=pool-row][data-id="`+mine+`"] [data-test=pick]`)),
		chromedp.Click(chromedp.CSS(`[data-test=pool-row][data-id="`+taken+`"] [data-test=pick]`)),
		chromedp.Click(chromedp.CSS(`[data-test=claim-many]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-test=claim-result]`)),
	))
	require.Contains(t, text(t, ctx, `[data-test=claimed]`), mine)
	refused := text(t, ctx, `[data-test=refused] [data-rule=not_in_pool]`)
	require.Contains(t, refused, taken)
	require.Contains(t, refused, "客户不在公海中", "the rule in the person's language")
	require.Contains(t, refused, "assigned to "+site.demo.OtherRepStaff, "and the API's reason")
	require.Contains(t, text(t, ctx, `p.notice`), "已认领 1 位客户")

	// Claimed is claimed: a second claim of it (one button) is refused.
	// (The pool page may still list it while the pipeline catches up: the
	// form is posted as that stale page would.)
	require.Equal(t, http.StatusOK, open(t, ctx, "/app/pool"))
	_, err := chromedp.Run(ctx, chromedp.Evaluate[any](`(function(){
		var f = document.createElement("form"); f.method = "post"; f.action = "/app/pool/claim";
		[["csrf", document.querySelector('meta[name="csrf-token"]').content], ["customer_ids", `+jsString(mine)+`]].forEach(function (kv) {
			var i = document.createElement("input"); i.type = "hidden"; i.name = kv[0]; i.value = kv[1]; f.appendChild(i); });
		document.body.appendChild(f); f.submit(); return null; })()`))
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`[data-test=claim-result]`))))
	require.Contains(t, text(t, ctx, `[data-test=refused] [data-rule=not_in_pool]`), "assigned to "+site.demo.RepStaff)
}

func TestJourneyRepWalls(t *testing.T) {
	ctx := tab(t)
	signIn(t, ctx, "rep")
	require.Equal(t, http.StatusForbidden, open(t, ctx, "/app/team"))
	require.Contains(t, text(t, ctx, `[data-test=error]`), "销售")

	require.Equal(t, http.StatusForbidden, open(t, ctx, "/app/day?staff_id="+url.QueryEscape(site.demo.OtherRepStaff)))
	require.Contains(t, text(t, ctx, `[data-test=error]`), "a rep sees only their own follow-ups", "the API's refusal")
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!document.querySelector("[data-test=board],[data-test=reminders],[data-test=digest]")`))
	require.NoError(t, err)
	require.False(t, shown, "no data of the other rep")
	body, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerHTML`))
	require.NoError(t, err)
	require.NotContains(t, body, site.demo.OtherContact)
}

// jsString is s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
