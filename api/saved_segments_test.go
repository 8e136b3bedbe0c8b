package api_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/siyu-dev/siyu/api"
	"github.com/siyu-dev/siyu/cdp"
	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/ingest"
	"github.com/siyu-dev/siyu/internal/testenv"
	"github.com/siyu-dev/siyu/publish"
)

// withSavedSegments rebuilds the fixture's server with saved segments and
// bulk jobs, as `siyu serve` wires them.
func (f *fixture) withSavedSegments(t *testing.T) {
	t.Helper()
	f.deps.SavedSegments = cdp.NewSavedSegments(f.conn)
	f.deps.Jobs = f.newJobs(t)
	f.deps.Registry = prometheus.NewRegistry() // the first server registered its metrics
	f.srv = api.New(f.deps)
}

func (f *fixture) newJobs(t *testing.T) *cdp.Jobs {
	jobs := cdp.NewJobs(f.conn, f.deps.Segments, publish.New(f.deps.Producer, f.topics.Events, 0), api.JobSource, testenv.Logger())
	t.Cleanup(jobs.Close)
	return jobs
}

// saveSegment saves a segment through the API, which must accept it.
func (f *fixture) saveSegment(t *testing.T, key, name, def string) cdp.SavedSegment {
	t.Helper()
	status, body := f.do(t, http.MethodPost, "/v1/segments", key, []byte(`{"name":`+strconv.Quote(name)+`,"definition":`+def+`}`))
	require.Equal(t, http.StatusCreated, status, "%s", body)
	var s cdp.SavedSegment
	require.NoError(t, json.Unmarshal(body, &s))
	return s
}

type memberPageBody struct {
	Customers  []cdp.SegmentMember `json:"customers"`
	NextCursor string              `json:"next_cursor"`
}

// allMembers pages through a saved segment with limit per page and returns
// every member, checking that pages follow each other by contact id.
func (f *fixture) allMembers(t *testing.T, key, id string, limit int) []cdp.SegmentMember {
	t.Helper()
	var out []cdp.SegmentMember
	cursor := ""
	for range 10_000 {
		status, body := f.do(t, http.MethodGet, fmt.Sprintf("/v1/segments/%s/customers?limit=%d&cursor=%s", id, limit, cursor), key, nil)
		require.Equal(t, http.StatusOK, status, "%s", body)
		var p memberPageBody
		require.NoError(t, json.Unmarshal(body, &p))
		require.LessOrEqual(t, len(p.Customers), limit)
		out = append(out, p.Customers...)
		if p.NextCursor == "" {
			return out
		}
		require.Equal(t, p.Customers[len(p.Customers)-1].ContactID, p.NextCursor)
		cursor = p.NextCursor
	}
	t.Fatal("paging does not end")
	return nil
}

func contactIDs(ms []cdp.SegmentMember) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ContactID
	}
	return out
}

func TestSavedSegments(t *testing.T) {
	f := newFixture(t)
	f.withSavedSegments(t)
	seg := f.saveSegment(t, "acme-marketer", "  Live customers ", `{"lost": false}`)
	require.Equal(t, "Live customers", seg.Name)
	require.JSONEq(t, `{"lost":false}`, string(seg.Definition))
	require.True(t, strings.HasPrefix(seg.ID, "seg_"))

	t.Run("listed and shown at once", func(t *testing.T) {
		status, body := f.do(t, http.MethodGet, "/v1/segments", "acme-admin", nil)
		require.Equal(t, http.StatusOK, status, "%s", body)
		var l struct{ Segments []cdp.SavedSegment }
		require.NoError(t, json.Unmarshal(body, &l))
		require.Len(t, l.Segments, 1)
		require.Equal(t, seg.ID, l.Segments[0].ID)
		status, body = f.do(t, http.MethodGet, "/v1/segments/"+seg.ID, "acme-marketer", nil)
		require.Equal(t, http.StatusOK, status, "%s", body)
	})

	t.Run("folded from the event log", func(t *testing.T) {
		// A fresh store has no overlay: it reads segment_state only.
		fresh := cdp.NewSavedSegments(f.conn)
		testenv.Eventually(t, 20*time.Second, func() error {
			got, err := fresh.Get(f.ctx, "acme", seg.ID)
			if err != nil {
				return err
			}
			if got.Name != seg.Name || string(got.Definition) != string(seg.Definition) || !got.UpdatedAt.Equal(*seg.UpdatedAt) {
				return fmt.Errorf("stored %+v, saved %+v", got, seg)
			}
			return nil
		})
	})

	t.Run("members by keyset pages", func(t *testing.T) {
		for _, limit := range []int{1, 2, 100} {
			require.Equal(t, []string{"c1", "c2"}, contactIDs(f.allMembers(t, "acme-marketer", seg.ID, limit)), "limit %d", limit)
		}
		status, body := f.do(t, http.MethodGet, "/v1/segments/"+seg.ID+"/customers?cursor=c1", "acme-admin", nil)
		require.Equal(t, http.StatusOK, status, "%s", body)
		var p memberPageBody
		require.NoError(t, json.Unmarshal(body, &p))
		require.Equal(t, []string{"c2"}, contactIDs(p.Customers))
		require.Empty(t, p.NextCursor)
	})

	refusals := []struct {
		name, key, method, path, body string
		wantStatus                    int
		wantField                     string
	}{
		{name: "no name", key: "acme-marketer", method: http.MethodPost, path: "/v1/segments",
			body: `{"definition":{"lost":false}}`, wantStatus: 400, wantField: "name"},
		{name: "blank name", key: "acme-marketer", method: http.MethodPost, path: "/v1/segments",
			body: `{"name":"  ","definition":{"lost":false}}`, wantStatus: 400, wantField: "name"},
		{name: "no definition", key: "acme-marketer", method: http.MethodPost, path: "/v1/segments",
			body: `{"name":"x"}`, wantStatus: 400, wantField: "definition"},
		{name: "unknown field in the definition", key: "acme-marketer", method: http.MethodPost, path: "/v1/segments",
			body:       `{"name":"x","definition":{"and":[{"lost":true},{"field":"password","op":"=","value":"x"}]}}`,
			wantStatus: 400, wantField: "definition.and[1].field"},
		{name: "unknown body key", key: "acme-marketer", method: http.MethodPost, path: "/v1/segments",
			body: `{"name":"x","definition":{"lost":true},"owner":"me"}`, wantStatus: 400, wantField: "owner"},
		{name: "rep may not save", key: "acme-rep-s1", method: http.MethodPost, path: "/v1/segments",
			body: `{"name":"x","definition":{"lost":false}}`, wantStatus: 403},
		{name: "exec may not list", key: "acme-exec", method: http.MethodGet, path: "/v1/segments", wantStatus: 403},
		{name: "another tenant's segment", key: "globex-admin", method: http.MethodGet, path: "/v1/segments/" + seg.ID, wantStatus: 404},
		{name: "another tenant's members", key: "globex-admin", method: http.MethodGet, path: "/v1/segments/" + seg.ID + "/customers", wantStatus: 404},
		{name: "another tenant's export", key: "globex-admin", method: http.MethodGet, path: "/v1/segments/" + seg.ID + "/export", wantStatus: 404},
		{name: "another tenant's job", key: "globex-admin", method: http.MethodPost, path: "/v1/segments/" + seg.ID + "/tag",
			body: `{"tag_id":"t"}`, wantStatus: 404},
		{name: "limit 0", key: "acme-admin", method: http.MethodGet, path: "/v1/segments/" + seg.ID + "/customers?limit=0",
			wantStatus: 400, wantField: "limit"},
		{name: "limit past the page", key: "acme-admin", method: http.MethodGet, path: "/v1/segments/" + seg.ID + "/customers?limit=1001",
			wantStatus: 400, wantField: "limit"},
		{name: "unknown format", key: "acme-admin", method: http.MethodGet, path: "/v1/segments/" + seg.ID + "/export?format=xlsx",
			wantStatus: 400, wantField: "format"},
		{name: "no such job", key: "acme-admin", method: http.MethodGet, path: "/v1/jobs/job_nope", wantStatus: 404},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			var body []byte
			if tt.body != "" {
				body = []byte(tt.body)
			}
			status, got := f.do(t, tt.method, tt.path, tt.key, body)
			require.Equal(t, tt.wantStatus, status, "%s", got)
			require.Equal(t, tt.wantField, decodeError(t, got).Field)
		})
	}

	t.Run("platform names the tenant", func(t *testing.T) {
		status, body := f.do(t, http.MethodGet, "/v1/segments/"+seg.ID+"?tenant=acme", "platform", nil)
		require.Equal(t, http.StatusOK, status, "%s", body)
	})

	t.Run("replaced", func(t *testing.T) {
		put := `{"name":" s1's customers ","definition":{ "relation_staff": {"any": ["s1"]} }}`
		status, body := f.do(t, http.MethodPut, "/v1/segments/"+seg.ID, "acme-marketer", []byte(put))
		require.Equal(t, http.StatusOK, status, "%s", body)
		var got cdp.SavedSegment
		require.NoError(t, json.Unmarshal(body, &got))
		require.Equal(t, seg.ID, got.ID)
		require.Equal(t, "s1's customers", got.Name)
		require.Equal(t, `{"relation_staff":{"any":["s1"]}}`, string(got.Definition), "kept compact")
		require.Equal(t, seg.CreatedAt.UTC(), got.CreatedAt.UTC(), "created_at stays")
		require.True(t, got.UpdatedAt.After(*seg.UpdatedAt))
		require.NotEqual(t, seg.Version(), got.Version(), "a bulk job over the new definition is a new job")
		require.Equal(t, []string{"c1"}, contactIDs(f.allMembers(t, "acme-marketer", seg.ID, 10)), "members follow at once")

		fresh := cdp.NewSavedSegments(f.conn)
		testenv.Eventually(t, 20*time.Second, func() error {
			stored, err := fresh.Get(f.ctx, "acme", seg.ID)
			if err != nil || stored.Name != got.Name || string(stored.Definition) != string(got.Definition) {
				return fmt.Errorf("stored %+v (%v), want %+v", stored, err, got)
			}
			return nil
		})
		seg = got
	})

	replaceRefusals := []struct {
		name, key, path, body string
		wantStatus            int
		wantField             string
	}{
		{name: "no name", key: "acme-marketer", body: `{"definition":{"lost":false}}`, wantStatus: 400, wantField: "name"},
		{name: "no definition", key: "acme-marketer", body: `{"name":"x"}`, wantStatus: 400, wantField: "definition"},
		{name: "a bad condition", key: "acme-marketer", body: `{"name":"x","definition":{"or":[{"field":"stage","op":"~","value":"x"}]}}`,
			wantStatus: 400, wantField: "definition.or[0].op"},
		{name: "unknown body key", key: "acme-marketer", body: `{"name":"x","definition":{"lost":true},"id":"seg_other"}`,
			wantStatus: 400, wantField: "id"},
		{name: "rep may not change", key: "acme-rep-s1", body: `{"name":"x","definition":{"lost":false}}`, wantStatus: 403},
		{name: "another tenant's", key: "globex-admin", body: `{"name":"x","definition":{"lost":false}}`, wantStatus: 404},
		{name: "no such segment", key: "acme-marketer", path: "/v1/segments/seg_nope", body: `{"name":"x","definition":{"lost":false}}`,
			wantStatus: 404},
	}
	for _, tt := range replaceRefusals {
		t.Run("replace: "+tt.name, func(t *testing.T) {
			path := cmp.Or(tt.path, "/v1/segments/"+seg.ID)
			status, got := f.do(t, http.MethodPut, path, tt.key, []byte(tt.body))
			require.Equal(t, tt.wantStatus, status, "%s", got)
			require.Equal(t, tt.wantField, decodeError(t, got).Field)
		})
	}
	t.Run("a refused replace changes nothing", func(t *testing.T) {
		status, body := f.do(t, http.MethodGet, "/v1/segments/"+seg.ID, "acme-marketer", nil)
		require.Equal(t, http.StatusOK, status, "%s", body)
		var got cdp.SavedSegment
		require.NoError(t, json.Unmarshal(body, &got))
		require.Equal(t, seg.Name, got.Name)
		require.JSONEq(t, string(seg.Definition), string(got.Definition))
	})

	t.Run("deleted", func(t *testing.T) {
		status, body := f.do(t, http.MethodDelete, "/v1/segments/"+seg.ID, "acme-marketer", nil)
		require.Equal(t, http.StatusNoContent, status, "%s", body)
		status, body = f.do(t, http.MethodGet, "/v1/segments/"+seg.ID, "acme-marketer", nil)
		require.Equal(t, http.StatusNotFound, status, "%s", body)
		fresh := cdp.NewSavedSegments(f.conn)
		testenv.Eventually(t, 20*time.Second, func() error {
			list, err := fresh.List(f.ctx, "acme")
			if err != nil || len(list) != 0 {
				return fmt.Errorf("still listed: %v %v", list, err)
			}
			return nil
		})
	})
}

// seedMembers posts n more acme customers (m001...) held by s1, with chats
// and a tag on every third, and waits until the segment sees them all.
func (f *fixture) seedMembers(t *testing.T, n int) {
	t.Helper()
	at := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	var evs []map[string]any
	for i := 1; i <= n; i++ {
		c := fmt.Sprintf("m%03d", i)
		evs = append(evs, contactAdded("seed-"+c, "acme", c, "s1", "Member "+c+`, "quoted"`, at))
		for k := 0; k < i%4; k++ {
			evs = append(evs, map[string]any{"specversion": "1.0", "id": fmt.Sprintf("chat-%s-%d", c, k), "source": "wecom/test",
				"type": "chat.message", "time": at.Add(time.Duration(k+1) * time.Minute).Format(time.RFC3339), "tenant": "acme",
				"subject": c, "data": map[string]any{"staff_id": "s1", "direction": []string{"in", "out"}[k%2]}})
		}
		if i%3 == 0 {
			evs = append(evs, map[string]any{"specversion": "1.0", "id": "tag-" + c, "source": "wecom/test",
				"type": "tag.added", "time": at.Format(time.RFC3339), "tenant": "acme", "subject": c,
				"data": map[string]any{"tag_id": "vip"}})
		}
	}
	f.postOK(t, "acme-admin", evs...)
	seg, err := cdp.ParseSegment([]byte(`{"relation_staff":{"any":["s1"]}}`))
	require.NoError(t, err)
	testenv.Eventually(t, 20*time.Second, func() error {
		got, err := f.deps.Segments.Count(f.ctx, "acme", seg, time.Now())
		if err != nil || got != uint64(n+1) {
			return fmt.Errorf("s1 holds %d customers, want %d (%v)", got, n+1, err)
		}
		return nil
	})
}

func TestSegmentExport(t *testing.T) {
	f := newFixture(t)
	f.withSavedSegments(t)
	f.seedMembers(t, 40)
	seg := f.saveSegment(t, "acme-marketer", "s1's", `{"relation_staff":{"any":["s1"]}}`)
	want := f.allMembers(t, "acme-marketer", seg.ID, 7)
	require.Len(t, want, 41)

	t.Run("csv", func(t *testing.T) {
		status, body := f.do(t, http.MethodGet, "/v1/segments/"+seg.ID+"/export?format=csv", "acme-marketer", nil)
		require.Equal(t, http.StatusOK, status, "%s", body)
		recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
		require.NoError(t, err)
		require.Equal(t, cdp.ExportColumns, recs[0])
		require.Len(t, recs, len(want)+1)
		for i, m := range want {
			require.Equal(t, csvRecord(m), recs[i+1], "row %d", i+1)
		}
	})

	t.Run("parquet", func(t *testing.T) {
		status, body := f.do(t, http.MethodGet, "/v1/segments/"+seg.ID+"/export?format=parquet", "acme-marketer", nil)
		require.Equal(t, http.StatusOK, status, "%s", body)
		require.Equal(t, want, readParquetMembers(t, body))
	})
}

// csvRecord is how the CSV export spells m.
func csvRecord(m cdp.SegmentMember) []string {
	tm := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	return []string{m.ContactID, m.Name, m.CorpName, m.Stage, m.Channel, strconv.FormatUint(m.MessagesIn, 10),
		strconv.FormatUint(m.MessagesOut, 10), tm(m.FirstEventAt), tm(m.LastEventAt), tm(m.LastInboundAt),
		strings.Join(m.Staff, ";"), strings.Join(m.TagIDs, ";")}
}

// readParquetMembers reads a Parquet export back with Arrow.
func readParquetMembers(t *testing.T, body []byte) []cdp.SegmentMember {
	t.Helper()
	pf, err := file.NewParquetReader(bytes.NewReader(body))
	require.NoError(t, err)
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	require.NoError(t, err)
	tbl, err := fr.ReadTable(context.Background())
	require.NoError(t, err)
	defer tbl.Release()
	var names []string
	for _, fl := range tbl.Schema().Fields() {
		names = append(names, fl.Name)
	}
	require.Equal(t, cdp.ExportColumns, names)
	tr := array.NewTableReader(tbl, 1000)
	defer tr.Release()
	var out []cdp.SegmentMember
	for tr.Next() {
		rec := tr.Record()
		for i := 0; i < int(rec.NumRows()); i++ {
			out = append(out, memberAt(rec, i))
		}
	}
	return out
}

func memberAt(rec arrow.Record, i int) cdp.SegmentMember {
	str := func(c int) string { return rec.Column(c).(*array.String).Value(i) }
	u64 := func(c int) uint64 { return rec.Column(c).(*array.Uint64).Value(i) }
	ts := func(c int) *time.Time {
		col := rec.Column(c).(*array.Timestamp)
		if col.IsNull(i) {
			return nil
		}
		v := time.Unix(0, int64(col.Value(i))).UTC()
		return &v
	}
	list := func(c int) []string {
		l := rec.Column(c).(*array.List)
		start, end := l.ValueOffsets(i)
		vals := l.ListValues().(*array.String)
		out := []string{}
		for j := start; j < end; j++ {
			out = append(out, vals.Value(int(j)))
		}
		return out
	}
	return cdp.SegmentMember{ContactID: str(0), Name: str(1), CorpName: str(2), Stage: str(3), Channel: str(4),
		MessagesIn: u64(5), MessagesOut: u64(6), FirstEventAt: ts(7), LastEventAt: ts(8), LastInboundAt: ts(9),
		Staff: list(10), TagIDs: list(11)}
}

type jobBody struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	State     string `json:"state"`
	Processed int64  `json:"processed"`
	Total     int64  `json:"total"`
	Error     string `json:"error"`
	CreatedAt string `json:"created_at"`
}

// waitJob polls GET /v1/jobs/{id} until the job is done.
func (f *fixture) waitJob(t *testing.T, key, id string) jobBody {
	t.Helper()
	var j jobBody
	testenv.Eventually(t, 30*time.Second, func() error {
		status, body := f.do(t, http.MethodGet, "/v1/jobs/"+id, key, nil)
		if status != http.StatusOK {
			return fmt.Errorf("GET job: %d %s", status, body)
		}
		require.NoError(t, json.Unmarshal(body, &j))
		require.NotEqual(t, cdp.JobFailed, j.State, "%s", body)
		if j.State != cdp.JobDone {
			return fmt.Errorf("job is %s: %s", j.State, body)
		}
		return nil
	})
	return j
}

// tagRows counts the stored tag.added rows of tagID in acme, duplicates folded.
func (f *fixture) tagRows(t *testing.T, tagID string) (rows, ids uint64) {
	t.Helper()
	row := f.conn.QueryRow(f.ctx, "SELECT count(), uniqExact(id) FROM events FINAL WHERE tenant = 'acme' AND type = 'tag.added' AND tag_id = ?", tagID)
	require.NoError(t, row.Scan(&rows, &ids))
	return rows, ids
}

func TestSegmentTagJob(t *testing.T) {
	f := newFixture(t)
	f.withSavedSegments(t)
	f.seedMembers(t, 25)
	tag := f.createTag(t, "acme-marketer", "Campaign", "Spring")
	seg := f.saveSegment(t, "acme-marketer", "chatty", `{"field":"messages_in","op":">=","value":1}`)
	want := contactIDs(f.allMembers(t, "acme-marketer", seg.ID, 1000))
	require.NotEmpty(t, want)
	post := func(t *testing.T, key, body string, h http.Header) (int, []byte) {
		t.Helper()
		h = h.Clone()
		if h == nil {
			h = http.Header{}
		}
		h.Set("Authorization", "Bearer "+f.keys[key])
		return f.doHeader(t, http.MethodPost, "/v1/segments/"+seg.ID+"/tag", h, []byte(body))
	}

	status, body := post(t, "acme-marketer", `{"tag_id":"`+tag.ID+`"}`, nil)
	require.Equal(t, http.StatusAccepted, status, "%s", body)
	var job jobBody
	require.NoError(t, json.Unmarshal(body, &job))
	require.Equal(t, cdp.JobSegmentTag, job.Kind)
	done := f.waitJob(t, "acme-marketer", job.ID)
	require.Equal(t, int64(len(want)), done.Processed)
	require.Equal(t, int64(len(want)), done.Total)

	t.Run("every member is tagged", func(t *testing.T) {
		tagged, err := cdp.ParseSegment([]byte(`{"tag":{"has":"` + tag.ID + `"}}`))
		require.NoError(t, err)
		testenv.Eventually(t, 20*time.Second, func() error {
			var got []string
			page, err := f.deps.Segments.Page(f.ctx, "acme", tagged, time.Now(), "", 1000)
			for _, m := range page {
				got = append(got, m.ContactID)
			}
			if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
				return fmt.Errorf("tagged %v, want %v (%v)", got, want, err)
			}
			return nil
		})
	})

	t.Run("a retry finds the same job", func(t *testing.T) {
		status, body := post(t, "acme-admin", `{"tag_id":"`+tag.ID+`"}`, nil)
		require.Equal(t, http.StatusOK, status, "%s", body)
		var again jobBody
		require.NoError(t, json.Unmarshal(body, &again))
		require.Equal(t, job.ID, again.ID)
		require.Equal(t, cdp.JobDone, again.State)
	})

	t.Run("state survives a restart", func(t *testing.T) {
		fresh := f.newJobs(t)
		testenv.Eventually(t, 20*time.Second, func() error {
			got, err := fresh.Get(f.ctx, "acme", job.ID)
			if err != nil || got.State != cdp.JobDone || got.Processed != int64(len(want)) {
				return fmt.Errorf("stored job %+v (%v)", got, err)
			}
			return nil
		})
	})

	t.Run("a job run again writes no duplicates", func(t *testing.T) {
		// The job is recorded failed after the fact: the retry runs it
		// again, as it would after a crash, with the same event ids.
		ev := event.Event{ID: "force-fail", Source: "test", Type: event.JobProgressed, Tenant: "acme",
			Subject: job.ID, Time: time.Now().Add(time.Minute)}
		ev.Data.Set(event.FKind, cdp.JobSegmentTag)
		ev.Data.Set(event.FStage, cdp.JobFailed)
		ev.Data.SetInt(event.FProcessed, 1)
		ev.Data.SetInt(event.FTotal, int64(len(want)))
		ev.Data.Set(event.FTagID, tag.ID)
		ev.Data.Set(event.FFailReason, "crashed")
		res, err := publish.New(f.deps.Producer, f.topics.Events, 0).Publish(f.ctx, ev)
		require.NoError(t, err)
		require.NoError(t, res.Err())
		fresh := f.newJobs(t)
		testenv.Eventually(t, 20*time.Second, func() error {
			got, err := fresh.Get(f.ctx, "acme", job.ID)
			if err != nil || got.State != cdp.JobFailed || got.Error != "crashed" {
				return fmt.Errorf("stored job %+v (%v)", got, err)
			}
			return nil
		})
		status, body := post(t, "acme-marketer", `{"tag_id":"`+tag.ID+`"}`, nil)
		require.Equal(t, http.StatusAccepted, status, "%s", body)
		var resumed jobBody
		require.NoError(t, json.Unmarshal(body, &resumed))
		require.Equal(t, job.CreatedAt, resumed.CreatedAt, "a resumed job keeps its start")
		f.waitJob(t, "acme-marketer", job.ID)
		// Every event of the second run is acknowledged; once the
		// pipeline committed them all, they are stored.
		adm := kadm.NewClient(f.deps.Producer)
		testenv.Eventually(t, 20*time.Second, func() error {
			return testenv.Committed(f.ctx, adm, ingest.DefaultConfig().Group)
		})
		rows, ids := f.tagRows(t, tag.ID)
		require.Equal(t, uint64(len(want)), rows, "tag.added rows of %s", tag.ID)
		require.Equal(t, uint64(len(want)), ids, "tag.added ids of %s", tag.ID)
	})

	t.Run("an idempotency key makes a new job once", func(t *testing.T) {
		h := http.Header{"Idempotency-Key": {"spring-2"}}
		status, body := post(t, "acme-marketer", `{"tag_id":"`+tag.ID+`"}`, h)
		require.Equal(t, http.StatusAccepted, status, "%s", body)
		var keyed jobBody
		require.NoError(t, json.Unmarshal(body, &keyed))
		require.NotEqual(t, job.ID, keyed.ID)
		f.waitJob(t, "acme-marketer", keyed.ID)
		status, body = post(t, "acme-marketer", `{"tag_id":"`+tag.ID+`"}`, h)
		require.Equal(t, http.StatusOK, status, "%s", body)
		var again jobBody
		require.NoError(t, json.Unmarshal(body, &again))
		require.Equal(t, keyed.ID, again.ID)
	})

	refusals := []struct {
		name, key, body string
		wantStatus      int
		wantField       string
	}{
		{name: "no tag", key: "acme-marketer", body: `{}`, wantStatus: 400, wantField: "tag_id"},
		{name: "unknown tag", key: "acme-marketer", body: `{"tag_id":"tag_nope"}`, wantStatus: 422, wantField: "tag_id"},
		{name: "rep", key: "acme-rep-s1", body: `{"tag_id":"` + tag.ID + `"}`, wantStatus: 403},
		{name: "manager", key: "acme-manager", body: `{"tag_id":"` + tag.ID + `"}`, wantStatus: 403},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			status, body := post(t, tt.key, tt.body, nil)
			require.Equal(t, tt.wantStatus, status, "%s", body)
			require.Equal(t, tt.wantField, decodeError(t, body).Field)
		})
	}
}
