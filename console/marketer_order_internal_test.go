package console

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/cdp"
)

func orderOf(groups []tagGroup) string {
	var out []string
	for _, g := range groups {
		var ids []string
		for _, t := range g.Tags {
			ids = append(ids, t.ID)
		}
		out = append(out, g.Name+"="+strings.Join(ids, ","))
	}
	return strings.Join(out, " ")
}

func TestMoveStep(t *testing.T) {
	lib := func() []tagGroup {
		return []tagGroup{{Name: "A:1", Tags: []cdp.Tag{{ID: "a1"}, {ID: "a2"}}}, {Name: "", Tags: []cdp.Tag{{ID: "n1"}}}}
	}
	for move, want := range map[string]string{
		"tag:a2:up":      "A:1=a2,a1 =n1",
		"tag:a1:down":    "A:1=a2,a1 =n1",
		"group::up":      "=n1 A:1=a1,a2",
		"group:A:1:down": "=n1 A:1=a1,a2",
	} {
		g := lib()
		require.True(t, moveStep(g, move), move)
		require.Equal(t, want, orderOf(g), move)
	}
	for _, move := range []string{"tag:a1:up", "tag:n1:down", "group:A:1:up", "tag:zz:up", "tag:a1:left", "", "x"} {
		g := lib()
		require.False(t, moveStep(g, move), move)
		require.Equal(t, "A:1=a1,a2 =n1", orderOf(g), "unchanged by %q", move)
	}
}

func TestTagMoveForm(t *testing.T) {
	app, f := newFake(t, "marketer", "")
	f.routes["GET /v1/tags"] = ok(tagLibrary{Tags: []cdp.Tag{
		{ID: "a1", Name: "甲", Group: "A", Order: 4}, {ID: "a2", Name: "乙", Group: "A", Order: 3},
		{ID: "b1", Name: "丙", Group: "B", Order: 2}}, Live: 3, Limit: 3000})
	f.routes["PUT /v1/tags/order"] = ok(map[string]any{"tags": []any{}})
	status, body := get(t, app, http.MethodGet, "/app/tags", nil)
	require.Equal(t, http.StatusOK, status, body)
	require.Contains(t, body, `name="move" value="tag:a1:up" data-move="up" data-test="tag-up" disabled>`, "the first cannot go up")
	require.Contains(t, body, `value="tag:a2:down" data-move="down" data-test="tag-down" disabled>`, "the last cannot go down")
	require.Contains(t, body, `<span class="visually-hidden"> 上移标签 乙</span>`, "each button says what it moves")
	require.Contains(t, body, `value="group:B:up" data-move="up" data-test="group-up">`)

	status, _ = get(t, app, http.MethodPost, "/app/tags/order/move", url.Values{"move": {"group:B:up"}})
	require.Equal(t, http.StatusSeeOther, status)
	require.Equal(t, []string{`PUT /v1/tags/order? {"tags":["b1","a1","a2"]}`}, f.called("PUT /v1/tags/order"))

	status, body = get(t, app, http.MethodPost, "/app/tags/order/move", url.Values{"move": {"tag:a1:up"}})
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, body, "页面已过期")

	f.routes["PUT /v1/tags/order"] = func(url.Values, []byte) (int, any) {
		return http.StatusConflict, map[string]any{"error": map[string]string{"code": "conflict", "message": "the library changed", "field": "tags"}}
	}
	status, body = get(t, app, http.MethodPost, "/app/tags/order/move", url.Values{"move": {"tag:a1:down"}})
	require.Equal(t, http.StatusConflict, status)
	require.Contains(t, body, "the library changed", "the API's refusal, on the page")
}
