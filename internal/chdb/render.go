package chdb

import (
	"fmt"
	"strconv"
	"strings"
)

// Render binds args into sql the way the client binds @name parameters, so
// a query can run on chDB, which has no client-side binding: each @name
// (name = letters, digits, underscores) becomes a ClickHouse literal. A
// value that parses as an integer is emitted bare; any other value becomes a
// single-quoted string with backslashes and quotes escaped; a value written
// "[a,b]" becomes an array of such literals (how the client binds a []string).
// An @name with no value in args is an error naming it.
func Render(sql string, args map[string]string) (string, error) {
	var b strings.Builder
	for {
		at := strings.IndexByte(sql, '@')
		if at < 0 {
			b.WriteString(sql)
			return b.String(), nil
		}
		end := at + 1
		for end < len(sql) && isIdent(sql[end]) {
			end++
		}
		b.WriteString(sql[:at])
		if end == at+1 {
			b.WriteByte('@') // a lone @ is not a parameter
		} else if err := writeArg(&b, sql[at+1:end], args); err != nil {
			return "", err
		}
		sql = sql[end:]
	}
}

func writeArg(b *strings.Builder, name string, args map[string]string) error {
	v, ok := args[name]
	if !ok {
		return fmt.Errorf("render query: no value for @%s", name)
	}
	if inner, ok := strings.CutPrefix(v, "["); ok && strings.HasSuffix(inner, "]") {
		items := strings.Split(strings.TrimSuffix(inner, "]"), ",")
		for i, it := range items {
			items[i] = Literal(it)
		}
		b.WriteString("[" + strings.Join(items, ", ") + "]")
		return nil
	}
	b.WriteString(Literal(v))
	return nil
}

// Literal returns v as a ClickHouse literal: bare if it is an integer,
// else a quoted, escaped string.
func Literal(v string) string {
	if _, err := strconv.ParseInt(v, 10, 64); err == nil {
		return v
	}
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	return "'" + r.Replace(v) + "'"
}

func isIdent(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
