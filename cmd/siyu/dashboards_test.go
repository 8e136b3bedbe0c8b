package main

import (
	"bytes"
	"encoding/json"
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
	require.Len(t, files, 4)
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
