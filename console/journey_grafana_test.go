package console_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/dashboards"
)

// The journeys' Grafana (the site runs with --grafana-url pointing here and
// $SIYU_GRAFANA_TOKEN set to grafanaToken): it answers what the admin's
// Grafana check asks, as Grafana's HTTP API does, checking each request's
// method, path and credentials; every provisioned dashboard is installed
// but grafanaMissing.
const grafanaToken = "glsa_journey_token"

var (
	grafanaMissing = dashboards.All()[len(dashboards.All())-1].UID
	grafanaSeen    struct {
		sync.Mutex
		calls []string
		wrong []string // requests Grafana would refuse or not know
	}
)

func startGrafanaStandIn() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		grafanaSeen.Lock()
		defer grafanaSeen.Unlock()
		call := r.Method + " " + r.URL.Path
		grafanaSeen.calls = append(grafanaSeen.calls, call)
		w.Header().Set("Content-Type", "application/json")
		refuse := func(status int, why string) {
			grafanaSeen.wrong = append(grafanaSeen.wrong, call+": "+why)
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"message":%q}`, why)
		}
		if r.Method != http.MethodGet || r.URL.RawQuery != "" || r.ContentLength > 0 {
			refuse(http.StatusMethodNotAllowed, "a check only reads: a bare GET")
			return
		}
		if r.URL.Path == "/api/health" { // no credentials needed
			fmt.Fprint(w, `{"commit":"abc1234","database":"ok","version":"11.3.0"}`)
			return
		}
		if got := r.Header.Get("Authorization"); got != "Bearer "+grafanaToken {
			refuse(http.StatusUnauthorized, "Authorization "+got)
			return
		}
		uid, dash := strings.CutPrefix(r.URL.Path, "/api/dashboards/uid/")
		switch {
		case dash && uid == grafanaMissing:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"message":"Dashboard not found"}`)
		case dash:
			fmt.Fprintf(w, `{"dashboard":{"uid":%q},"meta":{"folderUid":"siyu"}}`, uid)
		case r.URL.Path == "/api/datasources/uid/"+dashboards.Datasource.UID:
			fmt.Fprintf(w, `{"uid":%q,"name":%q,"type":%q}`, dashboards.Datasource.UID, dashboards.DatasourceName, dashboards.PluginType)
		default:
			refuse(http.StatusNotFound, "not a path the check should ask")
		}
	}))
}

// TestJourneyAdminGrafana: the admin's Grafana tab checks the configured
// Grafana live: reachable, its version, each provisioned object installed
// or missing, with what to do about the missing one. Other roles cannot
// open it or ask the API.
func TestJourneyAdminGrafana(t *testing.T) {
	ctx := tab(t)
	signIn(t, ctx, "admin")
	require.Equal(t, http.StatusOK, open(t, ctx, "/app/admin/grafana"))
	require.Contains(t, text(t, ctx, "[data-test=grafana-state]"), "已配置 Grafana："+site.grafana)
	require.Equal(t, "ok", attr(t, ctx, "[data-test=grafana-health]", "data-health"))
	require.Contains(t, text(t, ctx, "[data-test=grafana-health]"), "11.3.0")
	require.Zero(t, evaluate[int](t, ctx, `document.querySelectorAll('[data-test=grafana-notoken]').length`), "the token is set")

	states := evaluate[map[string]string](t, ctx, `Object.fromEntries([...document.querySelectorAll('[data-test=grafana-object]')].map(r => [r.dataset.uid, r.dataset.state]))`)
	want := map[string]string{dashboards.Datasource.UID: "present"}
	for _, d := range dashboards.All() {
		want[d.UID] = "present"
	}
	want[grafanaMissing] = "missing"
	require.Equal(t, want, states)
	row := fmt.Sprintf(`[data-test=grafana-object][data-uid=%q]`, grafanaMissing)
	require.Contains(t, text(t, ctx, row), "缺失")
	require.Contains(t, text(t, ctx, row), "apply 命令安装", "what to do")
	present := fmt.Sprintf(`[data-test=grafana-object][data-uid=%q] a`, dashboards.All()[0].UID)
	require.Equal(t, site.grafana+"/d/"+dashboards.All()[0].UID, attr(t, ctx, present, "href"))
	require.Contains(t, text(t, ctx, "pre"), "siyu dashboards apply --grafana-url "+site.grafana)

	grafanaSeen.Lock()
	calls, wrong := append([]string(nil), grafanaSeen.calls...), append([]string(nil), grafanaSeen.wrong...)
	grafanaSeen.Unlock()
	require.Empty(t, wrong, "every request as Grafana's API takes it")
	require.Contains(t, calls, "GET /api/health")
	require.Contains(t, calls, "GET /api/dashboards/uid/"+grafanaMissing)

	// English too.
	require.Equal(t, http.StatusOK, open(t, ctx, "/app/admin/grafana?lang=en"))
	require.Contains(t, text(t, ctx, row), "Run the apply command below")
	open(t, ctx, "/app/admin/grafana?lang=zh")

	for _, role := range []string{"exec", "manager"} {
		other := tab(t)
		signIn(t, other, role)
		require.Equal(t, http.StatusForbidden, open(t, other, "/app/admin/grafana"), role)
		require.Equal(t, http.StatusForbidden, fetchStatus(t, other, "GET", "/v1/grafana/status", ""), role)
	}
}
