package console_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"
)

// orderGroup is a fresh tag group of three tags for a journey (the
// largest orders there are: shown A, B, C, the group first in the
// library), deleted after it.
func orderGroup(t *testing.T) (group string, ids map[string]string) {
	t.Helper()
	group = "排序" + strconv.FormatInt(time.Now().UnixNano()%1e8, 36)
	ids = map[string]string{}
	for i, n := range []string{"A", "B", "C"} {
		var tag struct {
			ID string `json:"id"`
		}
		adminAPI(t, http.MethodPost, "/v1/tags", map[string]any{"name": n, "group": group, "order": 1<<32 - 1 - i}, &tag)
		ids[n] = tag.ID
	}
	t.Cleanup(func() {
		for _, id := range ids {
			adminAPI(t, http.MethodDelete, "/v1/tags/"+id, nil, nil)
		}
	})
	return group, ids
}

// apiOrder is the group's tag names and the groups, in the library's
// order, as GET /v1/tags answers them.
func apiOrder(t *testing.T, group string) (tags, groups []string) {
	t.Helper()
	var lib struct {
		Tags []struct {
			Name  string `json:"name"`
			Group string `json:"group"`
		} `json:"tags"`
	}
	adminAPI(t, http.MethodGet, "/v1/tags", nil, &lib)
	for _, tg := range lib.Tags {
		if tg.Group == group {
			tags = append(tags, tg.Name)
		}
		if len(groups) == 0 || groups[len(groups)-1] != tg.Group {
			groups = append(groups, tg.Group)
		}
	}
	return tags, groups
}

// pageOrder is the group's tag names and the groups as the page shows them.
func pageOrder(t *testing.T, ctx context.Context, group string) (tags, groups []string) {
	t.Helper()
	tags = evaluate[[]string](t, ctx, fmt.Sprintf(`[...document.querySelectorAll('[data-test=tag-group][data-group=%q] [data-test=tag]')].map(li => li.dataset.name)`, group))
	groups = evaluate[[]string](t, ctx, `[...document.querySelectorAll('[data-test=tag-group]')].map(s => s.dataset.group)`)
	return tags, groups
}

// saved waits until the page's script has saved the order it shows.
func saved(t *testing.T, ctx context.Context) {
	t.Helper()
	waitFor(t, ctx, `(r => !r.hasAttribute('data-saving') && r.getAttribute('data-saved') ===
		[...r.querySelectorAll('[data-test=tag]')].map(li => li.dataset.id).join(','))(document.querySelector('[data-test=tag-groups]'))`)
	require.True(t, evaluate[bool](t, ctx, `document.querySelector('[data-test=order-error]').hidden`),
		"no refusal: %s", evaluate[string](t, ctx, `document.querySelector('[data-test=order-error]').textContent`))
}

// drag drags the handle of from over to (its top-left quarter when before,
// else its bottom-right) and drops it, with the HTML5 drag events a
// person's drag makes.
func drag(t *testing.T, ctx context.Context, from, to string, before bool) {
	t.Helper()
	ok := evaluate[bool](t, ctx, fmt.Sprintf(`((from, to, before) => {
		const h = from.querySelector('.mk-handle'), dt = new DataTransfer(), r = to.getBoundingClientRect();
		const x = before ? r.left + 2 : r.right - 2, y = before ? r.top + 2 : r.bottom - 2;
		const fire = (el, type, px, py) => el.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: dt, clientX: px, clientY: py}));
		const hr = h.getBoundingClientRect();
		fire(h, 'dragstart', hr.left, hr.top);
		const over = document.elementFromPoint(x, y) || to;
		fire(over, 'dragenter', x, y);
		const accepted = !fire(over, 'dragover', x, y);
		fire(over, 'drop', x, y);
		fire(h, 'dragend', x, y);
		return accepted;
	})(document.querySelector(%q), document.querySelector(%q), %t)`, from, to, before))
	require.True(t, ok, "the page accepts the drop of %s over %s", from, to)
}

// TestJourneyMarketerTagOrder: the marketer reorders a group's tags by
// keyboard (the ↑ button keeps the focus) and by dragging, and the groups
// by their ↓ button and by dragging; each order is saved through the API
// at once and is the page's after a reload.
func TestJourneyMarketerTagOrder(t *testing.T) {
	ctx := tab(t)
	signIn(t, ctx, "marketer")
	group, ids := orderGroup(t)
	gsel := fmt.Sprintf(`[data-test=tag-group][data-group=%q]`, group)
	tsel := func(n string) string { return fmt.Sprintf(`[data-test=tag][data-id=%q]`, ids[n]) }
	require.Equal(t, http.StatusOK, open(t, ctx, "/app/tags"))
	tags, groups := pageOrder(t, ctx, group)
	require.Equal(t, []string{"A", "B", "C"}, tags)
	require.Equal(t, group, groups[0], "its highest order puts the new group first")
	require.True(t, evaluate[bool](t, ctx, `document.querySelector('`+tsel("A")+` [data-test=tag-up]').disabled`), "the first cannot go up")

	// Keyboard: focus C's ↑ and press Enter.
	require.NoError(t, chromedp.Do(ctx, chromedp.Focus(chromedp.CSS(tsel("C")+` [data-test=tag-up]`)), chromedp.KeyEvent(kb.Enter)))
	saved(t, ctx)
	tags, _ = pageOrder(t, ctx, group)
	require.Equal(t, []string{"A", "C", "B"}, tags)
	require.True(t, evaluate[bool](t, ctx, `document.activeElement === document.querySelector('`+tsel("C")+` [data-test=tag-up]')`),
		"the focus stays on the button that moved the tag")
	tags, _ = apiOrder(t, group)
	require.Equal(t, []string{"A", "C", "B"}, tags, "saved through the API")

	// Drag A below B.
	drag(t, ctx, tsel("A"), tsel("B"), false)
	saved(t, ctx)
	tags, _ = pageOrder(t, ctx, group)
	require.Equal(t, []string{"C", "B", "A"}, tags)
	tags, _ = apiOrder(t, group)
	require.Equal(t, []string{"C", "B", "A"}, tags)

	// The group: one step down by its ↓ button, then dragged back first.
	click(t, ctx, gsel+` [data-test=group-down]`)
	saved(t, ctx)
	_, groups = pageOrder(t, ctx, group)
	require.Equal(t, group, groups[1])
	_, apiGroups := apiOrder(t, group)
	require.Equal(t, groups, apiGroups, "the groups' order is the API's")
	drag(t, ctx, gsel, `[data-test=tag-group]:first-child`, true)
	saved(t, ctx)
	_, groups = pageOrder(t, ctx, group)
	require.Equal(t, group, groups[0])
	_, apiGroups = apiOrder(t, group)
	require.Equal(t, groups, apiGroups)

	// A reload shows what was saved.
	require.Equal(t, http.StatusOK, open(t, ctx, "/app/tags"))
	tags, groups = pageOrder(t, ctx, group)
	require.Equal(t, []string{"C", "B", "A"}, tags)
	require.Equal(t, group, groups[0])
	live := evaluate[int](t, ctx, `document.querySelectorAll('[data-test=tag]').length`)
	require.True(t, strings.HasSuffix(text(t, ctx, tsel("C")+` [data-f=order]`), " "+strconv.Itoa(live-1)), "the first tag holds the highest order")
}

// TestJourneyMarketerTagOrderNoScript: without the script the ↑ ↓ buttons
// post the page's move form, one step at a time.
func TestJourneyMarketerTagOrderNoScript(t *testing.T) {
	ctx := tab(t)
	signIn(t, ctx, "marketer")
	group, ids := orderGroup(t)
	require.NoError(t, chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	})))
	require.Equal(t, http.StatusOK, open(t, ctx, "/app/tags"))
	require.Zero(t, evaluate[int](t, ctx, `document.querySelectorAll('.mk-handle').length`), "no drag handles without the script")
	click(t, ctx, fmt.Sprintf(`[data-test=tag][data-id=%q] [data-test=tag-down]`, ids["A"]))
	waitDone(t, ctx, "mk.order.saved")
	tags, _ := apiOrder(t, group)
	require.Equal(t, []string{"B", "A", "C"}, tags)
	tags, _ = pageOrder(t, ctx, group)
	require.Equal(t, []string{"B", "A", "C"}, tags)
}
