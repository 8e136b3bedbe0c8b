package api_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/adoption"
	"github.com/siyu-dev/siyu/api"
	"github.com/siyu-dev/siyu/cdp"
	"github.com/siyu-dev/siyu/followup"
	"github.com/siyu-dev/siyu/kafka"
	"github.com/siyu-dev/siyu/wecom"
)

// withEverything serves the fixture's API with every optional service, so
// that every route answers.
func withEverything(t *testing.T) *fixture {
	f := newFixture(t)
	f.deps.SavedSegments = cdp.NewSavedSegments(f.conn)
	f.deps.Jobs = f.newJobs(t)
	f.deps.Stages = followup.NewStageLists(f.conn)
	f.deps.Adoption = adoption.NewService(f.conn, nil)
	f.deps.Registry = prometheus.NewRegistry()
	f.srv = api.New(f.deps)
	f.withWeCom(t, wecom.DefaultReceiverConfig(f.topics.Events), f.deps.Producer)
	return f
}

// raw sends a request with exactly the headers given (Content-Type
// included, or none) and returns the status and body.
func (f *fixture) raw(t *testing.T, method, path, key, contentType string, body []byte) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	req.Header.Set("Authorization", "Bearer "+f.keys[key])
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := f.srv.App().Test(req, -1)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, out
}

// hygieneCase is one bad request: it must answer wantStatus naming
// wantField, and store nothing.
type hygieneCase struct {
	name        string
	method      string
	path        string
	key         string
	contentType string // "-": none; "": application/json
	body        string
	wantStatus  int
	wantField   string
}

const (
	jsonType = "application/json"
	noType   = "-"
)

// pathIDCases refuses each bad id in the path of every route family that
// takes one.
func pathIDCases(seg string) []hygieneCase {
	routes := []struct{ method, path, key, body string }{
		{"GET", "/v1/customers/%s", "acme-admin", ""},
		{"POST", "/v1/customers/%s/tags", "acme-admin", `{"add":["t1"]}`},
		{"POST", "/v1/customers/%s/followups", "acme-admin", `{"staff_id":"s1","channel":"call"}`},
		{"PUT", "/v1/customers/%s/stage", "acme-admin", `{"staff_id":"s1","stage":"contacted"}`},
		{"GET", "/v1/customers/%s/timeline", "acme-admin", ""},
		{"POST", "/v1/customers/%s/release", "acme-admin", ""},
		{"POST", "/v1/customers/%s/assign", "acme-admin", `{"staff_id":"s1"}`},
		{"POST", "/v1/staff/%s/depart", "acme-admin", ""},
		{"POST", "/v1/staff/%s/depart", "acme-manager", `{"successor":"s2"}`},
		{"PUT", "/v1/staff/%s/manager", "acme-admin", `{"manager_id":"m1"}`},
		{"DELETE", "/v1/staff/%s/manager", "acme-admin", ""},
		{"GET", "/v1/tags/%s", "acme-admin", ""},
		{"PATCH", "/v1/tags/%s", "acme-admin", `{"name":"x"}`},
		{"DELETE", "/v1/tags/%s", "acme-admin", ""},
		{"GET", "/v1/segments/%s", "acme-admin", ""},
		{"DELETE", "/v1/segments/%s", "acme-admin", ""},
		{"GET", "/v1/segments/%s/customers", "acme-admin", ""},
		{"GET", "/v1/segments/%s/export", "acme-admin", ""},
		{"POST", "/v1/segments/%s/tag", "acme-admin", `{"tag_id":"t1"}`},
		{"GET", "/v1/jobs/%s", "acme-admin", ""},
	}
	bad := map[string]string{
		"NUL":             "c%00",
		"LF":              "%0a",
		"byte 0xff":       "%ff",
		"bidi override":   "%e2%80%aec1",
		"U+FFFD":          "c%ef%bf%bd",
		"leading space":   "%20c1",
		"129 characters":  strings.Repeat("x", 129),
		"lone surrogate":  "%ed%a0%80",
		"tab in the id":   "c%091",
		"CR at the end":   "c1%0d",
		"DEL in the id":   "c%7f1",
		"C1 control char": "c%c2%85",
	}
	var out []hygieneCase
	for _, r := range routes {
		for name, id := range bad {
			ct := ""
			if r.body == "" {
				ct = noType
			}
			out = append(out, hygieneCase{name: r.method + " " + r.path + " with " + name, method: r.method,
				path: fmt.Sprintf(r.path, id), key: r.key, contentType: ct, body: r.body, wantStatus: 400, wantField: "id"})
		}
	}
	return out
}

// TestInputHygiene: every class of bad input the fault battery found (bad
// UTF-8, lone surrogate escapes, trailing data, a wrong or missing
// Content-Type, control characters and bytes that are not UTF-8 in ids of
// paths, queries and bodies, dates past any sane year) answers a 4xx that
// names the field, and nothing reaches Kafka or ClickHouse.
func TestInputHygiene(t *testing.T) {
	f := withEverything(t)
	seg := f.saveSegment(t, "acme-admin", "hygiene", `{"lost":false}`)
	valid := `{"name":"ok"}`
	tests := []hygieneCase{
		// Bodies: UTF-8, surrogates, trailing data, unknown fields.
		{name: "bad UTF-8 in a tag name", method: "POST", path: "/v1/tags", key: "acme-admin", body: "{\"name\":\"a\xffb\"}", wantStatus: 400, wantField: "name"},
		{name: "bad UTF-8 in a tag group", method: "POST", path: "/v1/tags", key: "acme-admin", body: "{\"name\":\"a\",\"group\":\"\xc3\"}", wantStatus: 400, wantField: "group"},
		{name: "lone surrogate in a tag name", method: "POST", path: "/v1/tags", key: "acme-admin", body: `{"name":"\ud800"}`, wantStatus: 400, wantField: "name"},
		{name: "lone surrogate in a follow-up note", method: "POST", path: "/v1/customers/c1/followups", key: "acme-rep-s1", body: `{"channel":"call","note":"see you \udc00 soon"}`, wantStatus: 400, wantField: "note"},
		{name: "bad UTF-8 in a follow-up note", method: "POST", path: "/v1/customers/c1/followups", key: "acme-rep-s1", body: "{\"channel\":\"call\",\"note\":\"\xed\xa0\x80\"}", wantStatus: 400, wantField: "note"},
		{name: "lone surrogate in a stage list", method: "PUT", path: "/v1/followups/stages", key: "acme-admin", body: `{"stages":["new","won\ud83d"]}`, wantStatus: 400, wantField: "stages[1]"},
		{name: "lone surrogate in a segment name", method: "POST", path: "/v1/segments", key: "acme-admin", body: `{"name":"x\udfff","definition":{"lost":false}}`, wantStatus: 400, wantField: "name"},
		{name: "bad UTF-8 inside a segment definition", method: "POST", path: "/v1/segments/preview", key: "acme-admin", body: "{\"definition\":{\"and\":[{\"lost\":\"t\xff\"}]}}", wantStatus: 400, wantField: "definition.and[0].lost"},
		{name: "bad UTF-8 in a WeCom corp id", method: "PUT", path: "/v1/wecom/config", key: "acme-admin", body: "{\"corp_id\":\"ww\xfe\",\"token\":\"t\",\"encoding_aes_key\":\"k\"}", wantStatus: 400, wantField: "corp_id"},
		{name: "bad UTF-8 in a field name", method: "POST", path: "/v1/tags", key: "acme-admin", body: "{\"na\xffme\":\"a\"}", wantStatus: 400},
		{name: "trailing garbage", method: "POST", path: "/v1/tags", key: "acme-admin", body: valid + " x", wantStatus: 400, wantField: "body"},
		{name: "two JSON values", method: "POST", path: "/v1/tags", key: "acme-admin", body: valid + valid, wantStatus: 400, wantField: "body"},
		{name: "trailing garbage after pool rules", method: "PUT", path: "/v1/pool/rules", key: "acme-admin", body: `{"max_hold":5}]`, wantStatus: 400, wantField: "body"},
		{name: "trailing garbage after a claim", method: "POST", path: "/v1/pool/claim", key: "acme-rep-s1", body: `{"customer_ids":["c1"]}garbage`, wantStatus: 400, wantField: "body"},
		{name: "trailing garbage after a WeCom config", method: "PUT", path: "/v1/wecom/config", key: "acme-admin", body: `{"corp_id":"ww1","token":"t","encoding_aes_key":"k"} {}`, wantStatus: 400, wantField: "body"},
		{name: "unknown field in a preview", method: "POST", path: "/v1/segments/preview", key: "acme-admin", body: `{"definition":{"lost":false},"limt":5}`, wantStatus: 400, wantField: "limt"},
		{name: "wrong type names the field", method: "PUT", path: "/v1/pool/rules", key: "acme-admin", body: `{"max_hold":"5"}`, wantStatus: 400, wantField: "max_hold"},

		// Content-Type.
		{name: "no Content-Type on a tag", method: "POST", path: "/v1/tags", key: "acme-admin", contentType: noType, body: valid, wantStatus: 415, wantField: "Content-Type"},
		{name: "text/plain on a tag", method: "POST", path: "/v1/tags", key: "acme-admin", contentType: "text/plain", body: valid, wantStatus: 415, wantField: "Content-Type"},
		{name: "a form on a follow-up", method: "POST", path: "/v1/customers/c1/followups", key: "acme-rep-s1", contentType: "application/x-www-form-urlencoded", body: `{"channel":"call"}`, wantStatus: 415, wantField: "Content-Type"},
		{name: "JSON in Latin-1", method: "PUT", path: "/v1/pool/rules", key: "acme-admin", contentType: "application/json; charset=iso-8859-1", body: `{"max_hold":5}`, wantStatus: 415, wantField: "Content-Type"},
		{name: "JSON with another parameter", method: "PUT", path: "/v1/pool/rules", key: "acme-admin", contentType: "application/json; boundary=x", body: `{"max_hold":5}`, wantStatus: 415, wantField: "Content-Type"},
		{name: "a malformed Content-Type", method: "PUT", path: "/v1/pool/rules", key: "acme-admin", contentType: "application/json;;", body: `{"max_hold":5}`, wantStatus: 415, wantField: "Content-Type"},
		{name: "CloudEvents type on a domain route", method: "POST", path: "/v1/pool/claim", key: "acme-rep-s1", contentType: "application/cloudevents+json", body: `{"customer_ids":["c1"]}`, wantStatus: 415, wantField: "Content-Type"},
		{name: "no Content-Type on a preview", method: "POST", path: "/v1/segments/preview", key: "acme-admin", contentType: noType, body: `{"definition":{"lost":false}}`, wantStatus: 415, wantField: "Content-Type"},
		{name: "no Content-Type on the WeCom config", method: "PUT", path: "/v1/wecom/config", key: "acme-admin", contentType: noType, body: `{"corp_id":"ww1","token":"t","encoding_aes_key":"k"}`, wantStatus: 415, wantField: "Content-Type"},
		{name: "no Content-Type on a manager", method: "PUT", path: "/v1/staff/s1/manager", key: "acme-admin", contentType: noType, body: `{"manager_id":"m1"}`, wantStatus: 415, wantField: "Content-Type"},
		{name: "a release reason without Content-Type", method: "POST", path: "/v1/customers/c1/release", key: "acme-rep-s1", contentType: noType, body: `{"reason":"x"}`, wantStatus: 415, wantField: "Content-Type"},
		{name: "text/plain on events", method: "POST", path: "/v1/events", key: "acme-admin", contentType: "text/plain", body: `[]`, wantStatus: 415, wantField: "Content-Type"},
		{name: "no Content-Type on events", method: "POST", path: "/v1/events", key: "acme-admin", contentType: noType, body: `[]`, wantStatus: 415, wantField: "Content-Type"},

		// Ids in bodies and queries.
		{name: "newline in a claimed customer id", method: "POST", path: "/v1/pool/claim", key: "acme-rep-s1", body: `{"customer_ids":["c2","c1\n"]}`, wantStatus: 400, wantField: "customer_ids[1]"},
		{name: "NUL in a transfer's from", method: "POST", path: "/v1/customers/transfer", key: "acme-admin", body: `{"from":"s1\u0000","to":"s2","customer_ids":["c1"]}`, wantStatus: 400, wantField: "from"},
		{name: "U+FFFD in a transfer's to", method: "POST", path: "/v1/customers/transfer", key: "acme-admin", body: `{"from":"s1","to":"s\ufffd","customer_ids":["c1"]}`, wantStatus: 400, wantField: "to"},
		{name: "tab in an assignee", method: "POST", path: "/v1/customers/c1/assign", key: "acme-admin", body: `{"staff_id":"s\t2"}`, wantStatus: 400, wantField: "staff_id"},
		{name: "bidi override in a successor", method: "POST", path: "/v1/staff/s9/depart", key: "acme-admin", body: `{"successor":"s\u202e1"}`, wantStatus: 400, wantField: "successor"},
		{name: "CR in a manager id", method: "PUT", path: "/v1/staff/s1/manager", key: "acme-admin", body: `{"manager_id":"m1\r"}`, wantStatus: 400, wantField: "manager_id"},
		{name: "spaces around a manager id", method: "PUT", path: "/v1/staff/s1/manager", key: "acme-admin", body: `{"manager_id":" m1 "}`, wantStatus: 400, wantField: "manager_id"},
		{name: "NUL in a tag id to add", method: "POST", path: "/v1/customers/c1/tags", key: "acme-admin", body: `{"add":["t\u0000"]}`, wantStatus: 400, wantField: "add[0]"},
		{name: "LF in a tag id to remove", method: "POST", path: "/v1/customers/c1/tags", key: "acme-admin", body: `{"remove":["t1","t\n"]}`, wantStatus: 400, wantField: "remove[1]"},
		{name: "C1 control in a bulk tag id", method: "POST", path: "/v1/segments/" + seg.ID + "/tag", key: "acme-admin", body: `{"tag_id":"t\u0085"}`, wantStatus: 400, wantField: "tag_id"},
		{name: "NUL in a follow-up's staff id", method: "POST", path: "/v1/customers/c1/followups", key: "acme-admin", body: `{"staff_id":"s1\u0000","channel":"call"}`, wantStatus: 400, wantField: "staff_id"},
		{name: "LF in a stage change's staff id", method: "PUT", path: "/v1/customers/c1/stage", key: "acme-admin", body: `{"staff_id":"s1\n","stage":"contacted"}`, wantStatus: 400, wantField: "staff_id"},
		{name: "NUL in a preview's after", method: "POST", path: "/v1/segments/preview", key: "acme-admin", body: `{"definition":{"lost":false},"after":"c\u0000"}`, wantStatus: 400, wantField: "after"},
		{name: "NUL in ?staff_id", method: "GET", path: "/v1/followups/board?staff_id=s%00", key: "acme-admin", contentType: noType, wantStatus: 400, wantField: "staff_id"},
		{name: "0xff in ?manager_id", method: "GET", path: "/v1/followups/team?manager_id=%ff", key: "acme-admin", contentType: noType, wantStatus: 400, wantField: "manager_id"},
		{name: "NUL in ?tenant", method: "GET", path: "/v1/customers/c1?tenant=acme%00", key: "platform", contentType: noType, wantStatus: 400, wantField: "tenant"},
		{name: "LF in ?tenant of a tenant key", method: "GET", path: "/v1/tags?tenant=%0a", key: "acme-admin", contentType: noType, wantStatus: 400, wantField: "tenant"},
		{name: "0xff in a metrics ?tenant", method: "GET", path: "/v1/metrics/active?metric=dau&from=2026-01-01&to=2026-01-02&tenant=%ff", key: "platform", contentType: noType, wantStatus: 400, wantField: "tenant"},
		{name: "0xff in a member cursor", method: "GET", path: "/v1/segments/" + seg.ID + "/customers?cursor=%ff", key: "acme-admin", contentType: noType, wantStatus: 400, wantField: "cursor"},

		// Years.
		{name: "period 9999-12", method: "GET", path: "/v1/billing/usage?period=9999-12", key: "acme-billing", contentType: noType, wantStatus: 400, wantField: "period"},
		{name: "period 0000-01", method: "GET", path: "/v1/billing/usage?period=0000-01", key: "acme-billing", contentType: noType, wantStatus: 400, wantField: "period"},
		{name: "period 1969-12", method: "GET", path: "/v1/billing/usage?period=1969-12", key: "platform", contentType: noType, wantStatus: 400, wantField: "period"},
		{name: "period 2262-05", method: "GET", path: "/v1/billing/usage?period=2262-05&format=csv", key: "platform", contentType: noType, wantStatus: 400, wantField: "period"},
		{name: "metrics from 1969", method: "GET", path: "/v1/metrics/active?metric=dau&from=1969-12-01&to=1969-12-31", key: "acme-admin", contentType: noType, wantStatus: 400, wantField: "from"},
		{name: "retention cohorts in 9999", method: "GET", path: "/v1/metrics/retention?cohort_from=9999-01-01&cohort_to=9999-01-02", key: "acme-admin", contentType: noType, wantStatus: 400, wantField: "cohort_from"},
		{name: "meters to 2101", method: "GET", path: "/v1/meters/contacts_total?from=2100-12-31&to=2101-01-01", key: "acme-billing", contentType: noType, wantStatus: 400, wantField: "to"},
		{name: "digest of year 9999", method: "GET", path: "/v1/followups/digest?date=9999-12-31", key: "acme-admin", contentType: noType, wantStatus: 400, wantField: "date"},
		{name: "funnel from 1999", method: "GET", path: "/v1/followups/funnel?from=1999-12-30&to=2000-01-02", key: "acme-admin", contentType: noType, wantStatus: 400, wantField: "from"},
		{name: "stats to 0001", method: "GET", path: "/v1/followups/stats?from=0001-01-01&to=0001-01-02", key: "acme-admin", contentType: noType, wantStatus: 400, wantField: "to"},
		{name: "next_at in 9999", method: "POST", path: "/v1/customers/c1/followups", key: "acme-rep-s1", body: `{"channel":"call","next_at":"9999-12-31T00:00:00Z"}`, wantStatus: 400, wantField: "next_at"},
		{name: "next_at in 2262", method: "POST", path: "/v1/customers/c1/followups", key: "acme-rep-s1", body: `{"channel":"call","next_at":"2262-05-01T00:00:00+08:00"}`, wantStatus: 400, wantField: "next_at"},
		{name: "next_at in 1969", method: "POST", path: "/v1/customers/c1/followups", key: "acme-rep-s1", body: `{"channel":"call","next_at":"1969-12-31T23:59:59Z"}`, wantStatus: 400, wantField: "next_at"},
	}
	tests = append(tests, pathIDCases(seg.ID)...)

	before := f.markLog(t, "hygiene-before")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct := tt.contentType
			switch {
			case ct == noType:
				ct = ""
			case ct == "":
				ct = jsonType
			}
			var body []byte
			if tt.body != "" {
				body = []byte(tt.body)
			}
			status, out := f.raw(t, tt.method, tt.path, tt.key, ct, body)
			require.Equal(t, tt.wantStatus, status, "%s", out)
			e := decodeError(t, out)
			if tt.wantField != "" {
				require.Equal(t, tt.wantField, e.Field, "%s", out)
			}
			require.NotEmpty(t, e.Field, "%s", out)
		})
	}
	after := f.markLog(t, "hygiene-after")
	require.Equal(t, before+1, after, "a refused request wrote to the events topic")
	for _, q := range []string{"SELECT count() FROM billing_exports", "SELECT count() FROM wecom_config"} {
		var n uint64
		require.NoError(t, f.conn.QueryRow(f.ctx, q).Scan(&n))
		require.Zero(t, n, q)
	}
}

// markLog posts a marker event and returns how many records the events
// topic holds up to it.
func (f *fixture) markLog(t *testing.T, id string) int {
	t.Helper()
	f.postOK(t, "acme-admin", chatMessage(id, "c1", "s1", time.Now().Add(-time.Minute)))
	return len(f.readEvents(t, id))
}

// TestAcceptedMediaTypes: the strict decoder refuses nothing it should take.
func TestAcceptedMediaTypes(t *testing.T) {
	f := newFixture(t)
	at := time.Now().Add(-time.Minute)
	for i, ct := range []string{"application/json", "application/json; charset=utf-8", "Application/JSON; Charset=UTF-8",
		"application/cloudevents+json", "application/cloudevents-batch+json; charset=utf-8"} {
		status, body := f.raw(t, "POST", "/v1/events", "acme-admin", ct, mustJSON(t, chatMessage(fmt.Sprintf("ct-%d", i), "c1", "s1", at)))
		require.Equal(t, http.StatusOK, status, "%s: %s", ct, body)
	}
	for _, ct := range []string{"application/json", "application/json;charset=utf-8"} {
		status, body := f.raw(t, "POST", "/v1/customers/c1/followups", "acme-rep-s1", ct, []byte(" {\"channel\":\"call\",\"note\":\"😀 \\ud83d\\ude00\"}\n"))
		require.Equal(t, http.StatusCreated, status, "%s: %s", ct, body)
	}
	status, body := f.raw(t, "POST", "/v1/customers/c1/release", "acme-rep-s1", "", nil)
	require.NotEqual(t, http.StatusUnsupportedMediaType, status, "a release without a body needs no Content-Type: %s", body)
	status, body = f.raw(t, "GET", "/v1/customers/c1", "acme-admin", "text/plain", []byte("ignored"))
	require.Equal(t, http.StatusOK, status, "a GET ignores its body: %s", body)
	status, body = f.raw(t, "GET", "/v1/customers/+86%20138-0013-8000", "acme-admin", "", nil)
	require.Equal(t, http.StatusNotFound, status, "a + is a plus, inner spaces are fine in an id: %s", body)
	status, body = f.raw(t, "GET", "/v1/customers/c1%2F2", "acme-admin", "", nil)
	require.Equal(t, http.StatusNotFound, status, "an encoded slash is part of the id: %s", body)
}

// TestOversizeEvents: an event Kafka would refuse on every retry is
// rejected at once (413 alone, one rejected result in a batch, naming the
// field to shrink and the limit); the others of its batch are stored.
func TestOversizeEvents(t *testing.T) {
	f := newFixture(t)
	at := time.Now().Add(-time.Minute)
	followupWithNote := func(id string, noteBytes int) map[string]any {
		return map[string]any{
			"specversion": "1.0", "id": id, "source": "crm/test", "type": "followup.logged",
			"time": at.Format(time.RFC3339), "tenant": "acme", "subject": "c1",
			"data": map[string]any{"staff_id": "s1", "channel": "call", "note": strings.Repeat("n", noteBytes)},
		}
	}
	limit := fmt.Sprint(kafka.MaxBatchBytes)

	status, body := f.do(t, http.MethodPost, "/v1/events", "acme-admin", mustJSON(t, followupWithNote("huge-single", 1<<20)))
	require.Equal(t, http.StatusRequestEntityTooLarge, status, "%.500s", body)
	resp := decodeEvents(t, body)
	require.Equal(t, "too_large", resp.Error.Code)
	require.Equal(t, "data.note", resp.Error.Field)
	require.Contains(t, resp.Error.Message, limit)
	require.Equal(t, "rejected", resp.Results[0].Status)

	batch := []map[string]any{chatMessage("huge-ok-0", "c1", "s1", at), followupWithNote("huge-in-batch", 1<<20),
		followupWithNote("big-but-fits", kafka.MaxBatchBytes-2000)}
	status, body = f.do(t, http.MethodPost, "/v1/events", "acme-admin", mustJSON(t, batch))
	require.Equal(t, http.StatusMultiStatus, status, "%.500s", body)
	resp = decodeEvents(t, body)
	require.Equal(t, "accepted", resp.Results[0].Status)
	require.Equal(t, "rejected", resp.Results[1].Status)
	require.Equal(t, "data.note", resp.Results[1].Field)
	require.Contains(t, resp.Results[1].Reason, limit)
	require.Equal(t, "accepted", resp.Results[2].Status, "%s", resp.Results[2].Reason)

	f.postOK(t, "acme-admin", chatMessage("huge-last", "c2", "s2", at))
	ids := eventIDs(f.readEvents(t, "huge-last"))
	require.Contains(t, ids, "huge-ok-0")
	require.Contains(t, ids, "big-but-fits")
	require.NotContains(t, ids, "huge-single")
	require.NotContains(t, ids, "huge-in-batch")
}
