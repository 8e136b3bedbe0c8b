package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDashboardsExport runs `siyu dashboards export` and reads back what it wrote.
func TestDashboardsExport(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"dashboards", "export", "--dir", dir}, &stdout, &stderr), stderr.String())
	files := strings.Fields(stdout.String())
	require.Len(t, files, 5)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		require.NotEmpty(t, b)
		if filepath.Ext(f) == ".json" {
			var d map[string]any
			require.NoError(t, json.Unmarshal(b, &d), f)
			require.NotEmpty(t, d["uid"])
		}
	}
	ds, err := os.ReadFile(filepath.Join(dir, "provisioning", "datasources", "siyu.yaml"))
	require.NoError(t, err)
	require.Contains(t, string(ds), "uid: siyu-clickhouse")

	stderr.Reset()
	require.Equal(t, 2, run([]string{"dashboards", "export"}, &stdout, &stderr))
	require.Contains(t, stderr.String(), "--dir is required")
	require.Equal(t, 2, run([]string{"dashboards", "apply", "--dir", dir}, &stdout, &stderr))
}

// TestDashboardsApplyCLI checks the flags reach Grafana and a rejected token
// is explained; dashboards/apply_test.go covers the API conversation.
func TestDashboardsApplyCLI(t *testing.T) {
	var auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"message":"invalid API key"}`))
	}))
	defer srv.Close()
	var stdout, stderr bytes.Buffer
	code := run([]string{"dashboards", "apply", "--grafana-url", srv.URL, "--token", "expired"}, &stdout, &stderr)
	require.Equal(t, 1, code, stderr.String())
	require.Equal(t, "Bearer expired", auth)
	require.Contains(t, stderr.String(), "the token is invalid or expired")

	stderr.Reset()
	require.Equal(t, 2, run([]string{"dashboards", "apply", "--grafana-url", srv.URL}, &stdout, &stderr))
	require.Contains(t, stderr.String(), "grafana token is required")
}
