package chdb_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/internal/chdb"
)

func TestRender(t *testing.T) {
	tests := []struct {
		name string
		sql  string
		args map[string]string
		want string
	}{
		{"no params", "SELECT 1", nil, "SELECT 1"},
		{"string", "WHERE tenant = @tenant", map[string]string{"tenant": "demo"}, "WHERE tenant = 'demo'"},
		{"integer bare", "LIMIT @n", map[string]string{"n": "42"}, "LIMIT 42"},
		{"negative integer bare", "x = @n", map[string]string{"n": "-7"}, "x = -7"},
		{"hex-looking string quoted", "h = @key_hash", map[string]string{"key_hash": "0f1e"}, "h = '0f1e'"},
		{"float quoted", "x = @f", map[string]string{"f": "1.5"}, "x = '1.5'"},
		{"empty value quoted", "x = @v", map[string]string{"v": ""}, "x = ''"},
		{"quote and backslash escaped", "x = @v", map[string]string{"v": `a'b\c`}, `x = 'a\'b\\c'`},
		{"several and repeated", "a = @a AND b = @b AND c = @a",
			map[string]string{"a": "x", "b": "2"}, "a = 'x' AND b = 2 AND c = 'x'"},
		{"name ends at non-identifier", "(@a_1)", map[string]string{"a_1": "v"}, "('v')"},
		{"param at end", "x=@a", map[string]string{"a": "v"}, "x='v'"},
		{"lone at kept", "x @ y", nil, "x @ y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := chdb.Render(tt.sql, tt.args)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestRenderMissingArg(t *testing.T) {
	_, err := chdb.Render("WHERE a = @a AND b = @missing", map[string]string{"a": "x"})
	require.ErrorContains(t, err, "@missing")
}
