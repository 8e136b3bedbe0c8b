package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/valyala/fastjson"

	"github.com/siyu-dev/siyu/api"
	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/internal/testenv"
)

type eventResult struct {
	Index  int    `json:"index"`
	ID     string `json:"id"`
	Status string `json:"status"`
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

type eventsBody struct {
	Accepted int           `json:"accepted"`
	Rejected int           `json:"rejected"`
	Failed   int           `json:"failed"`
	Results  []eventResult `json:"results"`
	Error    *apiError     `json:"error"`
}

func decodeEvents(t *testing.T, body []byte) eventsBody {
	t.Helper()
	var eb eventsBody
	require.NoError(t, json.Unmarshal(body, &eb), "%s", body)
	require.Len(t, eb.Results, eb.Accepted+eb.Rejected+eb.Failed, "%s", body)
	for i, r := range eb.Results {
		require.Equal(t, i, r.Index)
	}
	return eb
}

// readEvents reads the events topic from the start until it has seen the
// event with id last (produce it after the ones you look for).
func (f *fixture) readEvents(t *testing.T, last string) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(f.broker), kgo.ConsumeTopics(f.topics.Events),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(f.ctx, 10*time.Second)
	defer cancel()
	var out []*kgo.Record
	for ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { out = append(out, r) })
		if _, ok := eventIDs(out)[last]; ok {
			return out
		}
	}
	t.Fatalf("event %q not in topic %s within 10s (read %d records)", last, f.topics.Events, len(out))
	return nil
}

// eventIDs maps the id of each record's event to its record. It reads with
// fastjson, which is lenient, so that a record that is not quite JSON is
// still found (and then fails a test that says why).
func eventIDs(records []*kgo.Record) map[string]*kgo.Record {
	ids := map[string]*kgo.Record{}
	for _, r := range records {
		if id := fastjson.GetString(r.Value, "id"); id != "" {
			ids[id] = r
		}
	}
	return ids
}

func chatMessage(id, contact, staff string, at time.Time) map[string]any {
	return map[string]any{
		"specversion": "1.0", "id": id, "source": "wecom/test", "type": "chat.message",
		"time": at.Format(time.RFC3339), "tenant": "acme", "subject": contact,
		"data": map[string]any{"staff_id": staff, "direction": "in", "msg_type": "text"},
	}
}

func TestPostEvents(t *testing.T) {
	f := newFixture(t)
	at := time.Now().Add(-10 * time.Minute)
	valid := func(id string) map[string]any { return chatMessage(id, "c1", "s1", at) }
	noStaff := func(id string) map[string]any {
		ev := chatMessage(id, "c1", "s1", at)
		delete(ev["data"].(map[string]any), "staff_id")
		return ev
	}
	withAttr := func(id, attr string, v any) map[string]any {
		ev := chatMessage(id, "c1", "s1", at)
		ev[attr] = v
		return ev
	}
	tooMany := make([]map[string]any, api.MaxBatchEvents+1)
	for i := range tooMany {
		tooMany[i] = valid(fmt.Sprintf("many-%d", i))
	}

	tests := []struct {
		name        string
		body        []byte
		wantStatus  int
		wantCode    string   // error.code, when an error is expected
		wantField   string   // error.field
		wantResults []string // status per index, when results are expected
		wantFields  []string // field per index
	}{
		{name: "one valid event", body: mustJSON(t, valid("post-single")),
			wantStatus: 200, wantResults: []string{"accepted"}, wantFields: []string{""}},
		{name: "one event without data.staff_id", body: mustJSON(t, noStaff("post-nostaff")),
			wantStatus: 400, wantCode: "invalid_request", wantField: "data.staff_id",
			wantResults: []string{"rejected"}, wantFields: []string{"data.staff_id"}},
		{name: "one event of an unknown type", body: mustJSON(t, withAttr("post-type", "type", "contact.exploded")),
			wantStatus: 400, wantCode: "invalid_request", wantField: "type",
			wantResults: []string{"rejected"}, wantFields: []string{"type"}},
		{name: "one event too far in the future", body: mustJSON(t, withAttr("post-future", "time", time.Now().Add(48*time.Hour).Format(time.RFC3339))),
			wantStatus: 400, wantCode: "invalid_request", wantField: "time",
			wantResults: []string{"rejected"}, wantFields: []string{"time"}},
		{name: "one event that is not an object", body: []byte(`42`),
			wantStatus: 400, wantCode: "invalid_request", wantField: "",
			wantResults: []string{"rejected"}, wantFields: []string{""}},
		{name: "a mixed batch", body: mustJSON(t, []map[string]any{valid("post-mixed-0"), noStaff("post-mixed-1"), valid("post-mixed-2"), withAttr("post-mixed-3", "specversion", "0.3")}),
			wantStatus: 207, wantResults: []string{"accepted", "rejected", "accepted", "rejected"},
			wantFields: []string{"", "data.staff_id", "", "specversion"}},
		{name: "a batch of invalid events only", body: mustJSON(t, []map[string]any{noStaff("post-bad-0"), noStaff("post-bad-1")}),
			wantStatus: 400, wantResults: []string{"rejected", "rejected"}, wantFields: []string{"data.staff_id", "data.staff_id"}},
		{name: "an empty body", body: []byte{},
			wantStatus: 400, wantCode: "invalid_request", wantField: "body"},
		{name: "a blank body", body: []byte(" \n\t "),
			wantStatus: 400, wantCode: "invalid_request", wantField: "body"},
		{name: "a body that is not JSON", body: []byte(`{"specversion": "1.0",`),
			wantStatus: 400, wantCode: "invalid_request", wantField: "body"},
		{name: "a batch of 10,001 events", body: mustJSON(t, tooMany),
			wantStatus: 413, wantCode: "too_large", wantField: "body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := f.do(t, http.MethodPost, "/v1/events", "acme-admin", tt.body)
			require.Equal(t, tt.wantStatus, status, "%.2000s", body)
			if tt.wantCode != "" {
				e := decodeError(t, body)
				require.Equal(t, tt.wantCode, e.Code)
				require.Equal(t, tt.wantField, e.Field)
			}
			if tt.wantResults == nil {
				return
			}
			resp := decodeEvents(t, body)
			got, fields := make([]string, len(resp.Results)), make([]string, len(resp.Results))
			for i, r := range resp.Results {
				got[i], fields[i] = r.Status, r.Field
				if r.Status == "rejected" {
					require.NotEmpty(t, r.Reason)
				}
			}
			require.Equal(t, tt.wantResults, got)
			require.Equal(t, tt.wantFields, fields)
		})
	}

	t.Run("a body over 10 MB", func(t *testing.T) {
		// Fiber refuses it while reading the request, before any handler, and
		// app.Test reports that as its own error: ask a real listener.
		resp := f.postRaw(t, "acme-admin", api.MaxBodyBytes+1)
		require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
		require.Contains(t, resp.Header.Get("Content-Type"), "application/json")
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, "too_large", decodeError(t, body).Code)
	})

	t.Run("accepted events are in Kafka and reach the profile", func(t *testing.T) {
		f.postOK(t, "acme-admin", chatMessage("post-last", "c2", "s2", at))
		records := f.readEvents(t, "post-last")
		ids := eventIDs(records)
		for _, id := range []string{"post-single", "post-mixed-0", "post-mixed-2", "post-last"} {
			r, ok := ids[id]
			require.True(t, ok, "accepted event %s is not in Kafka", id)
			_, err := event.NewDecoder(nil).Decode(r.Value)
			require.NoError(t, err, "the record of %s: %s", id, r.Value)
		}
		require.Equal(t, "acme/c1", string(ids["post-single"].Key))
		for _, id := range []string{"post-nostaff", "post-type", "post-future", "post-mixed-1", "post-mixed-3", "post-bad-0", "many-0"} {
			require.NotContains(t, ids, id, "rejected event %s reached Kafka", id)
		}
		f.waitMessages(t, "c1", 3) // post-single, post-mixed-0 and post-mixed-2
		f.waitMessages(t, "c2", 1)
	})

	t.Run("strings with escapes reach Kafka as valid JSON", func(t *testing.T) {
		names := []string{
			"tab\there",
			"quote \" and vertical tab \v",
			"NUL \x00 and bell \a with \\ backslash",
			"DEL \x7f, \"emoji\" 😀 and 王小明",
		}
		events := make([]map[string]any, len(names))
		for i, name := range names {
			events[i] = contactAdded(fmt.Sprintf("escape-%d", i), "acme", fmt.Sprintf("esc%d", i), "s1", name, at)
		}
		status, body := f.do(t, http.MethodPost, "/v1/events", "acme-admin", mustJSON(t, events))
		require.Equal(t, http.StatusOK, status, "%s", body)
		ids := eventIDs(f.readEvents(t, fmt.Sprintf("escape-%d", len(names)-1)))
		for i, name := range names {
			r, ok := ids[fmt.Sprintf("escape-%d", i)]
			require.True(t, ok)
			require.True(t, json.Valid(r.Value), "not JSON in Kafka: %q", r.Value)
			ev, err := event.NewDecoder(nil).Decode(r.Value)
			require.NoError(t, err)
			require.Equal(t, name, ev.Data.Name)
		}
		f.waitProfile(t, "acme", "esc1", names[1], "s1")
	})

	t.Run("invalid UTF-8 is refused, not dead-lettered later", func(t *testing.T) {
		ev := string(mustJSON(t, contactAdded("utf8-bad", "acme", "c8", "s1", "NAME", at)))
		ev = strings.Replace(ev, `"staff_id"`, "\"note_from_crm\":\"bad \xff byte\",\"staff_id\"", 1)
		status, body := f.do(t, http.MethodPost, "/v1/events", "acme-admin", []byte(ev))
		require.Equal(t, http.StatusBadRequest, status, "%s", body)
		resp := decodeEvents(t, body)
		require.Equal(t, "rejected", resp.Results[0].Status)
		require.Contains(t, resp.Results[0].Reason, "UTF-8")
	})
}

// waitMessages polls until the acme customer has at least n inbound messages.
func (f *fixture) waitMessages(t *testing.T, contact string, n uint64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		pr, err := f.profiles.Get(f.ctx, "acme", contact)
		if err == nil && pr.Chat.MessagesIn >= n {
			return
		}
		require.True(t, time.Now().Before(deadline), "acme/%s has no %d inbound messages within 20s (err %v)", contact, n, err)
		time.Sleep(50 * time.Millisecond)
	}
}

// postRaw serves a second API on a real port and announces a body of size
// bytes to POST /v1/events, returning the answer. It sends only the header:
// the server must answer from the declared length, without reading the body.
func (f *fixture) postRaw(t *testing.T, key string, size int) *http.Response {
	t.Helper()
	deps := f.deps
	deps.Registry, deps.Gatherer = prometheus.NewRegistry(), prometheus.NewRegistry()
	srv := api.New(deps)
	ctx, stop := context.WithCancel(f.ctx)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(testenv.FreePort(t)))
	done := make(chan error, 1)
	go func() { done <- srv.Listen(ctx, addr) }()
	t.Cleanup(func() {
		stop()
		require.NoError(t, <-done)
	})

	var conn net.Conn
	testenv.Eventually(t, 5*time.Second, func() error {
		var err error
		conn, err = net.Dial("tcp", addr)
		return err
	})
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	_, err := fmt.Fprintf(conn, "POST /v1/events HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/cloudevents-batch+json\r\nContent-Length: %d\r\n\r\n", addr, f.keys[key], size)
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}
