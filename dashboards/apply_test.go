package dashboards

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

const testToken = "glsa_test"

// fakeGrafana stands in for the parts of Grafana's HTTP API Apply uses. It
// checks each request as Grafana would, keeps state, and counts writes.
type fakeGrafana struct {
	t           *testing.T
	mu          sync.Mutex
	datasources map[string]map[string]any
	folders     map[string]map[string]any
	dashboards  map[string]map[string]any // uid ⇒ {"dashboard":..., "folderUid":...}
	writes      int
	force       int    // when set, every request answers this status
	failSaveDB  int    // when set, POST /api/dashboards/db answers this status
	healthDB    string // GET /api/health's database ("": ok)
	healthCalls int
}

func newFakeGrafana(t *testing.T) (*fakeGrafana, *httptest.Server) {
	f := &fakeGrafana{t: t, datasources: map[string]map[string]any{},
		folders: map[string]map[string]any{}, dashboards: map[string]map[string]any{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeGrafana) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.URL.Path == "/api/health" {
		f.health(w, r)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+testToken {
		f.t.Errorf("%s %s: Authorization %q", r.Method, r.URL.Path, r.Header.Get("Authorization"))
		answer(w, 401, map[string]any{"message": "Unauthorized"})
		return
	}
	if f.force != 0 {
		answer(w, f.force, map[string]any{"message": http.StatusText(f.force)})
		return
	}
	var body map[string]any
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		f.writes++
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			f.t.Errorf("%s %s: Content-Type %q", r.Method, r.URL.Path, ct)
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			f.t.Errorf("%s %s: body: %v", r.Method, r.URL.Path, err)
		}
	}
	const dsUID, folderUID, dashUID = "/api/datasources/uid/", "/api/folders/", "/api/dashboards/uid/"
	p := r.URL.Path
	switch {
	case r.Method == "GET" && strings.HasPrefix(p, dsUID):
		f.get(w, f.datasources[strings.TrimPrefix(p, dsUID)])
	case r.Method == "POST" && p == "/api/datasources":
		f.requireDatasource(body)
		body["id"], body["version"] = 1, 1
		body["secureJsonFields"] = map[string]bool{"password": true}
		delete(body, "secureJsonData")
		f.datasources[body["uid"].(string)] = body
		answer(w, 200, map[string]any{"id": 1, "message": "Datasource added", "datasource": body})
	case r.Method == "PUT" && strings.HasPrefix(p, dsUID):
		f.requireDatasource(body)
		require.Equal(f.t, strings.TrimPrefix(p, dsUID), body["uid"])
		f.datasources[body["uid"].(string)] = body
		answer(w, 200, map[string]any{"id": 1, "message": "Datasource updated"})
	case r.Method == "GET" && strings.HasPrefix(p, folderUID):
		f.get(w, f.folders[strings.TrimPrefix(p, folderUID)])
	case r.Method == "POST" && p == "/api/folders":
		uid, _ := body["uid"].(string)
		require.NotEmpty(f.t, uid)
		require.NotEmpty(f.t, body["title"])
		if f.folderTaken(uid, body["title"]) {
			answer(w, 409, map[string]any{"message": "a folder with the same name already exists"})
			return
		}
		f.folders[uid] = body
		answer(w, 200, body)
	case r.Method == "GET" && strings.HasPrefix(p, dashUID):
		f.get(w, f.dashboards[strings.TrimPrefix(p, dashUID)])
	case r.Method == "POST" && p == "/api/dashboards/db":
		f.saveDashboard(w, body)
	default:
		f.t.Errorf("unexpected %s %s", r.Method, p)
		answer(w, 404, map[string]any{"message": "Not found"})
	}
}

// health answers GET /api/health as Grafana does: no credentials needed,
// 200 with the version and "database": "ok", 503 when its database is not.
func (f *fakeGrafana) health(w http.ResponseWriter, r *http.Request) {
	f.healthCalls++
	if r.Method != http.MethodGet || r.URL.RawQuery != "" || r.ContentLength > 0 {
		f.t.Errorf("%s %s?%s: want a bare GET", r.Method, r.URL.Path, r.URL.RawQuery)
	}
	db := cmp.Or(f.healthDB, "ok")
	status := http.StatusOK
	if db != "ok" {
		status = http.StatusServiceUnavailable
	}
	answer(w, status, map[string]any{"commit": "abc1234", "database": db, "version": "11.3.0"})
}

// folderTaken reports a duplicate uid or title, which Grafana answers with 409.
func (f *fakeGrafana) folderTaken(uid string, title any) bool {
	for u, folder := range f.folders {
		if u == uid || folder["title"] == title {
			return true
		}
	}
	return false
}

func (f *fakeGrafana) get(w http.ResponseWriter, v map[string]any) {
	if v == nil {
		answer(w, 404, map[string]any{"message": "not found"})
		return
	}
	answer(w, 200, v)
}

func (f *fakeGrafana) requireDatasource(body map[string]any) {
	require.Equal(f.t, Datasource.UID, body["uid"])
	require.Equal(f.t, DatasourceName, body["name"])
	require.Equal(f.t, PluginType, body["type"])
	require.Equal(f.t, "proxy", body["access"])
	jd, ok := body["jsonData"].(map[string]any)
	require.True(f.t, ok, "jsonData: %v", body["jsonData"])
	require.Equal(f.t, "native", jd["protocol"])
	require.Equal(f.t, "siyu_grafana", jd["username"])
	require.Equal(f.t, map[string]any{"password": "secret"}, body["secureJsonData"])
}

func (f *fakeGrafana) saveDashboard(w http.ResponseWriter, body map[string]any) {
	d, ok := body["dashboard"].(map[string]any)
	require.True(f.t, ok, "dashboard: %v", body["dashboard"])
	uid, _ := d["uid"].(string)
	require.NotEmpty(f.t, uid)
	require.NotEmpty(f.t, d["title"])
	require.Equal(f.t, true, body["overwrite"])
	require.Equal(f.t, "siyu", body["folderUid"])
	if f.failSaveDB != 0 {
		answer(w, f.failSaveDB, map[string]any{"message": "The dashboard has been changed by someone else", "status": "version-mismatch"})
		return
	}
	version := 1
	if old := f.dashboards[uid]; old != nil {
		version = int(old["dashboard"].(map[string]any)["version"].(float64)) + 1
	}
	d["id"], d["version"] = float64(7), float64(version)
	f.dashboards[uid] = map[string]any{"dashboard": d, "meta": map[string]any{"folderUid": body["folderUid"]}}
	answer(w, 200, map[string]any{"id": 7, "uid": uid, "url": "/d/" + uid, "status": "success", "version": version})
}

func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func testTarget(url string) (Grafana, ClickHouse) {
	return Grafana{URL: url, Token: testToken, FolderUID: "siyu", FolderTitle: "Siyu", Password: "secret"},
		ClickHouse{Host: "clickhouse", Port: 9000, Database: "siyu", Username: "siyu_grafana"}
}

func actions(changes []Change) map[string]int {
	n := map[string]int{}
	for _, c := range changes {
		n[c.Action]++
	}
	return n
}

func TestApplyCreatesThenChangesNothing(t *testing.T) {
	f, srv := newFakeGrafana(t)
	g, ch := testTarget(srv.URL)
	changes, err := Apply(context.Background(), g, ch)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"created": 2 + len(All())}, actions(changes))
	require.Equal(t, 2+len(All()), f.writes)
	require.Len(t, f.dashboards, len(All()))

	f.writes = 0
	changes, err = Apply(context.Background(), g, ch)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"unchanged": 2 + len(All())}, actions(changes))
	require.Zero(t, f.writes)

	// A dashboard edited in Grafana is put back, and only that one.
	first := All()[0].UID
	f.dashboards[first]["dashboard"].(map[string]any)["title"] = "edited"
	changes, err = Apply(context.Background(), g, ch)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"updated": 1, "unchanged": 1 + len(All())}, actions(changes))
	require.Equal(t, 1, f.writes)

	// A moved ClickHouse updates the data source, with its version.
	f.writes = 0
	ch.Host = "clickhouse-2"
	changes, err = Apply(context.Background(), g, ch)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"updated": 1, "unchanged": 1 + len(All())}, actions(changes))
	require.Equal(t, 1, f.writes)
	require.Equal(t, "clickhouse-2", f.datasources[Datasource.UID]["jsonData"].(map[string]any)["host"])
}

func TestApplyErrors(t *testing.T) {
	for _, tc := range []struct {
		name       string
		force      int
		failSaveDB int
		want       error
		contains   string
	}{
		{name: "401", force: 401, want: ErrUnauthorized, contains: "Administration → Service accounts"},
		{name: "403", force: 403, want: ErrForbidden, contains: "Editor (dashboards) and Admin (data sources)"},
		{name: "412", failSaveDB: 412, contains: "save dashboard " + All()[0].UID + ": Grafana holds a different version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, srv := newFakeGrafana(t)
			f.force, f.failSaveDB = tc.force, tc.failSaveDB
			g, ch := testTarget(srv.URL)
			_, err := Apply(context.Background(), g, ch)
			require.Error(t, err)
			if tc.want != nil {
				require.True(t, errors.Is(err, tc.want), "%v", err)
			}
			require.Contains(t, err.Error(), tc.contains)
		})
	}
}

func TestApplyFolderTitleTaken(t *testing.T) {
	f, srv := newFakeGrafana(t)
	f.folders["other"] = map[string]any{"uid": "other", "title": "Siyu"}
	g, ch := testTarget(srv.URL)
	_, err := Apply(context.Background(), g, ch)
	require.ErrorContains(t, err, `create folder siyu: a folder titled "Siyu" already exists with another uid`)
}
