package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// addCustomers adds customers through the API, each first added by the
// staff listed first (its assignee) and then by the others (live
// relations), and waits until the API shows each one's assignee.
func addCustomers(t *testing.T, customers map[string][]string) {
	t.Helper()
	at := time.Now().Add(-time.Hour).UTC()
	var evs []map[string]any
	for id, staff := range customers {
		for i, s := range staff {
			evs = append(evs, map[string]any{"specversion": "1.0", "id": "journey-" + id + "-" + s, "source": "wecom/journey",
				"type": "contact.added", "time": at.Add(time.Duration(i) * time.Minute).Format(time.RFC3339), "tenant": site.demo.Tenant,
				"subject": id, "data": map[string]any{"staff_id": s, "name": "旅程客户 " + id}})
		}
	}
	adminAPI(t, http.MethodPost, "/v1/events", evs, nil)
	for id, staff := range customers {
		waitAssignee(t, id, staff[0])
	}
}

// waitAssignee waits until the admin's GET /v1/customers/{id} says staff
// is the assignee ("" = the pool).
func waitAssignee(t *testing.T, id, staff string) {
	t.Helper()
	var got string
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		status, body := keyAPI(t, http.MethodGet, "/v1/customers/"+id+"?include=assignment", site.demo.AdminKey, nil)
		var c struct {
			Assignment *struct {
				Assignee string `json:"assignee"`
			} `json:"assignment"`
		}
		if status == http.StatusOK && json.Unmarshal(body, &c) == nil && c.Assignment != nil {
			if got = c.Assignment.Assignee; got == staff {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s is assigned to %q, want %q", id, got, staff)
}

// poolForms is which of the card's pool forms are on the page.
func poolForms(t *testing.T, ctx context.Context) map[string]bool {
	t.Helper()
	text(t, ctx, "[data-test=pool-card]")
	out := map[string]bool{}
	for _, f := range []string{"claim", "release", "assign"} {
		out[f] = evaluate[bool](t, ctx, `!!document.querySelector('[data-test=pool-card] [data-test=`+f+`]')`)
	}
	return out
}

// TestJourneyCardActions: the customer card offers only the pool's action
// that applies. The rep's own customer: release, which puts it in the
// pool, where the card offers claim; a colleague's customer the rep is
// also a WeCom friend of: neither, and not whose it is. A manager sees
// whose, assigns it to the rep, who then may release it. A rep cannot
// assign, even by calling the API from the browser.
func TestJourneyCardActions(t *testing.T) {
	ctx := tab(t)
	rep, rep2 := site.demo.RepStaff, site.demo.OtherRepStaff
	suffix := strconv.FormatInt(time.Now().UnixNano()%1e8, 36)
	mine, theirs := "jr-mine-"+suffix, "jr-theirs-"+suffix
	addCustomers(t, map[string][]string{mine: {rep}, theirs: {rep2, rep}})
	signIn(t, ctx, "rep")

	require.Equal(t, http.StatusOK, open(t, ctx, "/app/customers/"+mine))
	require.Equal(t, "由你负责。", text(t, ctx, "[data-test=assignment]"))
	require.Equal(t, map[string]bool{"claim": false, "release": true, "assign": false}, poolForms(t, ctx))

	evaluate[bool](t, ctx, `(window.confirm = () => true, true)`)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`#release-reason`), "旅程"),
		chromedp.Click(chromedp.CSS(`[data-test=release]`))))
	waitDone(t, ctx, "customer.released")
	require.Equal(t, "在公海中，尚无负责人。", text(t, ctx, "[data-test=assignment]"), "the card reads its own write")
	require.Equal(t, map[string]bool{"claim": true, "release": false, "assign": false}, poolForms(t, ctx))

	click(t, ctx, `[data-test=claim]`)
	waitFor(t, ctx, `location.search.includes("done=customer.claimed") || !!document.querySelector('[data-test=claim-refused]')`)
	if refused := evaluate[string](t, ctx, `(document.querySelector('[data-test=claim-refused]') || {}).textContent || ""`); refused != "" {
		t.Logf("claim refused by the tenant's rules (set by another journey): %s", refused)
	} else {
		require.Equal(t, "由你负责。", text(t, ctx, "[data-test=assignment]"))
		require.Equal(t, map[string]bool{"claim": false, "release": true, "assign": false}, poolForms(t, ctx))
	}

	// A colleague's customer: neither, and not whose.
	require.Equal(t, http.StatusOK, open(t, ctx, "/app/customers/"+theirs))
	require.Equal(t, "已由其他同事负责：不能领取或放回。", text(t, ctx, "[data-test=assignment]"))
	require.Equal(t, map[string]bool{"claim": false, "release": false, "assign": false}, poolForms(t, ctx))
	require.Equal(t, http.StatusOK, open(t, ctx, "/sidebar?contact="+theirs), "the sidebar's card too")
	require.Equal(t, map[string]bool{"claim": false, "release": false, "assign": false}, poolForms(t, ctx))
	require.Equal(t, http.StatusForbidden, fetchStatus(t, ctx, "POST", "/v1/customers/"+theirs+"/assign", `{"staff_id":"`+rep+`"}`),
		"a rep cannot assign")

	// The manager sees whose it is and assigns it to the rep.
	mgr := tab(t)
	signIn(t, mgr, "manager")
	require.Equal(t, http.StatusOK, open(t, mgr, "/app/customers/"+theirs))
	require.Equal(t, fmt.Sprintf("负责人：%s", rep2), text(t, mgr, "[data-test=assignment]"))
	require.Equal(t, map[string]bool{"claim": false, "release": true, "assign": true}, poolForms(t, mgr))
	require.NoError(t, chromedp.Do(mgr,
		chromedp.SetValue(chromedp.CSS(`#assign-staff`), rep),
		chromedp.Click(chromedp.CSS(`[data-test=assign]`))))
	waitDone(t, mgr, "customer.assigned")
	require.Equal(t, fmt.Sprintf("负责人：%s", rep), text(t, mgr, "[data-test=assignment]"))

	showsAssignment(t, ctx, "/app/customers/"+theirs, "由你负责。")
	require.Equal(t, map[string]bool{"claim": false, "release": true, "assign": false}, poolForms(t, ctx))
}

// showsAssignment opens path until the card says want (the rep's read
// carries no write token of the manager's: the memory board catches up
// within moments).
func showsAssignment(t *testing.T, ctx context.Context, path, want string) {
	t.Helper()
	got := ""
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		require.Equal(t, http.StatusOK, open(t, ctx, path))
		if got = text(t, ctx, "[data-test=assignment]"); got == want {
			return
		}
	}
	t.Fatalf("%s says %q, want %q", path, got, want)
}
