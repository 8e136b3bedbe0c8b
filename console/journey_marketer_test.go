package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// TestJourneyMarketerTags: a marketer lands on the segments, opens the tag
// library, creates a tag in a group and sees the usage count grow, renames
// it, and deletes it (confirming) and sees the count shrink back.
func TestJourneyMarketerTags(t *testing.T) {
	ctx := tab(t)
	signIn(t, ctx, "marketer")
	require.Equal(t, "/app/segments", location(t, ctx), "a marketer starts on the segments")

	require.Equal(t, http.StatusOK, open(t, ctx, "/app/tags"))
	live := meterValue(t, ctx)
	require.Contains(t, text(t, ctx, "[data-test=tag-count]"), "3000")

	name := "旅程" + strconv.FormatInt(time.Now().UnixNano()%1e8, 36)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`#tag-name`), name),
		chromedp.SendKeys(chromedp.CSS(`#tag-group`), "旅程组"),
		chromedp.SendKeys(chromedp.CSS(`#tag-order`), "7"),
		chromedp.Click(chromedp.CSS(`[data-test=tag-create] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)),
	))
	row := fmt.Sprintf(`[data-test=tag-group][data-group="旅程组"] [data-test=tag][data-name=%q]`, name)
	require.NotEmpty(t, text(t, ctx, row+" .mk-tag-name"), "the new tag is listed in its group")
	require.Equal(t, live+1, meterValue(t, ctx), "the usage counts the new tag")
	id := attr(t, ctx, row, "data-id")

	// The same name in the same group: the API's refusal, beside the form.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`#tag-name`), name),
		chromedp.SendKeys(chromedp.CSS(`#tag-group`), "旅程组"),
		chromedp.Click(chromedp.CSS(`[data-test=tag-create] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#tag-name[aria-invalid=true]`)),
	))
	require.Contains(t, text(t, ctx, "[data-test=error]"), "already has a tag named")
	require.Equal(t, name, value(t, ctx, "#tag-name"), "the form keeps what was typed")

	renamed := name + "改"
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(row+` [data-test=tag-edit]`)),
		chromedp.SetValue(chromedp.CSS(`[id="n-`+id+`"]`), renamed),
		chromedp.Click(chromedp.CSS(row+` [data-test=tag-save]`)),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`[data-test=tag][data-name=%q]`, renamed))),
	))
	require.Equal(t, id, attr(t, ctx, fmt.Sprintf(`[data-test=tag][data-name=%q]`, renamed), "data-id"), "renamed in place")

	confirmYes(t, ctx)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-test=tag][data-id=%q] [data-test=tag-delete]`, id))),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)),
		chromedp.WaitNotPresent(chromedp.CSS(fmt.Sprintf(`[data-test=tag][data-id=%q]`, id))),
	))
	require.Equal(t, live, meterValue(t, ctx), "the deleted tag leaves the usage")
}

// TestJourneyMarketerSegments: a marketer builds (a tag OR a channel) AND
// NOT a stage, seeing after each edit the exact count the API answers for
// that definition; saves it, opens its members, downloads the CSV with the
// browser's session, and tags every member, watching the job to done.
func TestJourneyMarketerSegments(t *testing.T) {
	ctx := tab(t)
	signIn(t, ctx, "marketer")
	require.Equal(t, "/app/segments", location(t, ctx))
	tag, channel, stage := demoValues(t)

	// The builder starts with one blank condition: nothing to count yet.
	require.Equal(t, "—", text(t, ctx, "[data-test=seg-count]"))
	// Make the root's first child an OR group: add a group, drop the blank.
	click(t, ctx, `[data-test=seg-builder] > fieldset > .seg-foot [data-test=seg-addgroup]`)
	click(t, ctx, `[data-test=seg-builder] > fieldset > .seg-kids > li:first-child [data-test=seg-remove]`)
	choose(t, ctx, "op-r.0", "or")
	choose(t, ctx, "what-r.0.0", "tag:"+tag)
	tagOnly := fmt.Sprintf(`{"and":[{"or":[{"tag":{"has":%q}}]}]}`, tag)
	first := countIs(t, ctx, tagOnly)

	click(t, ctx, `[data-test=seg-builder] > fieldset > .seg-kids > li:first-child > fieldset > .seg-foot [data-test=seg-add]`)
	choose(t, ctx, "what-r.0.1", "field:channel")
	choose(t, ctx, "cmp-r.0.1", "=")
	require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`[id="val-r.0.1"]`), channel)))
	either := fmt.Sprintf(`{"and":[{"or":[{"tag":{"has":%q}},{"field":"channel","op":"=","value":%q}]}]}`, tag, channel)
	second := countIs(t, ctx, either)
	require.GreaterOrEqual(t, second, first, "OR a channel adds customers")

	click(t, ctx, `[data-test=seg-builder] > fieldset > .seg-foot [data-test=seg-add]`)
	choose(t, ctx, "what-r.1", "field:stage")
	choose(t, ctx, "cmp-r.1", "=")
	require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`[id="val-r.1"]`), stage)))
	withStage := fmt.Sprintf(`{"and":[{"or":[{"tag":{"has":%q}},{"field":"channel","op":"=","value":%q}]},{"field":"stage","op":"=","value":%q}]}`, tag, channel, stage)
	countIs(t, ctx, withStage)
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[id="not-r.1"]`))))
	final := fmt.Sprintf(`{"and":[{"or":[{"tag":{"has":%q}},{"field":"channel","op":"=","value":%q}]},{"not":{"field":"stage","op":"=","value":%q}}]}`, tag, channel, stage)
	want := countIs(t, ctx, final)
	require.Positive(t, want, "the demo has customers in this segment")
	t.Logf("counts: tag %s %d; or channel %s %d; and not stage %s %d", tag, first, channel, second, stage, want)

	// A bad value shows the API's own refusal, naming the path.
	choose(t, ctx, "what-r.1", "field:messages_in")
	choose(t, ctx, "cmp-r.1", ">=")
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`[data-test=seg-error]`))))
	require.Contains(t, text(t, ctx, "[data-test=seg-error]"), "definition.and[1].not.value")
	choose(t, ctx, "what-r.1", "field:stage")
	choose(t, ctx, "cmp-r.1", "=")
	require.Equal(t, want, countIs(t, ctx, final))

	// Save it: its page shows the same count and its members.
	name := "旅程分群" + strconv.FormatInt(time.Now().UnixNano()%1e8, 36)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`#seg-name`), name),
		chromedp.Click(chromedp.CSS(`[data-test=seg-save]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-test=seg-total]`)),
	))
	require.True(t, strings.HasPrefix(location(t, ctx), "/app/segments/seg_"), location(t, ctx))
	segPath := strings.SplitN(location(t, ctx), "?", 2)[0]
	require.Contains(t, text(t, ctx, "[data-test=seg-name]"), name)
	require.Equal(t, strconv.FormatUint(want, 10), text(t, ctx, "[data-test=seg-total]"))
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-test=member]').length`))
	require.NoError(t, err)
	require.Equal(t, int(min(want, 50)), rows)
	href := attr(t, ctx, `[data-test=member] a`, "href")
	require.True(t, strings.HasPrefix(href, "/app/customers/"), href)

	// The CSV link is the API's export, authenticated by the session cookie.
	csvHref := attr(t, ctx, `[data-test=seg-csv]`, "href")
	var got struct {
		Status int    `json:"status"`
		Type   string `json:"type"`
		Body   string `json:"body"`
	}
	got, err = chromedp.Run(ctx, chromedp.Evaluate[struct {
		Status int    `json:"status"`
		Type   string `json:"type"`
		Body   string `json:"body"`
	}](fmt.Sprintf(`fetch(%q, {credentials: "same-origin"}).then(r => r.text().then(b => ({status: r.status, type: r.headers.get("content-type"), body: b})))`, csvHref), chromedp.EvalAwaitPromise))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, got.Status, got.Body)
	require.True(t, strings.HasPrefix(got.Type, "text/csv"), got.Type)
	lines := strings.Split(strings.TrimSpace(got.Body), "\n")
	require.Contains(t, lines[0], "contact_id", "a header row")
	require.Len(t, lines, int(want)+1, "a row per member")
	require.True(t, strings.HasSuffix(attr(t, ctx, `[data-test=seg-parquet]`, "href"), "format=parquet"))

	// Tag every member and watch the progress bar reach done.
	choose(t, ctx, "job-tag", tag)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-test=job-start]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-test=job]`)),
	))
	require.Contains(t, location(t, ctx), segPath+"?job=")
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector('[data-test=job]').getAttribute('data-state') === 'done'`,
		chromedp.WithPollingInterval(200*time.Millisecond), chromedp.WithPollingTimeout(60*time.Second)))
	require.NoError(t, err, "the job reaches done")
	full, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(b => b.value === b.max)(document.querySelector('[data-test=job-bar]'))`))
	require.NoError(t, err)
	require.True(t, full, "the bar is full")
	require.Equal(t, "已完成", text(t, ctx, "[data-test=job-state]"))
	require.Contains(t, text(t, ctx, "[data-test=job-counts]"), strconv.FormatUint(want, 10))

	// The saved segment is listed, and can be deleted.
	require.Equal(t, http.StatusOK, open(t, ctx, "/app/segments"))
	item := fmt.Sprintf(`[data-test=seg-item][data-id=%q]`, strings.TrimPrefix(segPath, "/app/segments/"))
	require.Equal(t, name, text(t, ctx, item+" [data-test=seg-link]"))
	confirmYes(t, ctx)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(item+" button.danger")),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)),
		chromedp.WaitNotPresent(chromedp.CSS(item)),
	))
}

// TestJourneyMarketerNoScript: without the script the builder's buttons
// post the form and the count is the server's, equal to the API's.
func TestJourneyMarketerNoScript(t *testing.T) {
	ctx := tab(t)
	signIn(t, ctx, "marketer")
	tag, _, _ := demoValues(t)
	require.NoError(t, chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	})))
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(site.base+"/app/segments"),
		chromedp.WaitVisible(chromedp.CSS(`[data-test=seg-builder]`))))
	noScript, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!document.querySelector('[data-test=seg-builder]').hasAttribute('data-counted')`))
	require.NoError(t, err)
	require.True(t, noScript)
	require.NoError(t, chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS(`[id="what-r.0"]`), "tag:"+tag)))
	require.Equal(t, http.StatusOK, submit(t, ctx, `[data-test=seg-recount]`))
	want := apiCount(t, fmt.Sprintf(`{"and":[{"tag":{"has":%q}}]}`, tag))
	require.Equal(t, strconv.FormatUint(want, 10), text(t, ctx, "[data-test=seg-count]"))
	require.Equal(t, "tag:"+tag, value(t, ctx, `[id="what-r.0"]`), "the form keeps the condition")
	// The structural buttons post too: add a condition, then remove the first.
	require.Equal(t, http.StatusOK, submit(t, ctx, `[data-test=seg-add]`))
	require.Equal(t, "", value(t, ctx, `[id="what-r.1"]`), "a new blank condition")
	require.Equal(t, "—", text(t, ctx, "[data-test=seg-count]"), "a blank condition: nothing to count")
	require.Equal(t, http.StatusOK, submit(t, ctx, `[data-test=seg-builder] > fieldset > .seg-kids > li:first-child [data-test=seg-remove]`))
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitNotPresent(chromedp.CSS(`[id="what-r.1"]`))))
	require.Equal(t, "", value(t, ctx, `[id="what-r.0"]`), "the blank condition is left")
}

// TestJourneyMarketerWalls: a marketer cannot open the billing, admin or
// team pages.
func TestJourneyMarketerWalls(t *testing.T) {
	ctx := tab(t)
	signIn(t, ctx, "marketer")
	for _, p := range []string{"/app/billing", "/app/admin", "/app/team"} {
		require.Equal(t, http.StatusForbidden, open(t, ctx, p), p)
		require.Contains(t, text(t, ctx, "[data-test=error]"), "市场", p)
	}
	for _, p := range []string{"/app/tags", "/app/segments"} {
		require.Equal(t, http.StatusOK, open(t, ctx, p), p)
	}
}

// TestJourneyMarketerRepWall: a rep cannot open the marketer's pages.
func TestJourneyMarketerRepWall(t *testing.T) {
	rep := tab(t)
	signIn(t, rep, "rep")
	for _, p := range []string{"/app/tags", "/app/segments"} {
		require.Equal(t, http.StatusForbidden, open(t, rep, p), p)
	}
}

// demoValues picks a tag, a channel and a stage the demo's customers have.
func demoValues(t *testing.T) (tag, channel, stage string) {
	t.Helper()
	var pr struct {
		Customers []struct {
			Channel string   `json:"channel"`
			Stage   string   `json:"stage"`
			TagIDs  []string `json:"tag_ids"`
		} `json:"customers"`
	}
	adminAPI(t, http.MethodPost, "/v1/segments/preview", `{"definition": {"lost": false}, "limit": 1000}`, &pr)
	for _, c := range pr.Customers {
		if tag == "" && len(c.TagIDs) > 0 {
			tag = c.TagIDs[0]
		}
		if channel == "" && c.Channel != "" {
			channel = c.Channel
		}
		if stage == "" && c.Stage != "" {
			stage = c.Stage
		}
	}
	require.True(t, tag != "" && channel != "" && stage != "", "the demo has tags, channels and stages")
	return tag, channel, stage
}

// apiCount is POST /v1/segments/preview's count for def, by the admin key.
func apiCount(t *testing.T, def string) uint64 {
	t.Helper()
	var pr struct {
		Count uint64 `json:"count"`
	}
	adminAPI(t, http.MethodPost, "/v1/segments/preview", `{"definition": `+def+`, "limit": 0}`, &pr)
	return pr.Count
}

// countIs waits until the builder has counted def (the script keeps the
// counted definition in data-counted) and checks its count is the API's.
func countIs(t *testing.T, ctx context.Context, def string) uint64 {
	t.Helper()
	var wantDef any
	require.NoError(t, json.Unmarshal([]byte(def), &wantDef))
	canon, _ := json.Marshal(wantDef)
	_, err := chromedp.Run(ctx, chromedp.PollFunction[bool](`c => {
		const f = document.querySelector('[data-test=seg-builder]');
		const d = f.getAttribute('data-counted');
		return d !== null && JSON.stringify(JSON.parse(d)) === c;
	}`, chromedp.WithPollingArgs(string(canon)), chromedp.WithPollingInterval(50*time.Millisecond),
		chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		counted, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('[data-test=seg-builder]').getAttribute('data-counted') || document.querySelector('[data-f=definition]').value`))
		require.NoError(t, err, "the builder counts %s (it has %s; error: %s)", def, counted, text(t, ctx, "[data-test=seg-status]"))
	}
	want := apiCount(t, def)
	require.Equal(t, strconv.FormatUint(want, 10), text(t, ctx, "[data-test=seg-count]"), "the count of %s", def)
	return want
}

// choose picks value in the select with id, as a person would (a change event).
func choose(t *testing.T, ctx context.Context, id, value string) {
	t.Helper()
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`(el => {
		if (!el) return false;
		el.value = %q;
		el.dispatchEvent(new Event("change", {bubbles: true}));
		return el.value === %q;
	})(document.getElementById(%q))`, value, value, id)))
	require.NoError(t, err)
	require.True(t, ok, "choose %s in #%s", value, id)
}

// submit clicks sel and waits for the page it posts to, answering its status.
func submit(t *testing.T, ctx context.Context, sel string) int {
	t.Helper()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	require.NoError(t, err, "submit %s", sel)
	return int(resp.Status)
}

func click(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel))), "click %s", sel)
}

func attr(t *testing.T, ctx context.Context, sel, name string) string {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitReady(chromedp.CSS(sel))), "wait for %s", sel)
	v, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
	require.NoError(t, err)
	require.True(t, v.Exists, "%s has %s", sel, name)
	return v.Value
}

func value(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(sel)))
	require.NoError(t, err)
	return v
}

func meterValue(t *testing.T, ctx context.Context) int {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.getElementById('tag-meter').value`))
	require.NoError(t, err)
	return v
}

// confirmYes answers yes to the page's next confirm() questions.
func confirmYes(t *testing.T, ctx context.Context) {
	t.Helper()
	_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(window.confirm = () => true, true)`))
	require.NoError(t, err)
}
