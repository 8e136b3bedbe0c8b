package dashboards_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/dashboards"
)

func TestExport(t *testing.T) {
	dir := t.TempDir()
	ch := dashboards.ClickHouse{Host: "localhost", Port: 9000, Database: "siyu", Username: "default"}
	written, err := dashboards.Export(dir, ch)
	require.NoError(t, err)
	require.Len(t, written, len(dashboards.All())+2)
	for _, d := range dashboards.All() {
		b, err := os.ReadFile(filepath.Join(dir, "dashboards", d.UID+".json"))
		require.NoError(t, err)
		var got map[string]any
		require.NoError(t, json.Unmarshal(b, &got))
		require.Equal(t, d.UID, got["uid"])
	}
	ds, err := os.ReadFile(filepath.Join(dir, "provisioning", "datasources", "siyu.yaml"))
	require.NoError(t, err)
	require.Contains(t, string(ds), "uid: siyu-clickhouse\n")
	require.Contains(t, string(ds), "type: grafana-clickhouse-datasource\n")
	pv, err := os.ReadFile(filepath.Join(dir, "provisioning", "dashboards", "siyu.yaml"))
	require.NoError(t, err)
	require.Contains(t, string(pv), filepath.Join(dir, "dashboards"))

	_, err = dashboards.Export(dir, dashboards.ClickHouse{Port: 9000, Database: "siyu"})
	require.ErrorContains(t, err, "host")
}
