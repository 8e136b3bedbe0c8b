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

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// TestJourneyMarketerSavedSegments: the saved segments list each segment's
// exact member count (the API's); the marketer reopens one in the builder
// (a definition written with forms the builder has no control for, loaded
// into its tree), sees its count, adds a condition and watches the count
// follow, saves it back under the same id, and finds the new count in the
// list and the new definition behind the API. A rep cannot change a saved
// segment, even by calling the API from the browser.
func TestJourneyMarketerSavedSegments(t *testing.T) {
	ctx := tab(t)
	signIn(t, ctx, "marketer")
	tag, channel, _ := demoValues(t)
	name := "旅程编辑" + strconv.FormatInt(time.Now().UnixNano()%1e8, 36)
	def := fmt.Sprintf(`{"and":[{"tags":{"any":[%q]}},{"lost":false}]}`, tag)
	var seg struct {
		ID string `json:"id"`
	}
	adminAPI(t, http.MethodPost, "/v1/segments", map[string]any{"name": name, "definition": json.RawMessage(def)}, &seg)
	t.Cleanup(func() { adminAPI(t, http.MethodDelete, "/v1/segments/"+seg.ID, nil, nil) })

	require.Equal(t, http.StatusOK, open(t, ctx, "/app/segments"))
	item := fmt.Sprintf(`[data-test=seg-item][data-id=%q]`, seg.ID)
	before := apiCount(t, def)
	require.Equal(t, fmt.Sprintf("%d 人", before), text(t, ctx, item+" [data-test=seg-item-count]"), "the list shows the exact count")
	counted := evaluate[int](t, ctx, `[...document.querySelectorAll('[data-test=seg-item]')].filter(li => /\d+ 人/.test(li.querySelector('[data-test=seg-item-count]').textContent)).length`)
	listed := evaluate[int](t, ctx, `document.querySelectorAll('[data-test=seg-item]').length`)
	require.Equal(t, listed, counted, "every saved segment is counted")

	// Reopen it in the builder: its tree, its name, its count.
	click(t, ctx, item+" [data-test=seg-edit]")
	require.Contains(t, text(t, ctx, "[data-test=seg-editing]"), name)
	require.Equal(t, "/app/segments?edit="+seg.ID, location(t, ctx))
	require.Equal(t, name, value(t, ctx, "#seg-name"))
	require.Equal(t, "tag:"+tag, value(t, ctx, `[id="what-r.0.0"]`), "the tags' any is an or-group of tag conditions")
	require.Equal(t, "or", value(t, ctx, `[id="op-r.0"]`))
	loaded := fmt.Sprintf(`{"and":[{"or":[{"tag":{"has":%q}}]},{"not":{"lost":true}}]}`, tag)
	require.Equal(t, before, countIs(t, ctx, loaded), "the loaded tree means what was saved")

	// Edit: AND a channel; the count follows.
	click(t, ctx, `[data-test=seg-builder] > fieldset > .seg-foot [data-test=seg-add]`)
	choose(t, ctx, "what-r.2", "field:channel")
	choose(t, ctx, "cmp-r.2", "=")
	require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`[id="val-r.2"]`), channel)))
	edited := fmt.Sprintf(`{"and":[{"or":[{"tag":{"has":%q}}]},{"not":{"lost":true}},{"field":"channel","op":"=","value":%q}]}`, tag, channel)
	after := countIs(t, ctx, edited)
	require.LessOrEqual(t, after, before, "AND narrows")
	t.Logf("segment %s: %d members, %d with channel %s", seg.ID, before, after, channel)

	// Save it back: the same segment, the new count in the list.
	click(t, ctx, `[data-test=seg-save]`)
	waitDone(t, ctx, "mk.seg.changed")
	require.True(t, strings.HasPrefix(location(t, ctx), "/app/segments?"), location(t, ctx))
	require.Equal(t, fmt.Sprintf("%d 人", after), text(t, ctx, item+" [data-test=seg-item-count]"))
	var got struct {
		Name       string          `json:"name"`
		Definition json.RawMessage `json:"definition"`
	}
	adminAPI(t, http.MethodGet, "/v1/segments/"+seg.ID, nil, &got)
	require.Equal(t, name, got.Name)
	require.JSONEq(t, edited, string(got.Definition))

	// Reopened, the condition is there.
	require.Equal(t, http.StatusOK, open(t, ctx, "/app/segments?edit="+seg.ID))
	require.Equal(t, "field:channel", value(t, ctx, `[id="what-r.2"]`))
	require.Equal(t, channel, value(t, ctx, `[id="val-r.2"]`))

	// A rep may not change it, not even through the API.
	rep := tab(t)
	signIn(t, rep, "rep")
	require.Equal(t, http.StatusForbidden, fetchStatus(t, rep, "PUT", "/v1/segments/"+seg.ID, `{"name":"x","definition":{"lost":true}}`))
}

// fetchStatus calls the API from the page, with its session and CSRF
// token as the page's script would, and answers the status.
func fetchStatus(t *testing.T, ctx context.Context, method, path, body string) int {
	t.Helper()
	opts := fmt.Sprintf(`{method: %q, credentials: "same-origin",
		headers: {"Content-Type": "application/json", "X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').content}}`, method)
	if body != "" {
		opts = fmt.Sprintf("Object.assign(%s, {body: %s})", opts, strconv.Quote(body))
	}
	js := fmt.Sprintf(`fetch(%q, %s).then(r => r.status)`, path, opts)
	status, err := chromedp.Run(ctx, chromedp.Evaluate[int](js, chromedp.EvalAwaitPromise))
	require.NoError(t, err, js)
	return status
}
