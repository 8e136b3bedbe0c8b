package sql

import (
	"bytes"
	"fmt"
	"text/template"
)

// Access renders access/<name>.sql, a template of statements that name
// databases and tables (which ClickHouse cannot bind as parameters), and
// splits it. Callers validate every identifier in data first.
func Access(name string, data any) ([]string, error) {
	b, err := files.ReadFile("access/" + name + ".sql")
	if err != nil {
		return nil, fmt.Errorf("sql: no access template %q: %w", name, err)
	}
	t, err := template.New(name).Parse(string(b))
	if err != nil {
		return nil, fmt.Errorf("parse access template %s: %w", name, err)
	}
	var out bytes.Buffer
	if err := t.Execute(&out, data); err != nil {
		return nil, fmt.Errorf("render access template %s: %w", name, err)
	}
	return SplitStatements(out.String()), nil
}
