package dashboards

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Value is the current value of a dashboard variable: the selected values,
// or All.
type Value struct {
	All    bool
	Values []string // every option when All, for ${var:singlequote}
}

// Request is what Grafana sends with a query: the time range, the interval
// and the variables' values.
type Request struct {
	From, To time.Time
	Interval time.Duration
	Vars     map[string]Value
}

// Expand expands the ClickHouse plugin's macros and the dashboard variables
// in sql as the plugin and Grafana do: $__conditionalAll first, then the
// variables, then the time macros.
func Expand(sql string, r Request) (string, error) {
	sql, err := expandConditionalAll(sql, r.Vars)
	if err != nil {
		return "", err
	}
	if sql, err = expandVars(sql, r.Vars); err != nil {
		return "", err
	}
	return expandTime(sql, r)
}

const conditionalAll = "$__conditionalAll("

// expandConditionalAll replaces $__conditionalAll(cond, $var) with cond, or
// with 1=1 when var is All. cond may hold parentheses and commas: the
// variable is the last top-level argument.
func expandConditionalAll(sql string, vars map[string]Value) (string, error) {
	for {
		i := strings.Index(sql, conditionalAll)
		if i < 0 {
			return sql, nil
		}
		start := i + len(conditionalAll)
		end, comma := matchParen(sql, start)
		if end < 0 || comma < 0 {
			return "", fmt.Errorf("$__conditionalAll at %d: want (condition, $variable)", i)
		}
		cond := strings.TrimSpace(sql[start:comma])
		name := strings.Trim(strings.TrimSpace(sql[comma+1:end]), "${}")
		v, ok := vars[name]
		if !ok {
			return "", fmt.Errorf("$__conditionalAll: unknown variable %q", name)
		}
		if v.All {
			cond = "1=1"
		}
		sql = sql[:i] + cond + sql[end+1:]
	}
}

// matchParen returns the index of the parenthesis closing the one opened
// just before start, and of the last comma at depth zero before it.
func matchParen(s string, start int) (end, comma int) {
	depth, comma := 0, -1
	for j := start; j < len(s); j++ {
		switch s[j] {
		case '(':
			depth++
		case ')':
			if depth == 0 {
				return j, comma
			}
			depth--
		case ',':
			if depth == 0 {
				comma = j
			}
		}
	}
	return -1, -1
}

// varRef matches ${name}, ${name:format} and $name (not $__ macros).
var varRef = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)(?::([a-z]+))?\}|\$([A-Za-z][A-Za-z0-9_]*)`)

func expandVars(sql string, vars map[string]Value) (string, error) {
	var err error
	out := varRef.ReplaceAllStringFunc(sql, func(m string) string {
		g := varRef.FindStringSubmatch(m)
		name, format := g[1]+g[3], g[2]
		v, ok := vars[name]
		if !ok {
			err = fmt.Errorf("unknown variable %q", name)
			return m
		}
		switch format {
		case "singlequote":
			q := make([]string, len(v.Values))
			for i, s := range v.Values {
				q[i] = "'" + strings.ReplaceAll(s, "'", `\'`) + "'"
			}
			return strings.Join(q, ",")
		case "", "csv", "raw":
			return strings.Join(v.Values, ",")
		}
		err = fmt.Errorf("variable %q: unsupported format %q", name, format)
		return m
	})
	return out, err
}

// timeFilter matches the column macros.
var timeFilter = regexp.MustCompile(`\$__(timeFilter|dateFilter)\(([^()]*)\)`)

func expandTime(sql string, r Request) (string, error) {
	from, to := r.From.Unix(), r.To.Unix()
	sql = timeFilter.ReplaceAllStringFunc(sql, func(m string) string {
		g := timeFilter.FindStringSubmatch(m)
		col := strings.TrimSpace(g[2])
		if g[1] == "dateFilter" {
			return fmt.Sprintf("%s >= toDate('%s') AND %s <= toDate('%s')", col,
				r.From.UTC().Format(time.DateOnly), col, r.To.UTC().Format(time.DateOnly))
		}
		return fmt.Sprintf("%s >= toDateTime(%d) AND %s <= toDateTime(%d)", col, from, col, to)
	})
	sql = strings.NewReplacer(
		"$__fromTime", fmt.Sprintf("toDateTime(%d)", from),
		"$__toTime", fmt.Sprintf("toDateTime(%d)", to),
		"$__interval_s", strconv.FormatInt(int64(r.Interval/time.Second), 10),
	).Replace(sql)
	if i := strings.Index(sql, "$__"); i >= 0 {
		return "", fmt.Errorf("unexpanded macro at %d: %.30s", i, sql[i:])
	}
	return sql, nil
}
