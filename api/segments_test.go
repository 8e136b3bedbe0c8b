package api_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

type previewResult struct {
	Count     uint64 `json:"count"`
	Customers []struct {
		ContactID string   `json:"contact_id"`
		Name      string   `json:"name"`
		Staff     []string `json:"staff"`
	} `json:"customers"`
}

func TestSegmentPreview(t *testing.T) {
	f := newFixture(t)
	preview := func(t *testing.T, key, body string) (int, []byte) {
		t.Helper()
		return f.do(t, http.MethodPost, "/v1/segments/preview", key, []byte(body))
	}
	ids := func(t *testing.T, body []byte) (uint64, []string) {
		t.Helper()
		var r previewResult
		require.NoError(t, json.Unmarshal(body, &r), "%s", body)
		out := []string{}
		for _, c := range r.Customers {
			out = append(out, c.ContactID)
		}
		return r.Count, out
	}

	tests := []struct {
		name      string
		key       string
		query     string
		body      string
		wantCount uint64
		wantIDs   []string
	}{
		{name: "admin: everyone with a live relation", key: "acme-admin", body: `{"definition":{"lost":false}}`,
			wantCount: 2, wantIDs: []string{"c1", "c2"}},
		{name: "manager: by relation staff", key: "acme-manager", body: `{"definition":{"relation_staff":{"any":["s2"]}}}`,
			wantCount: 1, wantIDs: []string{"c2"}},
		{name: "marketer: by name, limit 0", key: "acme-marketer",
			body: `{"definition":{"field":"name","op":"=","value":"` + acmeC1Name + `"},"limit":0}`, wantCount: 1, wantIDs: []string{}},
		{name: "rep: only their own customers", key: "acme-rep-s1", body: `{"definition":{"lost":false}}`,
			wantCount: 1, wantIDs: []string{"c1"}},
		{name: "rep: another rep's customer is not there", key: "acme-rep-s1",
			body: `{"definition":{"relation_staff":{"any":["s2"]}}}`, wantCount: 0, wantIDs: []string{}},
		{name: "injection stays a value", key: "acme-admin",
			body:      `{"definition":{"or":[{"field":"name","op":"=","value":"x' OR 1=1 --"},{"tag":{"has":"') OR 1=1 --"}}]}}`,
			wantCount: 0, wantIDs: []string{}},
		{name: "keyset: after c1", key: "acme-admin", body: `{"definition":{"lost":false},"after":"c1"}`,
			wantCount: 2, wantIDs: []string{"c2"}},
		{name: "platform names the tenant", key: "platform", query: "?tenant=globex", body: `{"definition":{"lost":false}}`,
			wantCount: 1, wantIDs: []string{"c1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := f.do(t, http.MethodPost, "/v1/segments/preview"+tt.query, tt.key, []byte(tt.body))
			require.Equal(t, http.StatusOK, status, "%s", body)
			n, got := ids(t, body)
			require.Equal(t, tt.wantCount, n)
			require.Equal(t, tt.wantIDs, got)
		})
	}

	refusals := []struct {
		name, key, body string
		wantStatus      int
		wantField       string
		wantInMsg       string
	}{
		{name: "unknown field", key: "acme-admin",
			body:       `{"definition":{"and":[{"lost":false},{"field":"password","op":"=","value":"x"}]}}`,
			wantStatus: 400, wantField: "definition.and[1].field", wantInMsg: `"password"`},
		{name: "unknown operator", key: "acme-admin", body: `{"definition":{"field":"stage","op":"LIKE","value":"x"}}`,
			wantStatus: 400, wantField: "definition.op", wantInMsg: `"LIKE"`},
		{name: "wrong value type", key: "acme-admin", body: `{"definition":{"field":"messages_in","op":">","value":"3"}}`,
			wantStatus: 400, wantField: "definition.value"},
		{name: "no definition", key: "acme-admin", body: `{"limit":5}`, wantStatus: 400, wantField: "definition"},
		{name: "limit too large", key: "acme-admin", body: `{"definition":{"lost":true},"limit":5000}`,
			wantStatus: 400, wantField: "limit"},
		{name: "not JSON", key: "acme-admin", body: `{`, wantStatus: 400, wantField: "body"},
		{name: "exec may not", key: "acme-exec", body: `{"definition":{"lost":true}}`, wantStatus: 403},
		{name: "billing may not", key: "acme-billing", body: `{"definition":{"lost":true}}`, wantStatus: 403},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			status, body := preview(t, tt.key, tt.body)
			require.Equal(t, tt.wantStatus, status, "%s", body)
			e := decodeError(t, body)
			require.Equal(t, tt.wantField, e.Field)
			require.Contains(t, e.Message, tt.wantInMsg)
		})
	}
}
