// Package dashboards defines Siyu's Grafana dashboards in Go and renders
// them to Grafana dashboard JSON plus provisioning files (issue 6).
//
// Panels query the ClickHouse rollups of sql/migrations/0005_activity.sql
// through the official ClickHouse data source plugin (v4), in raw SQL with
// the plugin's macros. Expand reproduces the plugin's macro expansion, so
// tests run every panel's SQL on ClickHouse 18.16 and on current ClickHouse
// (chDB) and compare it with metrics.Service. Window counts (WAU, MAU) are
// exact distinct counts: each active day is spread over the target days it
// covers with arrayJoin, which runs on 18.16 (no window functions there).
package dashboards

import "encoding/json"

// SchemaVersion is the Grafana dashboard schema version the JSON is written in.
const SchemaVersion = 39

// Datasource names the ClickHouse data source of the provisioning file;
// every panel and variable refers to it by this fixed uid.
var Datasource = DatasourceRef{Type: PluginType, UID: "siyu-clickhouse"}

// PluginType is the plugin id of the official ClickHouse data source.
const PluginType = "grafana-clickhouse-datasource"

// PluginVersion is the data source plugin version the targets are written for.
const PluginVersion = "4.10.1"

// Dashboard is one Grafana dashboard.
type Dashboard struct {
	UID         string     `json:"uid"`
	Title       string     `json:"title"`
	Description string     `json:"description"`
	Tags        []string   `json:"tags"`
	Timezone    string     `json:"timezone"`
	Editable    bool       `json:"editable"`
	Time        TimeRange  `json:"time"`
	Templating  Templating `json:"templating"`
	Annotations struct {
		List []any `json:"list"`
	} `json:"annotations"`
	Panels        []Panel `json:"panels"`
	SchemaVersion int     `json:"schemaVersion"`
	Version       int     `json:"version"`
}

// TimeRange is the dashboard's default range, in Grafana's relative form.
type TimeRange struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Templating holds the dashboard variables.
type Templating struct {
	List []Variable `json:"list"`
}

// Variable is a query variable fed by ClickHouse.
type Variable struct {
	Type       string        `json:"type"`
	Name       string        `json:"name"`
	Label      string        `json:"label"`
	Datasource DatasourceRef `json:"datasource"`
	Query      string        `json:"query"`
	Definition string        `json:"definition"`
	Refresh    int           `json:"refresh"`
	Sort       int           `json:"sort"`
	Multi      bool          `json:"multi"`
	IncludeAll bool          `json:"includeAll"`
	Current    Option        `json:"current"`
}

// Option is a variable's selected value.
type Option struct {
	Text  string `json:"text"`
	Value string `json:"value"`
}

// DatasourceRef points at a data source by plugin type and uid.
type DatasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// Panel is one visualization with one ClickHouse target.
type Panel struct {
	ID          int           `json:"id"`
	Type        string        `json:"type"`
	Title       string        `json:"title"`
	Description string        `json:"description"`
	Datasource  DatasourceRef `json:"datasource"`
	GridPos     GridPos       `json:"gridPos"`
	FieldConfig FieldConfig   `json:"fieldConfig"`
	Options     *PanelOptions `json:"options,omitempty"`
	Targets     []Target      `json:"targets"`
}

// PanelOptions are a stat panel's options: how its series is reduced to
// one number.
type PanelOptions struct {
	ReduceOptions struct {
		Calcs  []string `json:"calcs"`
		Fields string   `json:"fields"`
		Values bool     `json:"values"`
	} `json:"reduceOptions"`
	ColorMode string `json:"colorMode"`
	GraphMode string `json:"graphMode"`
}

// GridPos places a panel on the 24-column grid.
type GridPos struct {
	H int `json:"h"`
	W int `json:"w"`
	X int `json:"x"`
	Y int `json:"y"`
}

// FieldConfig carries the panel's unit.
type FieldConfig struct {
	Defaults struct {
		Unit   string  `json:"unit"`
		Custom *Custom `json:"custom,omitempty"`
	} `json:"defaults"`
	Overrides []any `json:"overrides"`
}

// Custom holds the time-series panel's drawing options.
type Custom struct {
	DrawStyle string `json:"drawStyle"` // "line" or "bars"
}

// QueryType is the plugin's query type; Format must match it.
type QueryType string

// The query types used here.
const (
	TimeSeries QueryType = "timeseries"
	Table      QueryType = "table"
)

// format is the plugin's result format of a query type.
func (q QueryType) format() int {
	if q == Table {
		return 1
	}
	return 0
}

// Target is a raw-SQL query of the ClickHouse plugin.
type Target struct {
	RefID         string        `json:"refId"`
	Datasource    DatasourceRef `json:"datasource"`
	EditorType    string        `json:"editorType"`
	PluginVersion string        `json:"pluginVersion"`
	QueryType     QueryType     `json:"queryType"`
	Format        int           `json:"format"`
	RawSQL        string        `json:"rawSql"`
}

// JSON renders d as indented Grafana dashboard JSON.
func (d Dashboard) JSON() ([]byte, error) {
	if d.Annotations.List == nil {
		d.Annotations.List = []any{}
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
