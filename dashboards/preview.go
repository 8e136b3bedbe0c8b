package dashboards

import (
	"bytes"
	"context"
	"fmt"
	"github.com/siyu-dev/siyu/internal/reporting"
	"html/template"
	"image/png"
	"path/filepath"
	"reflect"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// PreviewConfig says what to preview: the range and the tenant (empty:
// All, as the dashboards open).
type PreviewConfig struct {
	Dir      string
	From, To time.Time
	Tenant   string
}

// Validate reports the first problem with c.
func (c PreviewConfig) Validate() error {
	switch {
	case c.Dir == "":
		return fmt.Errorf("preview: a directory is required")
	case !c.From.Before(c.To):
		return fmt.Errorf("preview: from %s is not before to %s", c.From.Format(time.RFC3339), c.To.Format(time.RFC3339))
	}
	return nil
}

// Rendered is one panel's preview image.
type Rendered struct {
	Dashboard Dashboard
	Panel     Panel
	File      string // base name in the preview directory
	Rows      int
}

// PreviewFile is the image file name of a panel: <dashboard uid>-<panel id>.png.
func PreviewFile(d Dashboard, p Panel) string { return fmt.Sprintf("%s-%d.png", d.UID, p.ID) }

// Preview runs every panel's SQL against conn, expanded as the plugin
// would for cfg's range and tenant, draws each result to a PNG in cfg.Dir
// and writes an index.html listing them. done is called after each panel.
func Preview(ctx context.Context, conn driver.Conn, cfg PreviewConfig, done func(Rendered)) ([]Rendered, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var out []Rendered
	for _, d := range All() {
		req, err := previewRequest(ctx, conn, d, cfg)
		if err != nil {
			return out, err
		}
		for _, p := range d.Panels {
			r, err := previewPanel(ctx, conn, cfg.Dir, d, p, req)
			if err != nil {
				return out, err
			}
			out = append(out, r)
			if done != nil {
				done(r)
			}
		}
	}
	return out, writeIndex(cfg, out)
}

func previewPanel(ctx context.Context, conn driver.Conn, dir string, d Dashboard, p Panel, req Request) (Rendered, error) {
	r := Rendered{Dashboard: d, Panel: p, File: PreviewFile(d, p)}
	q, err := Expand(p.Targets[0].RawSQL, req)
	if err != nil {
		return r, fmt.Errorf("expand %s panel %d: %w", d.UID, p.ID, err)
	}
	res, err := QueryResult(ctx, conn, q)
	if err != nil {
		return r, fmt.Errorf("query %s panel %d (%s): %w", d.UID, p.ID, p.Title, err)
	}
	r.Rows = len(res.Rows)
	var buf bytes.Buffer
	if err := png.Encode(&buf, Render(p, res)); err != nil {
		return r, fmt.Errorf("encode %s: %w", r.File, err)
	}
	return r, writeFile(filepath.Join(dir, r.File), buf.Bytes())
}

// previewRequest sets each variable as the dashboard opens (All, with the
// options its query lists) except tenant when one is chosen.
func previewRequest(ctx context.Context, conn driver.Conn, d Dashboard, cfg PreviewConfig) (Request, error) {
	req := Request{From: cfg.From, To: cfg.To, Interval: 24 * time.Hour, Vars: map[string]Value{}}
	for _, v := range d.Templating.List {
		if v.Name == "tenant" && cfg.Tenant != "" {
			req.Vars[v.Name] = Value{Values: []string{cfg.Tenant}}
			continue
		}
		res, err := QueryResult(ctx, conn, v.Query)
		if err != nil {
			return req, fmt.Errorf("list options of %s variable %s: %w", d.UID, v.Name, err)
		}
		all := Value{All: true}
		for _, row := range res.Rows {
			all.Values = append(all.Values, fmt.Sprint(row[0]))
		}
		req.Vars[v.Name] = all
	}
	return req, nil
}

// QueryResult runs q and reads every column into float64, time.Time or
// string values (nil for NULL).
func QueryResult(ctx context.Context, conn driver.Conn, q string) (Result, error) {
	rows, err := conn.Query(ctx, q)
	if err != nil {
		return Result{}, err
	}
	defer rows.Close()
	var res Result
	cts := rows.ColumnTypes()
	for _, ct := range cts {
		res.Columns = append(res.Columns, ct.Name())
	}
	for rows.Next() {
		ptrs := make([]any, len(cts))
		for i, ct := range cts {
			ptrs[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(ptrs...); err != nil {
			return res, err
		}
		row := make([]any, len(cts))
		for i, p := range ptrs {
			row[i] = plain(reflect.ValueOf(p).Elem())
		}
		res.Rows = append(res.Rows, row)
	}
	return res, rows.Err()
}

// plain turns a scanned value into float64, time.Time, string or nil.
func plain(v reflect.Value) any {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	switch {
	case v.CanInt():
		return float64(v.Int())
	case v.CanUint():
		return float64(v.Uint())
	case v.CanFloat():
		return v.Float()
	case v.Kind() == reflect.String:
		return v.String()
	}
	if t, ok := v.Interface().(time.Time); ok {
		return t
	}
	return fmt.Sprint(v.Interface())
}

var indexTmpl = template.Must(template.New("index").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Siyu dashboards preview</title>
<style>body{font-family:sans-serif;margin:2em;color:#212529}figure{display:inline-block;margin:1em}
figcaption{max-width:900px;color:#555}img{border:1px solid #dee2e6}</style></head>
<body><h1>Siyu dashboards preview</h1>
<p>{{.From}} – {{.To}} · tenant: {{if .Tenant}}{{.Tenant}}{{else}}All{{end}}. Written by <code>siyu dashboards preview</code>.</p>
{{range .Dashboards}}<h2>{{.Title}}</h2><p>{{.Description}}</p>
{{range .Panels}}<figure><img src="{{.File}}" alt="{{.Panel.Title}}" width="900" height="420">
<figcaption><b>{{.Panel.Title}}</b> ({{.Rows}} row(s)): {{.Panel.Description}}</figcaption></figure>
{{end}}{{end}}</body></html>
`))

type indexDashboard struct {
	Title, Description string
	Panels             []Rendered
}

func writeIndex(cfg PreviewConfig, rs []Rendered) error {
	var ds []indexDashboard
	for _, r := range rs {
		if len(ds) == 0 || ds[len(ds)-1].Title != r.Dashboard.Title {
			ds = append(ds, indexDashboard{Title: r.Dashboard.Title, Description: r.Dashboard.Description})
		}
		ds[len(ds)-1].Panels = append(ds[len(ds)-1].Panels, r)
	}
	var buf bytes.Buffer
	err := indexTmpl.Execute(&buf, map[string]any{
		"From": cfg.From.In(reporting.Zone).Format(time.DateTime), "To": cfg.To.In(reporting.Zone).Format(time.DateTime),
		"Tenant": cfg.Tenant, "Dashboards": ds,
	})
	if err != nil {
		return fmt.Errorf("render preview index: %w", err)
	}
	return writeFile(filepath.Join(cfg.Dir, "index.html"), buf.Bytes())
}
