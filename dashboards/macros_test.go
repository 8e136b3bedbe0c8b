package dashboards

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestExpand(t *testing.T) {
	req := Request{
		From:     time.Unix(1767225600, 0), // 2026-01-01T00:00:00Z
		To:       time.Unix(1767398399, 0), // 2026-01-02T23:59:59Z
		Interval: time.Hour,
		Vars: map[string]Value{
			"tenant": {Values: []string{"t0001"}},
			"multi":  {Values: []string{"a", "b'c"}},
			"plan":   {All: true, Values: []string{"pro", "basic"}},
		},
	}
	tests := []struct{ name, in, want string }{
		{"timeFilter", "WHERE $__timeFilter(ts)", "WHERE ts >= toDateTime(1767225600) AND ts <= toDateTime(1767398399)"},
		{"fromTime toTime", "$__fromTime, $__toTime", "toDateTime(1767225600), toDateTime(1767398399)"},
		{"dateFilter", "$__dateFilter(day)", "day >= toDate('2026-01-01') AND day <= toDate('2026-01-02')"},
		{"interval_s", "$__interval_s", "3600"},
		{"singlequote", "tenant = ${tenant:singlequote}", "tenant = 't0001'"},
		{"singlequote multi", "x IN (${multi:singlequote})", `x IN ('a','b\'c')`},
		{"plain", "$tenant ${tenant}", "t0001 t0001"},
		{"conditionalAll value", "$__conditionalAll(tenant IN (${tenant:singlequote}), $tenant)", "tenant IN ('t0001')"},
		{"conditionalAll All", "a AND $__conditionalAll(plan IN (${plan:singlequote}), $plan) AND b", "a AND 1=1 AND b"},
		{"conditionalAll nested", "$__conditionalAll(f(x, y) IN (${multi:singlequote}), ${multi})", `f(x, y) IN ('a','b\'c')`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Expand(tt.in, req)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
	for _, bad := range []string{"$__conditionalAll(x", "${nope}", "$__conditionalAll(x, $nope)", "$__unknown", "${tenant:glob}"} {
		t.Run("error/"+bad, func(t *testing.T) {
			_, err := Expand(bad, req)
			require.Error(t, err)
		})
	}
}
