package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"github.com/siyu-dev/siyu/internal/reporting"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/api"
	"github.com/siyu-dev/siyu/auth"
	"github.com/siyu-dev/siyu/followup"
	"github.com/siyu-dev/siyu/ingest"
	"github.com/siyu-dev/siyu/internal/testenv"
	"github.com/siyu-dev/siyu/kafka"
	"github.com/siyu-dev/siyu/readmodel"
)

// withFollowupDay is the fixture with stage lists and read-your-writes on.
// A read waits up to 30 s for a write here (2 s in production), so that
// "fresh" holds on a loaded test machine too; the bound itself is tested
// with a short one.
func withFollowupDay(t *testing.T) *fixture {
	f := newFixture(t)
	f.deps.Stages = followup.NewStageLists(f.conn)
	f.deps.Committed = kafka.NewCommitted(f.deps.Producer, ingest.DefaultConfig().Group, f.topics.Events, 20*time.Millisecond)
	f.deps.ReadAfterWait = 30 * time.Second
	f.deps.Registry = prometheus.NewRegistry()
	f.srv = api.New(f.deps)
	return f
}

// call sends a request as key with extra headers and returns the response
// headers too.
func (f *fixture) call(t *testing.T, method, path, key string, h http.Header, body []byte) (int, http.Header, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+f.keys[key])
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := f.srv.App().Test(req, -1)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, out
}

func getJSON[T any](t *testing.T, f *fixture, key, path string) T {
	t.Helper()
	status, body := f.do(t, http.MethodGet, path, key, nil)
	require.Equal(t, http.StatusOK, status, "%s", body)
	var v T
	require.NoError(t, json.Unmarshal(body, &v), "%s", body)
	return v
}

type remindersBody struct {
	Items     []followup.DueEntry `json:"items"`
	Truncated bool                `json:"truncated"`
}

type digestBody struct {
	Date string               `json:"date"`
	Reps []followup.RepDigest `json:"reps"`
}

type statsBody struct {
	Days []followup.RepDay `json:"days"`
}

func TestStages(t *testing.T) {
	f := withFollowupDay(t)
	list := getJSON[followup.StageList](t, f, "acme-rep-s1", "/v1/followups/stages")
	require.True(t, list.Default)
	require.Equal(t, followup.Stages, list.Stages)

	refusals := []struct {
		name, key, body, field string
		status                 int
	}{
		{"rep", "acme-rep-s1", `{"stages": ["a", "b"]}`, "", http.StatusForbidden},
		{"manager", "acme-manager", `{"stages": ["a", "b"]}`, "", http.StatusForbidden},
		{"one stage", "acme-admin", `{"stages": ["a"]}`, "stages", http.StatusBadRequest},
		{"comma", "acme-admin", `{"stages": ["a", "b,c"]}`, "stages[1]", http.StatusBadRequest},
		{"twice", "acme-admin", `{"stages": ["a", "b", "a"]}`, "stages[2]", http.StatusBadRequest},
		{"not a list", "acme-admin", `{"stages": "a,b"}`, "stages", http.StatusBadRequest},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			status, body := f.do(t, http.MethodPut, "/v1/followups/stages", tt.key, []byte(tt.body))
			require.Equal(t, tt.status, status, "%s", body)
			if tt.field != "" {
				require.Equal(t, tt.field, decodeError(t, body).Field)
			}
		})
	}

	stages := []string{"线索", "contacted", "demo", "won", "lost"}
	status, h, body := f.call(t, http.MethodPut, "/v1/followups/stages", "acme-admin", nil, mustJSON(t, map[string]any{"stages": stages}))
	require.Equal(t, http.StatusOK, status, "%s", body)
	require.NotEmpty(t, h.Get(api.WriteTokenHeader))
	list = getJSON[followup.StageList](t, f, "acme-rep-s1", "/v1/followups/stages")
	require.Equal(t, stages, list.Stages, "the writing process sees its write at once")
	require.False(t, list.Default)
	require.True(t, getJSON[followup.StageList](t, f, "globex-admin", "/v1/followups/stages").Default, "tenant wall")

	t.Run("another API process reads it back from the rollup", func(t *testing.T) {
		other := withStages(t, f)
		testenv.Eventually(t, 20*time.Second, func() error {
			got := getJSON[followup.StageList](t, other, "acme-manager", "/v1/followups/stages")
			if got.Default {
				return io.EOF
			}
			require.Equal(t, stages, got.Stages)
			return nil
		})
	})

	t.Run("stage changes must name a listed stage", func(t *testing.T) {
		status, body := f.do(t, http.MethodPut, "/v1/customers/c1/stage", "acme-rep-s1", mustJSON(t, map[string]any{"stage": "qualified"}))
		require.Equal(t, http.StatusBadRequest, status, "%s", body)
		e := decodeError(t, body)
		require.Equal(t, "stage", e.Field)
		require.Contains(t, e.Message, "线索, contacted, demo, won, lost")
		status, body = f.do(t, http.MethodPut, "/v1/customers/c1/stage", "acme-rep-s1", mustJSON(t, map[string]any{"stage": "demo"}))
		require.Equal(t, http.StatusCreated, status, "%s", body)
		status, body = f.do(t, http.MethodPut, "/v1/customers/c1/stage", "globex-admin", mustJSON(t, map[string]any{"stage": "qualified", "staff_id": "g1"}))
		require.Equal(t, http.StatusCreated, status, "globex keeps the default list: %s", body)
	})
}

// withStages is a second API process over the same database and broker.
func withStages(t *testing.T, f *fixture) *fixture {
	g := *f
	g.deps.Stages = followup.NewStageLists(f.conn)
	g.deps.Registry = prometheus.NewRegistry()
	g.srv = api.New(g.deps)
	return &g
}

func TestReadYourWrites(t *testing.T) {
	f := withFollowupDay(t)
	for i := range 5 {
		next := time.Now().Add(time.Duration(i+1) * time.Hour).Truncate(time.Second)
		status, h, body := f.call(t, http.MethodPost, "/v1/customers/c1/followups", "acme-rep-s1", nil,
			mustJSON(t, map[string]any{"channel": "call", "next_at": next.Format(time.RFC3339)}))
		require.Equal(t, http.StatusCreated, status, "%s", body)
		var w struct {
			WriteToken string `json:"write_token"`
		}
		require.NoError(t, json.Unmarshal(body, &w))
		token := h.Get(api.WriteTokenHeader)
		require.Equal(t, token, w.WriteToken)

		after := http.Header{api.ReadAfterHeader: {token}}
		status, h, body = f.call(t, http.MethodGet, "/v1/followups/board?view=all", "acme-rep-s1", after, nil)
		require.Equal(t, http.StatusOK, status, "%s", body)
		require.Equal(t, "fresh", h.Get(api.ConsistencyHeader))
		var page followup.BoardPage
		require.NoError(t, json.Unmarshal(body, &page))
		require.Len(t, page.Items, 1)
		require.NotNil(t, page.Items[0].NextFollowupAt)
		require.True(t, next.Equal(*page.Items[0].NextFollowupAt), "the first read after the write reflects it (write %d)", i)

		status, h, body = f.call(t, http.MethodGet, "/v1/customers/c1/timeline?limit=1", "acme-rep-s1", after, nil)
		require.Equal(t, http.StatusOK, status, "%s", body)
		require.Equal(t, "fresh", h.Get(api.ConsistencyHeader))
		var tl followup.TimelinePage
		require.NoError(t, json.Unmarshal(body, &tl))
		require.Equal(t, "followup.logged", tl.Items[0].Type)
	}

	t.Run("a token past the log waits the bound and says stale", func(t *testing.T) {
		short := *f
		short.deps.ReadAfterWait = 300 * time.Millisecond
		short.deps.Registry = prometheus.NewRegistry()
		short.srv = api.New(short.deps)
		start := time.Now()
		status, h, body := short.call(t, http.MethodGet, "/v1/followups/board", "acme-rep-s1", http.Header{api.ReadAfterHeader: {"0:999999"}}, nil)
		require.Equal(t, http.StatusOK, status, "%s", body)
		require.Equal(t, "stale", h.Get(api.ConsistencyHeader))
		require.GreaterOrEqual(t, time.Since(start), short.deps.ReadAfterWait)
	})

	t.Run("without a commit watch the answer is unknown at once", func(t *testing.T) {
		blind := *f
		blind.deps.Committed = nil
		blind.deps.Registry = prometheus.NewRegistry()
		blind.srv = api.New(blind.deps)
		status, h, body := blind.call(t, http.MethodGet, "/v1/followups/board", "acme-rep-s1", http.Header{api.ReadAfterHeader: {"0:999999"}}, nil)
		require.Equal(t, http.StatusOK, status, "%s", body)
		require.Equal(t, "unknown", h.Get(api.ConsistencyHeader))
	})

	t.Run("a malformed token is 400", func(t *testing.T) {
		for _, tok := range []string{"x", "1:", "-1:3", "1:2,zz"} {
			status, _, body := f.call(t, http.MethodGet, "/v1/followups/board", "acme-rep-s1", http.Header{api.ReadAfterHeader: {tok}}, nil)
			require.Equal(t, http.StatusBadRequest, status, "%s", body)
			require.Equal(t, api.ReadAfterHeader, decodeError(t, body).Field)
		}
	})
}

func TestRemindersAndDigest(t *testing.T) {
	f := withFollowupDay(t)
	now := time.Now()
	log := func(key, contact string, next time.Time) string {
		status, h, body := f.call(t, http.MethodPost, "/v1/customers/"+contact+"/followups", key, nil,
			mustJSON(t, map[string]any{"channel": "wechat", "next_at": next.Format(time.RFC3339)}))
		require.Equal(t, http.StatusCreated, status, "%s", body)
		return h.Get(api.WriteTokenHeader)
	}
	soon := now.Add(30 * time.Minute).Truncate(time.Second)
	late := now.Add(-48 * time.Hour).Truncate(time.Second)
	tok := log("acme-rep-s1", "c1", soon) + "," + log("acme-rep-s2", "c2", late)
	after := http.Header{api.ReadAfterHeader: {tok}}

	reminders := func(key, query string) remindersBody {
		status, h, body := f.call(t, http.MethodGet, "/v1/followups/reminders"+query, key, after, nil)
		require.Equal(t, http.StatusOK, status, "%s", body)
		require.Equal(t, "fresh", h.Get(api.ConsistencyHeader))
		var r remindersBody
		require.NoError(t, json.Unmarshal(body, &r))
		return r
	}
	r := reminders("acme-rep-s1", "?within=1h")
	require.Len(t, r.Items, 1)
	require.Equal(t, "c1", r.Items[0].ContactID)
	require.False(t, r.Items[0].Overdue)
	require.True(t, soon.Equal(r.Items[0].NextFollowupAt))
	require.Equal(t, acmeC1Name, r.Items[0].Name)
	require.Empty(t, reminders("acme-rep-s1", "?within=10m").Items)
	r = reminders("acme-manager", "?staff_id=s2&within=1m")
	require.Len(t, r.Items, 1)
	require.True(t, r.Items[0].Overdue)
	require.Empty(t, reminders("globex-admin", "?staff_id=s1&within=24h").Items, "tenant wall")

	today := now.In(reporting.Zone).Format(time.DateOnly)
	d := getJSON[digestBody](t, f, "acme-admin", "/v1/followups/digest?date="+today)
	require.Equal(t, today, d.Date)
	byRep := map[string]followup.RepDigest{}
	for _, rd := range d.Reps {
		byRep[rd.StaffID] = rd
	}
	require.Equal(t, 1, byRep["s2"].OverdueCount)
	require.Equal(t, "c2", byRep["s2"].Overdue[0].ContactID)
	if soon.In(reporting.Zone).Format(time.DateOnly) == today {
		require.Equal(t, 1, byRep["s1"].DueCount)
	}
	mine := getJSON[digestBody](t, f, "acme-rep-s2", "/v1/followups/digest?date="+today)
	require.Len(t, mine.Reps, 1, "a rep's digest is their own")
	require.Equal(t, "s2", mine.Reps[0].StaffID)
	require.Empty(t, getJSON[digestBody](t, f, "globex-admin", "/v1/followups/digest?date="+today).Reps, "tenant wall")

	refusals := []struct {
		name, key, path, field string
		status                 int
	}{
		{"rep asks for another", "acme-rep-s1", "/v1/followups/reminders?staff_id=s2", "", http.StatusForbidden},
		{"marketer", "acme-marketer", "/v1/followups/digest", "", http.StatusForbidden},
		{"no staff", "acme-manager", "/v1/followups/reminders", "staff_id", http.StatusBadRequest},
		{"bad within", "acme-rep-s1", "/v1/followups/reminders?within=soon", "within", http.StatusBadRequest},
		{"within too long", "acme-rep-s1", "/v1/followups/reminders?within=200h", "within", http.StatusBadRequest},
		{"bad date", "acme-admin", "/v1/followups/digest?date=2026-13-01", "date", http.StatusBadRequest},
		{"rep digest of another", "acme-rep-s1", "/v1/followups/digest?staff_id=s2", "", http.StatusForbidden},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			status, body := f.do(t, http.MethodGet, tt.path, tt.key, nil)
			require.Equal(t, tt.status, status, "%s", body)
			if tt.field != "" {
				require.Equal(t, tt.field, decodeError(t, body).Field)
			}
		})
	}
}

func TestFunnelAndStats(t *testing.T) {
	f := withFollowupDay(t)
	for _, step := range []struct{ key, contact, stage string }{
		{"acme-rep-s1", "c1", "contacted"}, {"acme-rep-s1", "c1", "qualified"}, {"acme-rep-s1", "c1", "won"},
		{"acme-rep-s2", "c2", "contacted"},
	} {
		status, h, body := f.call(t, http.MethodPut, "/v1/customers/"+step.contact+"/stage", step.key, nil, mustJSON(t, map[string]any{"stage": step.stage}))
		require.Equal(t, http.StatusCreated, status, "%s", body)
		require.NotEmpty(t, h.Get(api.WriteTokenHeader))
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		fn := getJSON[followup.Funnel](t, f, "acme-manager", "/v1/followups/funnel")
		if fn.Conversions[1].Entered != 2 || fn.Current[4].Count != 1 {
			return io.EOF
		}
		return nil
	})
	fn := getJSON[followup.Funnel](t, f, "acme-manager", "/v1/followups/funnel")
	require.Equal(t, followup.Stages, fn.Stages)
	require.Equal(t, []followup.StageCount{{Stage: "new"}, {Stage: "contacted", Count: 1}, {Stage: "qualified"},
		{Stage: "proposal"}, {Stage: "won", Count: 1}, {Stage: "lost"}}, fn.Current)
	require.Equal(t, followup.Conversion{Stage: "contacted", Entered: 2, Reached: []followup.StageCount{
		{Stage: "qualified", Count: 1}, {Stage: "proposal"}, {Stage: "won", Count: 1}, {Stage: "lost"}}}, fn.Conversions[1])
	mine := getJSON[followup.Funnel](t, f, "acme-rep-s2", "/v1/followups/funnel")
	require.Equal(t, "s2", mine.StaffID)
	require.Equal(t, 1, mine.Conversions[1].Entered)
	require.Equal(t, 0, mine.Conversions[1].Reached[2].Count)
	require.Zero(t, getJSON[followup.Funnel](t, f, "globex-admin", "/v1/followups/funnel").Conversions[1].Entered, "tenant wall")

	// Yesterday in Shanghai: c1 writes to s1 at 10:00, s1 answers at 10:05
	// and again; c2 writes to s2, who never answers; a third customer
	// deletes s1.
	y := time.Now().In(reporting.Zone).AddDate(0, 0, -1)
	at := func(h, m int) time.Time {
		return time.Date(y.Year(), y.Month(), y.Day(), h, m, 0, 0, reporting.Zone)
	}
	removed := contactAdded("st-rm", "acme", "c3", "s1", "", at(9, 0))
	removed["type"], removed["data"] = "contact.removed", map[string]any{"staff_id": "s1", "by": "customer"}
	f.postOK(t, "acme-admin",
		chatMessageAt("st-1", "c1", "s1", "in", at(10, 0)), chatMessageAt("st-2", "c1", "s1", "out", at(10, 5)),
		chatMessageAt("st-3", "c1", "s1", "out", at(10, 7)), chatMessageAt("st-4", "c2", "s2", "in", at(11, 0)),
		removed)
	day := y.Format(time.DateOnly)
	path := "/v1/followups/stats?from=" + day + "&to=" + day
	testenv.Eventually(t, 20*time.Second, func() error {
		if len(getJSON[statsBody](t, f, "acme-admin", path).Days) < 2 {
			return io.EOF
		}
		return nil
	})
	pct, mins, zero := 100.0, 5.0, 0.0
	s1 := getJSON[statsBody](t, f, "acme-rep-s1", path).Days
	require.Equal(t, []followup.RepDay{{StaffID: "s1", Day: day, ChatCnt: 1, MessageCnt: 2, CustomerChatCnt: 1,
		ReplyPercentage: &pct, AvgReplyTime: &mins, NegativeFeedbackCnt: 1}}, s1)
	s2 := getJSON[statsBody](t, f, "acme-admin", path+"&staff_id=s2").Days
	require.Equal(t, []followup.RepDay{{StaffID: "s2", Day: day, CustomerChatCnt: 1, ReplyPercentage: &zero}}, s2)
	require.Empty(t, getJSON[statsBody](t, f, "globex-admin", path).Days, "tenant wall")

	refusals := []struct {
		name, key, path, field string
		status                 int
	}{
		{"rep asks for another", "acme-rep-s1", "/v1/followups/stats?staff_id=s2", "", http.StatusForbidden},
		{"exec", "acme-exec", "/v1/followups/funnel", "", http.StatusForbidden},
		{"from after to", "acme-admin", "/v1/followups/stats?from=2026-03-02&to=2026-03-01", "from", http.StatusBadRequest},
		{"too long", "acme-admin", "/v1/followups/funnel?from=2025-01-01&to=2026-03-01", "from", http.StatusBadRequest},
		{"bad to", "acme-admin", "/v1/followups/funnel?to=yesterday", "to", http.StatusBadRequest},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			status, body := f.do(t, http.MethodGet, tt.path, tt.key, nil)
			require.Equal(t, tt.status, status, "%s", body)
			if tt.field != "" {
				require.Equal(t, tt.field, decodeError(t, body).Field)
			}
		})
	}
}

func TestTeams(t *testing.T) {
	f := withFollowupDay(t)
	secret, err := f.deps.Keys.Create(f.ctx, auth.NewKeyRequest{Tenant: "acme", Role: auth.RoleManager, StaffID: "m1", Name: "m1"})
	require.NoError(t, err)
	f.keys["acme-manager-m1"] = secret

	refusals := []struct {
		name, method, path, key, body, field string
		status                               int
	}{
		{"rep sets", http.MethodPut, "/v1/staff/s1/manager", "acme-rep-s1", `{"manager_id": "m1"}`, "", http.StatusForbidden},
		{"manager sets", http.MethodPut, "/v1/staff/s1/manager", "acme-manager-m1", `{"manager_id": "m1"}`, "", http.StatusForbidden},
		{"no manager", http.MethodPut, "/v1/staff/s1/manager", "acme-admin", `{}`, "manager_id", http.StatusBadRequest},
		{"own manager", http.MethodPut, "/v1/staff/s1/manager", "acme-admin", `{"manager_id": "s1"}`, "manager_id", http.StatusBadRequest},
		{"unknown field", http.MethodPut, "/v1/staff/s1/manager", "acme-admin", `{"manager": "m1"}`, "manager", http.StatusBadRequest},
		{"admin names no manager", http.MethodGet, "/v1/followups/team", "acme-admin", "", "manager_id", http.StatusBadRequest},
		{"another manager's team", http.MethodGet, "/v1/followups/team?manager_id=m2", "acme-manager-m1", "", "", http.StatusForbidden},
		{"rep reads a team", http.MethodGet, "/v1/followups/team", "acme-rep-s1", "", "", http.StatusForbidden},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			var body []byte
			if tt.body != "" {
				body = []byte(tt.body)
			}
			status, out := f.do(t, tt.method, tt.path, tt.key, body)
			require.Equal(t, tt.status, status, "%s", out)
			if tt.field != "" {
				require.Equal(t, tt.field, decodeError(t, out).Field)
			}
		})
	}

	status, h, body := f.call(t, http.MethodPut, "/v1/staff/s1/manager", "acme-admin", nil, []byte(`{"manager_id": "m1"}`))
	require.Equal(t, http.StatusOK, status, "%s", body)
	after := http.Header{api.ReadAfterHeader: {h.Get(api.WriteTokenHeader)}}
	status, _, body = f.call(t, http.MethodGet, "/v1/followups/team", "acme-manager-m1", after, nil)
	require.Equal(t, http.StatusOK, status, "%s", body)
	require.JSONEq(t, `{"manager_id": "m1", "members": ["s1"]}`, string(body))
	require.Equal(t, []string{}, getJSON[struct{ Members []string }](t, f, "globex-admin", "/v1/followups/team?manager_id=m1").Members, "tenant wall")

	// s1 logs a follow-up due in 30 minutes; s2 one overdue.
	soon := time.Now().Add(30 * time.Minute).Truncate(time.Second)
	for _, w := range []struct{ key, contact string }{{"acme-rep-s1", "c1"}, {"acme-rep-s2", "c2"}} {
		status, h, body := f.call(t, http.MethodPost, "/v1/customers/"+w.contact+"/followups", w.key, nil,
			mustJSON(t, map[string]any{"channel": "call", "next_at": soon.Format(time.RFC3339)}))
		require.Equal(t, http.StatusCreated, status, "%s", body)
		after[api.ReadAfterHeader] = append(after[api.ReadAfterHeader], h.Get(api.WriteTokenHeader))
	}
	after = http.Header{api.ReadAfterHeader: {strings.Join(after[api.ReadAfterHeader], ",")}}
	status, h, body = f.call(t, http.MethodGet, "/v1/followups/digest?date="+soon.In(reporting.Zone).Format(time.DateOnly), "acme-manager-m1", after, nil)
	require.Equal(t, http.StatusOK, status, "%s", body)
	require.Equal(t, "fresh", h.Get(api.ConsistencyHeader))
	var d digestBody
	require.NoError(t, json.Unmarshal(body, &d))
	require.Len(t, d.Reps, 1, "m1's team is s1 (and m1): s2's follow-ups are not theirs")
	require.Equal(t, "s1", d.Reps[0].StaffID)
	require.Len(t, getJSON[digestBody](t, f, "acme-manager", "/v1/followups/digest?date="+soon.In(reporting.Zone).Format(time.DateOnly)).Reps, 2,
		"a manager key without a staff id reads the tenant")

	status, body = f.do(t, http.MethodGet, "/v1/followups/reminders?staff_id=s2", "acme-manager-m1", nil)
	require.Equal(t, http.StatusForbidden, status, "%s", body)
	status, body = f.do(t, http.MethodGet, "/v1/followups/board?staff_id=s2", "acme-manager-m1", nil)
	require.Equal(t, http.StatusForbidden, status, "a manager reads the boards of their team only: %s", body)
	status, body = f.do(t, http.MethodGet, "/v1/followups/board?staff_id=s1", "acme-manager-m1", nil)
	require.Equal(t, http.StatusOK, status, "%s", body)
	require.Len(t, getJSON[remindersBody](t, f, "acme-manager-m1", "/v1/followups/reminders?staff_id=s1").Items, 1)
	stats := getJSON[statsBody](t, f, "acme-manager-m1", "/v1/followups/stats?from=2026-03-01&to=2026-03-02").Days
	require.Len(t, stats, 4, "two days of m1 and s1")
	require.Equal(t, []string{"m1", "s1"}, getJSON[followup.Funnel](t, f, "acme-manager-m1", "/v1/followups/funnel").Team)

	status, h, body = f.call(t, http.MethodDelete, "/v1/staff/s1/manager", "acme-admin", nil, nil)
	require.Equal(t, http.StatusOK, status, "%s", body)
	status, _, body = f.call(t, http.MethodGet, "/v1/followups/team", "acme-manager-m1", http.Header{api.ReadAfterHeader: {h.Get(api.WriteTokenHeader)}}, nil)
	require.Equal(t, http.StatusOK, status, "%s", body)
	require.JSONEq(t, `{"manager_id": "m1", "members": []}`, string(body))
	status, body = f.do(t, http.MethodGet, "/v1/followups/stats?staff_id=s1", "acme-manager-m1", nil)
	require.Equal(t, http.StatusForbidden, status, "%s", body)
}

// TestBoardsFromMemory: with memory boards (followup.Boards, as `siyu
// serve` runs them), a board read after a write reflects it and is served
// from memory; an assignment moves the customer between reps' boards; the
// rep walls hold.
func TestBoardsFromMemory(t *testing.T) {
	f := withFollowupDay(t)
	reg := prometheus.NewRegistry()
	boards := f.startBoards(t, reg)
	f.deps.Boards = boards
	f.deps.Registry = prometheus.NewRegistry()
	f.srv = api.New(f.deps)

	board := func(key, query string, h http.Header) followup.BoardPage {
		t.Helper()
		status, rh, body := f.call(t, http.MethodGet, "/v1/followups/board"+query, key, h, nil)
		require.Equal(t, http.StatusOK, status, "%s", body)
		if h != nil {
			require.Equal(t, "fresh", rh.Get(api.ConsistencyHeader))
		}
		var page followup.BoardPage
		require.NoError(t, json.Unmarshal(body, &page))
		return page
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		board("acme-rep-s1", "", nil) // the first read registers the tenant
		if !boards.Ready("acme") {
			return errors.New("acme's memory board is loading")
		}
		return nil
	})
	require.Equal(t, []string{"c1"}, ids(board("acme-rep-s1", "", nil).Items))

	for i := range 3 {
		next := time.Now().Add(time.Duration(i+1) * time.Hour).Truncate(time.Second)
		status, h, body := f.call(t, http.MethodPost, "/v1/customers/c1/followups", "acme-rep-s1", nil,
			mustJSON(t, map[string]any{"channel": "call", "next_at": next.Format(time.RFC3339)}))
		require.Equal(t, http.StatusCreated, status, "%s", body)
		memory := testenv.Counter(t, reg, "siyu_board_reads_total", "source", "memory")
		page := board("acme-rep-s1", "?view=all", http.Header{api.ReadAfterHeader: {h.Get(api.WriteTokenHeader)}})
		require.Equal(t, memory+1, testenv.Counter(t, reg, "siyu_board_reads_total", "source", "memory"), "served from memory")
		require.Len(t, page.Items, 1)
		require.True(t, next.Equal(*page.Items[0].NextFollowupAt), "the first read after write %d reflects it", i)
		require.Equal(t, acmeC1Name, page.Items[0].Name, "the page's profile summary")
	}

	status, h, body := f.call(t, http.MethodPost, "/v1/customers/c2/assign", "acme-admin", nil, mustJSON(t, map[string]any{"staff_id": "s1"}))
	require.Equal(t, http.StatusOK, status, "%s", body)
	after := http.Header{api.ReadAfterHeader: {h.Get(api.WriteTokenHeader)}}
	require.NotEmpty(t, h.Get(api.WriteTokenHeader), "a pool write answers its token")
	got := ids(board("acme-rep-s1", "?view=all", after).Items)
	require.ElementsMatch(t, []string{"c1", "c2"}, got, "the first read after the assignment")
	require.Empty(t, board("acme-rep-s2", "", after).Items, "c2 left s2's board")
	require.Empty(t, board("globex-admin", "?staff_id=s1", nil).Items, "another tenant's board of a staff id of the same name")
	status, _, body = f.call(t, http.MethodGet, "/v1/followups/board?staff_id=s1", "acme-rep-s2", nil, nil)
	require.Equal(t, http.StatusForbidden, status, "another rep's board: %s", body)
	status, _, body = f.call(t, http.MethodGet, "/v1/customers/c2/timeline", "acme-rep-s1", nil, nil)
	require.Equal(t, http.StatusOK, status, "the assignee reads the timeline: %s", body)
	status, _, body = f.call(t, http.MethodGet, "/v1/customers/c1/timeline", "acme-rep-s2", nil, nil)
	require.Equal(t, http.StatusNotFound, status, "neither friend nor assignee: %s", body)
}

func ids(entries []followup.BoardEntry) []string {
	out := []string{}
	for _, e := range entries {
		out = append(out, e.ContactID)
	}
	return out
}

// startBoards runs memory boards with the read-model tail of the
// fixture's events topic until the test ends, as `siyu serve` does; reg
// counts their reads.
func (f *fixture) startBoards(t *testing.T, reg prometheus.Registerer) *followup.Boards {
	t.Helper()
	return followup.NewBoards(f.conn, f.deps.Followup, f.startTail(t, reg), reg, testenv.Logger())
}

// startTail runs the read-model tail of the fixture's events topic until
// the test ends; the models built on it follow it from then on.
func (f *fixture) startTail(t *testing.T, reg prometheus.Registerer) *readmodel.Tail {
	t.Helper()
	cl, err := kgo.NewClient(kafka.ProducerOpts([]string{f.broker})...)
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	tailClient, start, err := kafka.Tail(f.ctx, cl, f.topics.Events)
	require.NoError(t, err)
	t.Cleanup(tailClient.Close)
	tail := readmodel.NewTail(tailClient, start, f.deps.Committed, reg, testenv.Logger())
	f.run(t, tail.Run)
	return tail
}

// run runs a read model's Run until the test ends, and fails the test if
// it returns an error.
func (f *fixture) run(t *testing.T, run func(context.Context) error) {
	runCtx, stop := context.WithCancel(f.ctx)
	done := make(chan error, 1)
	go func() { done <- run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("read model: %v", err)
		}
	})
}
