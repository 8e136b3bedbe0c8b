package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/api"
	"github.com/siyu-dev/siyu/dashboards"
)

// grafanaStandIn answers what GET /v1/grafana/status asks a Grafana, as
// Grafana's HTTP API does, checking each request: /api/health without
// credentials needed, the data source and dashboards by uid with the
// bearer token. Every dashboard but missing is there.
func grafanaStandIn(t *testing.T, token, missing string) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.Method != http.MethodGet || r.URL.RawQuery != "" {
			t.Errorf("stand-in Grafana: %s %s?%s", r.Method, r.URL.Path, r.URL.RawQuery)
		}
		if r.URL.Path == "/api/health" {
			_, _ = w.Write([]byte(`{"commit":"abc1234","database":"ok","version":"11.3.0"}`))
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"message":"Unauthorized"}`))
			return
		}
		uid, isDash := strings.CutPrefix(r.URL.Path, "/api/dashboards/uid/")
		switch {
		case isDash && uid != missing:
			_, _ = w.Write([]byte(`{"dashboard":{"uid":"` + uid + `"},"meta":{"folderUid":"siyu"}}`))
		case r.URL.Path == "/api/datasources/uid/"+dashboards.Datasource.UID:
			_, _ = w.Write([]byte(`{"uid":"` + dashboards.Datasource.UID + `","name":"Siyu ClickHouse","type":"grafana-clickhouse-datasource"}`))
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"message":"Dashboard not found"}`))
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), seen...) }
}

type grafanaBody struct {
	Configured bool   `json:"configured"`
	TokenSet   bool   `json:"token_set"`
	Health     string `json:"health"`
	Version    string `json:"version"`
	Datasource struct {
		State string `json:"state"`
	} `json:"datasource"`
	Dashboards []struct {
		UID   string `json:"uid"`
		Title string `json:"title"`
		State string `json:"state"`
	} `json:"dashboards"`
}

func TestGrafanaStatus(t *testing.T) {
	f := newFixture(t)
	status, body := f.do(t, http.MethodGet, "/v1/grafana/status", "acme-admin", nil)
	require.Equal(t, http.StatusOK, status, "%s", body)
	require.JSONEq(t, `{"configured":false,"token_set":false}`, string(body), "no Grafana configured")

	missing := dashboards.All()[2].UID
	grafana, seen := grafanaStandIn(t, "glsa_x", missing)
	f.deps.Grafana = &dashboards.Probe{URL: grafana.URL, Token: "glsa_x"}
	f.deps.Registry = prometheus.NewRegistry()
	f.srv = api.New(f.deps)

	for _, key := range []string{"acme-admin", "platform"} {
		status, body = f.do(t, http.MethodGet, "/v1/grafana/status", key, nil)
		require.Equal(t, http.StatusOK, status, "%s", body)
		var got grafanaBody
		require.NoError(t, json.Unmarshal(body, &got))
		require.True(t, got.Configured && got.TokenSet)
		require.Equal(t, "ok", got.Health)
		require.Equal(t, "11.3.0", got.Version)
		require.Equal(t, "present", got.Datasource.State)
		require.Len(t, got.Dashboards, len(dashboards.All()))
		for _, d := range got.Dashboards {
			want := "present"
			if d.UID == missing {
				want = "missing"
			}
			require.Equal(t, want, d.State, d.UID)
			require.NotEmpty(t, d.Title)
		}
	}
	require.Contains(t, seen(), "GET /api/health")
	require.Contains(t, seen(), "GET /api/dashboards/uid/"+missing)

	for _, key := range []string{"acme-manager", "acme-marketer", "acme-exec", "acme-rep-s1"} {
		status, body = f.do(t, http.MethodGet, "/v1/grafana/status", key, nil)
		require.Equal(t, http.StatusForbidden, status, "%s: %s", key, body)
	}
}
