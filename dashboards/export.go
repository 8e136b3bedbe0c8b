package dashboards

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
)

// ClickHouse is where the provisioned data source connects to.
type ClickHouse struct {
	Host     string
	Port     int // native protocol
	Database string
	Username string
}

// Validate reports the first problem with c.
func (c ClickHouse) Validate() error {
	switch {
	case c.Host == "":
		return errors.New("clickhouse host is required")
	case c.Port <= 0 || c.Port > 65535:
		return fmt.Errorf("clickhouse port %d out of range", c.Port)
	case c.Database == "":
		return errors.New("clickhouse database is required")
	}
	return nil
}

// Export writes every dashboard's JSON to dir/dashboards and Grafana
// provisioning files to dir/provisioning: the ClickHouse data source (fixed
// uid) and a file provider reading dir/dashboards. It returns the paths
// written. The password is left to Grafana's environment
// ($SIYU_GRAFANA_CLICKHOUSE_PASSWORD), so no secret lands in the files.
func Export(dir string, ch ClickHouse) ([]string, error) {
	if err := ch.Validate(); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("export dashboards: %w", err)
	}
	jsonDir := filepath.Join(abs, "dashboards")
	files := map[string][]byte{
		filepath.Join(abs, "provisioning", "datasources", "siyu.yaml"): datasourceYAML(ch),
		filepath.Join(abs, "provisioning", "dashboards", "siyu.yaml"):  providerYAML(jsonDir),
	}
	for _, d := range All() {
		b, err := d.JSON()
		if err != nil {
			return nil, fmt.Errorf("render dashboard %s: %w", d.UID, err)
		}
		files[filepath.Join(jsonDir, d.UID+".json")] = b
	}
	paths := make([]string, 0, len(files))
	for path := range files {
		paths = append(paths, path)
	}
	sort.Strings(paths)
	for i, path := range paths {
		if err := writeFile(path, files[path]); err != nil {
			return paths[:i], err
		}
	}
	return paths, nil
}

// writeFile writes through a temporary file renamed into place, so Grafana
// never reads half a dashboard.
func writeFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func datasourceYAML(ch ClickHouse) []byte {
	return []byte(`# Written by siyu dashboards export: the ClickHouse data source every Siyu
# dashboard refers to by uid.
apiVersion: 1
datasources:
  - name: Siyu ClickHouse
    uid: ` + Datasource.UID + `
    type: ` + PluginType + `
    editable: false
    jsonData:
      host: ` + strconv.Quote(ch.Host) + `
      port: ` + strconv.Itoa(ch.Port) + `
      protocol: native
      defaultDatabase: ` + strconv.Quote(ch.Database) + `
      username: ` + strconv.Quote(ch.Username) + `
    secureJsonData:
      password: $SIYU_GRAFANA_CLICKHOUSE_PASSWORD
`)
}

func providerYAML(jsonDir string) []byte {
	return []byte(`# Written by siyu dashboards export: loads the Siyu dashboards from files.
apiVersion: 1
providers:
  - name: siyu
    folder: Siyu
    type: file
    disableDeletion: true
    allowUiUpdates: false
    options:
      path: ` + strconv.Quote(jsonDir) + `
`)
}
