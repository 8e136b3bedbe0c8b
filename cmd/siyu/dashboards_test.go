package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/dashboards"
	"github.com/siyu-dev/siyu/internal/testenv"
	"github.com/siyu-dev/siyu/store"
)

// TestDashboardsExport runs `siyu dashboards export` and reads back what it wrote.
func TestDashboardsExport(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"dashboards", "export", "--dir", dir}, &stdout, &stderr), stderr.String())
	files := strings.Fields(stdout.String())
	require.Len(t, files, len(dashboards.All())+2) // plus the two provisioning files
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

	// The token siyu serve's Grafana check reads serves apply too.
	t.Setenv("SIYU_GRAFANA_TOKEN", "from-env")
	require.Equal(t, 1, run([]string{"dashboards", "apply", "--grafana-url", srv.URL}, &stdout, &stderr))
	require.Equal(t, "Bearer from-env", auth)
}

// TestDashboardsPreviewAndGrantCLI runs `siyu dashboards preview` and
// `siyu dashboards grant` against a test database: one PNG per panel with a
// line each on stdout and a summary on stderr; the grant prints the
// Distributed tables it made (18.16). dashboards/ tests what they contain.
func TestDashboardsPreviewAndGrantCLI(t *testing.T) {
	conn, dsn := testenv.Database(t)
	db := dsn[strings.LastIndex(dsn, "/")+1:]
	t.Cleanup(func() { _ = store.DropDatabase(context.Background(), conn, db+"_grafana") })
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run([]string{"dashboards", "preview", "--clickhouse-dsn", dsn, "--dir", dir,
		"--from", "2026-09-01", "--to", "2026-09-30", "--tenant", "t0001"}, &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	panels := 0
	for _, d := range dashboards.All() {
		panels += len(d.Panels)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	require.Len(t, lines, panels)
	require.Contains(t, lines[0], filepath.Join(dir, "siyu-adoption-1.png"))
	require.Contains(t, stderr.String(), fmt.Sprintf("previewed %d panel(s)", panels))
	pngs, err := filepath.Glob(filepath.Join(dir, "*.png"))
	require.NoError(t, err)
	require.Len(t, pngs, panels)
	require.FileExists(t, filepath.Join(dir, "index.html"))

	require.Equal(t, 2, run([]string{"dashboards", "preview", "--clickhouse-dsn", dsn, "--dir", dir, "--from", "2026-10-01", "--to", "2026-09-01"}, &stdout, &stderr))

	stdout.Reset()
	stderr.Reset()
	require.Equal(t, 0, run([]string{"dashboards", "grant", "--clickhouse-dsn", dsn}, &stdout, &stderr), stderr.String())
	require.Contains(t, stdout.String(), "ENGINE = Distributed(siyu_grafana, "+db+", relation_events);")
	require.Contains(t, stderr.String(), db+"_grafana")
}
