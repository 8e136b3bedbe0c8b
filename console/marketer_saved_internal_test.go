package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/cdp"
)

// loaded is def loaded into a builder and written back.
func loaded(t *testing.T, def string) (string, *segBuilder) {
	t.Helper()
	b := &segBuilder{}
	require.NoError(t, b.load([]byte(def)), def)
	b.encode()
	return b.Def, b
}

func TestSegmentLoad(t *testing.T) {
	// What the builder makes comes back as it was.
	for _, def := range []string{
		`{"and":[{"or":[{"tag":{"has":"et1"}},{"field":"channel","op":"=","value":"ad"}]},` +
			`{"not":{"field":"stage","op":"in","value":["won","lost","new"]}},{"field":"messages_in","op":">=","value":3},` +
			`{"field":"last_event_at","op":"within","value":"30d"}]}`,
		`{"not":{"or":[{"lost":true},{"tag_group":{"has":"价值"}}]}}`,
		`{"and":[{"relation_staff":{"any":["s1","s2"]}},{"field":"add_way","op":"not_in","value":[1,2]},{"field":"next_followup_at","op":"exists","value":false}]}`,
	} {
		got, b := loaded(t, def)
		require.Equal(t, def, got)
		require.Equal(t, "r", b.Root.Path)
	}
	// Every other form the API takes is spelled with the builder's controls,
	// means the same, and is then stable.
	for def, want := range map[string]string{
		`{"lost":false}`:                                                    `{"and":[{"not":{"lost":true}}]}`,
		`{"tags":{"any":["a","b"]}}`:                                        `{"or":[{"tag":{"has":"a"}},{"tag":{"has":"b"}}]}`,
		`{"tags":{"all":["a"]}}`:                                            `{"and":[{"tag":{"has":"a"}}]}`,
		`{"relation_staff":{"all":["s1","s2"]}}`:                            `{"and":[{"relation_staff":{"any":["s1"]}},{"relation_staff":{"any":["s2"]}}]}`,
		`{"not":{"not":{"tag":{"has":"a"}}}}`:                               `{"not":{"and":[{"not":{"tag":{"has":"a"}}}]}}`,
		`{"field":"name","op":"contains","value":"王"}`:                      `{"and":[{"field":"name","op":"contains","value":"王"}]}`,
		`{"field":"last_event_at","op":"<","value":"2026-11-01T00:00:00Z"}`: `{"and":[{"field":"last_event_at","op":"<","value":"2026-11-01T00:00:00Z"}]}`,
	} {
		got, _ := loaded(t, def)
		require.Equal(t, want, got, def)
		_, err := cdp.ParseSegment([]byte(got))
		require.NoError(t, err, "the API takes %s", got)
		again, _ := loaded(t, got)
		require.Equal(t, got, again, "loading is stable")
	}
	for _, bad := range []string{`[]`, `{"nope":1}`, `{"tag":{"any":"x"}}`, `{}`} {
		require.Error(t, (&segBuilder{}).load([]byte(bad)), bad)
	}
}

func TestSegmentLoadKeepsUnknownSubjects(t *testing.T) {
	b := &segBuilder{Groups: []tagGroup{{Name: "价值", Tags: []cdp.Tag{{ID: "t1", Name: "高"}}}},
		Fields: []segChoice{{Value: "lost"}, {Value: "field:stage"}}}
	require.NoError(t, b.load([]byte(`{"and":[{"tag":{"has":"t1"}},{"tag":{"has":"gone"}},{"tag_group":{"has":"价值"}},{"lost":true},{"field":"stage","op":"=","value":"x"}]}`)))
	var unknown []string
	for _, k := range b.Root.Kids {
		if k.Unknown() {
			unknown = append(unknown, k.What)
		}
	}
	require.Equal(t, []string{"tag:gone"}, unknown, "a deleted tag is offered as it is, so saving back keeps it")
}

// savedFake is a marketer's console over a fake API with n saved segments;
// preview answers 503 for the definition {"lost":true} and counts the
// calls in flight.
func savedFake(t *testing.T, n int) (*fakeAPI, func(string, string, url.Values) (int, string), *atomic.Int32) {
	app, f := newFake(t, "marketer", "")
	var inFlight, most atomic.Int32
	segs := make([]cdp.SavedSegment, n)
	for i := range segs {
		segs[i] = cdp.SavedSegment{ID: "seg_" + string(rune('a'+i)), Name: "分群 " + string(rune('A'+i)), Definition: json.RawMessage(`{"tag":{"has":"t1"}}`)}
	}
	segs[1].Definition = json.RawMessage(`{"lost":true}`)
	f.routes["GET /v1/tags"] = ok(tagLibrary{Tags: []cdp.Tag{{ID: "t1", Name: "高价值", Group: "价值"}}, Live: 1, Limit: 3000})
	f.routes["GET /v1/segments"] = ok(map[string]any{"segments": segs})
	f.routes["GET /v1/segments/seg_a"] = ok(cdp.SavedSegment{ID: "seg_a", Name: "高价值客户",
		Definition: json.RawMessage(`{"or":[{"tag":{"has":"t1"}},{"not":{"field":"stage","op":"=","value":"won"}}]}`)})
	f.routes["POST /v1/segments/preview"] = func(_ url.Values, body []byte) (int, any) {
		now := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); now > m && !most.CompareAndSwap(m, now); m = most.Load() {
		}
		time.Sleep(20 * time.Millisecond)
		if strings.Contains(string(body), `"lost":true`) {
			return http.StatusServiceUnavailable, refusalOf("unavailable", "ClickHouse is busy")
		}
		return http.StatusOK, map[string]any{"count": 42}
	}
	f.routes["PUT /v1/segments/seg_a"] = ok(cdp.SavedSegment{ID: "seg_a"})
	f.routes["POST /v1/segments"] = ok(cdp.SavedSegment{ID: "seg_new"})
	return f, func(method, path string, form url.Values) (int, string) { return get(t, app, method, path, form) }, &most
}

func TestSavedSegmentCounts(t *testing.T) {
	f, do, most := savedFake(t, 9)
	status, body := do(http.MethodGet, "/app/segments", nil)
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, 8, strings.Count(body, "42 人"), "each saved segment shows its count")
	require.Contains(t, body, "人数暂时无法计算（ClickHouse is busy）", "a failed count is noted on its row; the page stands")
	require.Len(t, f.called("POST /v1/segments/preview"), 9, "one count per segment")
	require.LessOrEqual(t, most.Load(), int32(countsAtOnce), "counts are bounded")
	require.Greater(t, most.Load(), int32(1), "counts run together")
	require.Contains(t, body, `href="/app/segments?edit=seg_a"`)
}

func TestSavedSegmentEdit(t *testing.T) {
	f, do, _ := savedFake(t, 2)
	status, body := do(http.MethodGet, "/app/segments?edit=seg_a", nil)
	require.Equal(t, http.StatusOK, status, body)
	require.Contains(t, body, `data-test="seg-editing"`)
	require.Contains(t, body, `<input type="hidden" name="id" value="seg_a">`)
	require.Contains(t, body, `<option value="or" selected>`, "the loaded tree: an or")
	require.Contains(t, body, `<option value="tag:t1" selected>高价值</option>`)
	require.Contains(t, body, `id="not-r.1" name="not.r.1" value="1" data-f="not" checked`)
	require.Contains(t, body, `value="高价值客户"`, "the name")
	require.Contains(t, body, `data-test="seg-count">42</output>`, "the list's count is the loaded definition's")
	require.Len(t, f.called("POST /v1/segments/preview"), 2, "not counted twice")

	form := url.Values{"id": {"seg_a"}, "name": {"高价值客户 2"}, "act": {"save"}, "node": {"g:r", "c:r.0"},
		"op.r": {"and"}, "what.r.0": {"tag:t1"}}
	status, _ = do(http.MethodPost, "/app/segments", form)
	require.Equal(t, http.StatusSeeOther, status)
	put := f.called("PUT /v1/segments/seg_a")
	require.Len(t, put, 1)
	require.Contains(t, put[0], `{"definition":{"and":[{"tag":{"has":"t1"}}]},"name":"高价值客户 2"}`)

	form.Set("act", "saveas")
	status, _ = do(http.MethodPost, "/app/segments", form)
	require.Equal(t, http.StatusSeeOther, status)
	require.Len(t, f.called("POST /v1/segments?"), 1, "saved as a new segment")
	require.Len(t, f.called("PUT /v1/segments/seg_a"), 1)

	f.routes["PUT /v1/segments/seg_a"] = func(url.Values, []byte) (int, any) {
		return http.StatusBadRequest, map[string]any{"error": map[string]string{"code": "invalid", "message": "a segment needs a name", "field": "name"}}
	}
	form.Set("act", "save")
	status, body = do(http.MethodPost, "/app/segments", form)
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, body, "a segment needs a name")
	require.Contains(t, body, `<input type="hidden" name="id" value="seg_a">`, "still editing")
}
