package console

import (
	"io"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/cdp"
)

// builderOf reads the builder form form as segmentsForm does, applies act
// and answers the definition.
func builderOf(t *testing.T, form url.Values, act string) (string, *segBuilder) {
	t.Helper()
	var b *segBuilder
	app := fiber.New()
	app.Post("/", func(c *fiber.Ctx) error {
		b = &segBuilder{}
		b.readForm(c)
		if act != "" {
			b.act(act)
		}
		b.encode()
		return c.SendString(b.Def)
	})
	req := httptest.NewRequest("POST", "/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := app.Test(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	return string(body), b
}

func TestSegmentBuilderDefinition(t *testing.T) {
	form := url.Values{
		"node":       {"g:r", "g:r.0", "c:r.0.0", "c:r.0.1", "c:r.1", "c:r.2", "c:r.3"},
		"op.r":       {"and"},
		"op.r.0":     {"or"},
		"what.r.0.0": {"tag:et1"},
		"what.r.0.1": {"field:channel"}, "cmp.r.0.1": {"="}, "val.r.0.1": {" ad "},
		"what.r.1": {"field:stage"}, "cmp.r.1": {"in"}, "val.r.1": {"won, lost，new、"}, "not.r.1": {"1"},
		"what.r.2": {"field:messages_in"}, "cmp.r.2": {">="}, "val.r.2": {"3"},
		"what.r.3": {"field:last_event_at"}, "cmp.r.3": {"within"}, "val.r.3": {"30d"},
	}
	def, b := builderOf(t, form, "")
	require.Equal(t, `{"and":[{"or":[{"tag":{"has":"et1"}},{"field":"channel","op":"=","value":"ad"}]},`+
		`{"not":{"field":"stage","op":"in","value":["won","lost","new"]}},{"field":"messages_in","op":">=","value":3},`+
		`{"field":"last_event_at","op":"within","value":"30d"}]}`, def)
	require.True(t, b.Root.Complete())
	_, err := cdp.ParseSegment([]byte(def))
	require.NoError(t, err, "the API takes what the builder makes")

	def, _ = builderOf(t, form, "remove:r.0.0")
	require.True(t, strings.HasPrefix(def, `{"and":[{"or":[{"field":"channel"`), def)
	def, b = builderOf(t, form, "group:r")
	require.True(t, strings.HasSuffix(def, `{"and":[{}]}]}`), def)
	require.False(t, b.Root.Complete(), "a new group's condition is not chosen yet")
	require.Equal(t, "r.4.0", b.Root.Kids[4].Kids[0].Path)
	_, b = builderOf(t, form, "add:r.0")
	require.Len(t, b.Root.Kids[0].Kids, 3)
	_, b = builderOf(t, form, "remove:r")
	require.Len(t, b.Root.Kids, 4, "the root stays")
}

func TestSegmentBuilderBadForms(t *testing.T) {
	// No nodes: one blank condition under an and.
	def, b := builderOf(t, url.Values{}, "")
	require.Equal(t, `{"and":[{}]}`, def)
	require.False(t, b.Root.Complete())
	// Orphans and duplicates are dropped.
	def, _ = builderOf(t, url.Values{"node": {"g:r", "c:r.0", "c:r.0", "c:x.1", "c:r.0.1"}, "what.r.0": {"lost"}}, "")
	require.Equal(t, `{"and":[{"lost":true}]}`, def)
	// Values that are not numbers stay strings, for the API to refuse by name.
	require.Equal(t, "x", fieldValue("messages_in", "=", "x"))
	require.Equal(t, []any{int64(1), "02"}, fieldValue("add_way", "in", "1,02"))
	require.Equal(t, false, fieldValue("last_event_at", "exists", "false"))
}
