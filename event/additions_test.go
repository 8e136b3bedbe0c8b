package event_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/event"
)

// TestAdditionsFieldNumbers pins the numbers of the fields added for WeCom:
// they are bits of the stored `present` column and must never move.
func TestAdditionsFieldNumbers(t *testing.T) {
	want := []struct {
		f    event.Field
		num  int
		name string
	}{
		{event.FPaid, 30, "paid"},
		{event.FWelcomeCode, 31, "welcome_code"},
		{event.FRemovedSource, 32, "removed_source"},
		{event.FFailReason, 33, "fail_reason"},
		{event.FTagKind, 34, "tag_kind"},
		{event.FChange, 35, "change"},
		{event.FStrategyID, 36, "strategy_id"},
		{event.FTagGroupID, 37, "tag_group_id"},
		{event.FUpdateDetail, 38, "update_detail"},
		{event.FJoinScene, 39, "join_scene"},
		{event.FQuitScene, 40, "quit_scene"},
		{event.FMemChangeCnt, 41, "mem_change_cnt"},
		{event.FKind, 42, "kind"},
		{event.FXML, 43, "xml"},
	}
	for _, w := range want {
		t.Run(w.name, func(t *testing.T) {
			require.Equal(t, w.num, int(w.f))
			require.Equal(t, w.name, w.f.Name())
		})
	}
}

func TestAdditionsDecode(t *testing.T) {
	now := func() time.Time { return time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC) }
	dec := event.NewDecoder(now)
	envelope := func(typ, subject, data string) string {
		return `{"specversion":"1.0","id":"e1","source":"wecom/ww1","type":"` + typ +
			`","time":"2026-11-21T10:00:00+08:00","tenant":"acme","subject":"` + subject + `","data":` + data + `}`
	}
	tests := []struct {
		name      string
		json      string
		wantField string // "" = valid
		check     func(t *testing.T, e *event.Event)
	}{
		{name: "contact.added with a welcome code", json: envelope("contact.added", "wm1", `{"staff_id":"s1","welcome_code":"WC"}`),
			check: func(t *testing.T, e *event.Event) { require.Equal(t, "WC", e.Data.WelcomeCode) }},
		{name: "contact.removed by transfer", json: envelope("contact.removed", "wm1", `{"staff_id":"s1","by":"staff","removed_source":"DELETE_BY_TRANSFER"}`),
			check: func(t *testing.T, e *event.Event) { require.Equal(t, "DELETE_BY_TRANSFER", e.Data.RemovedSource) }},
		{name: "contact.transfer_failed", json: envelope("contact.transfer_failed", "wm1", `{"staff_id":"s3","fail_reason":"customer_refused"}`),
			check: func(t *testing.T, e *event.Event) { require.Equal(t, "customer_refused", e.Data.FailReason) }},
		{name: "contact.transfer_failed needs the rep", json: envelope("contact.transfer_failed", "wm1", `{}`), wantField: "data.staff_id"},
		{name: "tag.changed", json: envelope("tag.changed", "et1", `{"tag_kind":"tag","change":"create","strategy_id":2}`),
			check: func(t *testing.T, e *event.Event) {
				require.Equal(t, "tag", e.Data.TagKind)
				require.Equal(t, "create", e.Data.Change)
				require.EqualValues(t, 2, e.Data.StrategyID)
			}},
		{name: "tag.changed: unknown change", json: envelope("tag.changed", "et1", `{"tag_kind":"tag","change":"shuffle"}`), wantField: "data.change"},
		{name: "tag.changed: unknown kind", json: envelope("tag.changed", "et1", `{"tag_kind":"label","change":"create"}`), wantField: "data.tag_kind"},
		{name: "tag.changed needs the change", json: envelope("tag.changed", "et1", `{"tag_kind":"tag"}`), wantField: "data.change"},
		{name: "tag.reordered", json: envelope("tag.reordered", "acme", `{"tag_group_id":"eg1"}`)},
		{name: "tag.reordered is about the tenant", json: envelope("tag.reordered", "eg1", `{}`), wantField: "subject"},
		{name: "group.created", json: envelope("group.created", "wrc1", `{}`)},
		{name: "group.updated", json: envelope("group.updated", "wrc1", `{"update_detail":"add_member","join_scene":1,"mem_change_cnt":3,"mem_change_list":["a"]}`),
			check: func(t *testing.T, e *event.Event) {
				require.Equal(t, "add_member", e.Data.UpdateDetail)
				require.EqualValues(t, 1, e.Data.JoinScene)
				require.EqualValues(t, 3, e.Data.MemChangeCnt)
				require.Contains(t, string(e.Data.Raw), `"mem_change_list":["a"]`, "untyped fields are kept raw")
			}},
		{name: "group.updated needs the detail", json: envelope("group.updated", "wrc1", `{"join_scene":1}`), wantField: "data.update_detail"},
		{name: "group.updated: negative count", json: envelope("group.updated", "wrc1", `{"update_detail":"x","mem_change_cnt":-1}`), wantField: "data.mem_change_cnt"},
		{name: "group.dismissed", json: envelope("group.dismissed", "wrc1", `{"staff_id":"s1"}`)},
		{name: "wecom.unmapped", json: envelope("wecom.unmapped", "acme", `{"kind":"enter_agent","xml":"<xml/>","note":"Siyu does not map this kind"}`),
			check: func(t *testing.T, e *event.Event) { require.Equal(t, "<xml/>", e.Data.XML) }},
		{name: "wecom.unmapped needs the xml", json: envelope("wecom.unmapped", "acme", `{"kind":"x"}`), wantField: "data.xml"},
		{name: "wecom.unmapped: empty kind", json: envelope("wecom.unmapped", "acme", `{"kind":"","xml":""}`), wantField: "data.kind"},
		{name: "new fields do not leak into old types", json: envelope("chat.message", "wm1", `{"staff_id":"s1","direction":"in","welcome_code":5}`),
			check: func(t *testing.T, e *event.Event) { require.False(t, e.Data.Present.Has(event.FWelcomeCode)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := dec.Decode([]byte(tt.json))
			if tt.wantField != "" {
				ve, ok := event.AsValidation(err)
				require.True(t, ok, "want a validation error, got %v", err)
				require.Equal(t, tt.wantField, ve.Field)
				return
			}
			require.NoError(t, err)
			require.True(t, event.Known(e.Type))
			if tt.check != nil {
				tt.check(t, e)
			}
			// Encoding the typed fields and decoding again gives them back.
			again, err := event.NewDecoder(now).Decode(event.AppendJSON(nil, e))
			require.NoError(t, err)
			require.Equal(t, e.Data.Present, again.Data.Present)
		})
	}

	for _, typ := range event.Additions() {
		require.True(t, event.Known(typ), "%s", typ)
		require.NotContains(t, event.Types(), typ, "Types() is the v1 catalogue")
	}
}
