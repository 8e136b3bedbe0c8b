package dashboards_test

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/dashboards"
)

// schemaPath is Grafana's dashboard schema (draft-07), see its README.
const schemaPath = "/work/shared/grafana/dashboard.jsonschema.json"

// TestDashboardsValidate checks every dashboard against Grafana's schema.
// No JSON-schema library is in the module graph, so validate below covers
// the draft-07 keywords that schema uses on the fields emitted here.
func TestDashboardsValidate(t *testing.T) {
	raw, err := os.ReadFile(schemaPath)
	if os.IsNotExist(err) {
		t.Skipf("%s not present", schemaPath)
	}
	require.NoError(t, err)
	var root map[string]any
	require.NoError(t, json.Unmarshal(raw, &root))
	for _, d := range dashboards.All() {
		t.Run(d.UID, func(t *testing.T) {
			b, err := d.JSON()
			require.NoError(t, err)
			var doc any
			require.NoError(t, json.Unmarshal(b, &doc))
			v := validator{root: root}
			v.validate(root, doc, "$")
			require.Empty(t, v.errs)
		})
	}
	t.Run("catches errors", func(t *testing.T) {
		v := validator{root: root}
		v.validate(root, map[string]any{"schemaVersion": "39", "panels": []any{map[string]any{"bogus": 1}}}, "$")
		require.GreaterOrEqual(t, len(v.errs), 3, "%v", v.errs)
	})
}

// TestPanelsComplete checks what every panel must carry (issue 6).
func TestPanelsComplete(t *testing.T) {
	uids := map[string]bool{}
	for _, d := range dashboards.All() {
		require.False(t, uids[d.UID], "uid %s twice", d.UID)
		uids[d.UID] = true
		require.True(t, d.Editable)
		names := map[string]bool{}
		for _, v := range d.Templating.List {
			names[v.Name] = true
			require.Equal(t, "query", v.Type)
			require.True(t, v.IncludeAll)
			require.Contains(t, v.Query, "SELECT DISTINCT "+v.Name)
		}
		require.True(t, names["tenant"], d.UID)
		for _, p := range d.Panels {
			require.NotEmpty(t, p.Title)
			require.NotEmpty(t, p.Description, p.Title)
			require.NotEmpty(t, p.FieldConfig.Defaults.Unit, p.Title)
			require.Equal(t, dashboards.Datasource, p.Datasource)
			require.Equal(t, dashboards.DatasourceRef{Type: "grafana-clickhouse-datasource", UID: "siyu-clickhouse"}, p.Datasource)
			require.Len(t, p.Targets, 1, p.Title)
			tg := p.Targets[0]
			require.Equal(t, "sql", tg.EditorType)
			require.Regexp(t, `^4\.\d+\.\d+$`, tg.PluginVersion)
			require.Equal(t, map[dashboards.QueryType]int{dashboards.TimeSeries: 0, dashboards.Table: 1}[tg.QueryType], tg.Format)
			require.Contains(t, []dashboards.QueryType{dashboards.TimeSeries, dashboards.Table}, tg.QueryType)
			require.Contains(t, tg.RawSQL, "$__conditionalAll(tenant IN (${tenant:singlequote}), $tenant)")
			require.Regexp(t, `\$__(from|to)Time`, tg.RawSQL, "a panel follows the dashboard's range")
		}
	}
	require.True(t, uids["siyu-adoption"] && uids["siyu-engagement"])
}

type validator struct {
	root map[string]any
	errs []string
}

func (v *validator) fail(path, format string, args ...any) {
	v.errs = append(v.errs, path+": "+fmt.Sprintf(format, args...))
}

// valid reports whether doc matches s, without recording errors.
func (v *validator) valid(s map[string]any, doc any) bool {
	w := validator{root: v.root}
	w.validate(s, doc, "")
	return len(w.errs) == 0
}

func (v *validator) validate(s map[string]any, doc any, path string) {
	if ref, ok := s["$ref"].(string); ok {
		def := v.root["definitions"].(map[string]any)[strings.TrimPrefix(ref, "#/definitions/")]
		v.validate(def.(map[string]any), doc, path)
		return
	}
	if typ, ok := s["type"].(string); ok && !hasType(typ, doc) {
		v.fail(path, "want %s, got %T", typ, doc)
		return
	}
	if enum, ok := s["enum"].([]any); ok && !contains(enum, doc) {
		v.fail(path, "%v not in %v", doc, enum)
	}
	for _, sub := range list(s["allOf"]) {
		v.validate(sub, doc, path)
	}
	if subs := list(s["anyOf"]); len(subs) > 0 && count(v, subs, doc) == 0 {
		v.fail(path, "matches none of anyOf")
	}
	if subs := list(s["oneOf"]); len(subs) > 0 && count(v, subs, doc) != 1 {
		v.fail(path, "matches %d of oneOf", count(v, subs, doc))
	}
	if str, ok := doc.(string); ok {
		if n, ok := s["minLength"].(float64); ok && float64(len(str)) < n {
			v.fail(path, "shorter than %v", n)
		}
	}
	if n, ok := doc.(float64); ok {
		v.checkNumber(s, n, path)
	}
	if arr, ok := doc.([]any); ok {
		if items, ok := s["items"].(map[string]any); ok {
			for i, it := range arr {
				v.validate(items, it, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	}
	if obj, ok := doc.(map[string]any); ok {
		v.checkObject(s, obj, path)
	}
}

func (v *validator) checkNumber(s map[string]any, n float64, path string) {
	if m, ok := s["minimum"].(float64); ok && n < m {
		v.fail(path, "%v < minimum %v", n, m)
	}
	if m, ok := s["maximum"].(float64); ok && n > m {
		v.fail(path, "%v > maximum %v", n, m)
	}
	if m, ok := s["exclusiveMinimum"].(float64); ok && n <= m {
		v.fail(path, "%v <= exclusiveMinimum %v", n, m)
	}
	if m, ok := s["exclusiveMaximum"].(float64); ok && n >= m {
		v.fail(path, "%v >= exclusiveMaximum %v", n, m)
	}
}

func (v *validator) checkObject(s map[string]any, obj map[string]any, path string) {
	req, _ := s["required"].([]any)
	for _, r := range req {
		if _, ok := obj[r.(string)]; !ok {
			v.fail(path, "missing required %q", r)
		}
	}
	props, _ := s["properties"].(map[string]any)
	for k, val := range obj {
		if p, ok := props[k].(map[string]any); ok {
			v.validate(p, val, path+"."+k)
			continue
		}
		switch ap := s["additionalProperties"].(type) {
		case bool:
			if !ap {
				v.fail(path, "property %q not allowed", k)
			}
		case map[string]any:
			v.validate(ap, val, path+"."+k)
		}
	}
}

func hasType(typ string, doc any) bool {
	switch typ {
	case "object":
		_, ok := doc.(map[string]any)
		return ok
	case "array":
		_, ok := doc.([]any)
		return ok
	case "string":
		_, ok := doc.(string)
		return ok
	case "boolean":
		_, ok := doc.(bool)
		return ok
	case "number":
		_, ok := doc.(float64)
		return ok
	case "integer":
		n, ok := doc.(float64)
		return ok && n == float64(int64(n))
	case "null":
		return doc == nil
	}
	return true
}

func list(x any) []map[string]any {
	arr, _ := x.([]any)
	out := make([]map[string]any, len(arr))
	for i, a := range arr {
		out[i] = a.(map[string]any)
	}
	return out
}

func count(v *validator, subs []map[string]any, doc any) int {
	n := 0
	for _, s := range subs {
		if v.valid(s, doc) {
			n++
		}
	}
	return n
}

func contains(enum []any, doc any) bool {
	for _, e := range enum {
		if reflect.DeepEqual(e, doc) {
			return true
		}
	}
	return false
}
