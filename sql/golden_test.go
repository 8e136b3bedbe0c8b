package sql_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/sql"
)

// update rewrites the golden files: `go test ./sql -run Golden -update`,
// for a new migration or a changed query. A changed statement of an existing
// migration would not reach a database that has it already: never for that.
var update = flag.Bool("update", false, "rewrite sql/testdata/*.golden")

// TestMigrationsGolden pins every statement of every migration, byte for
// byte, as the runner sends it (sql.Migrations). The golden file was made
// before the files were deduplicated (commit 79714e3, before the -- siyu:
// directives), so the expanded
// text is what databases migrated earlier ran: none re-runs or differs.
func TestMigrationsGolden(t *testing.T) {
	ms, err := sql.Migrations()
	require.NoError(t, err)
	var b strings.Builder
	for _, m := range ms {
		for i, stmt := range m.Statements {
			fmt.Fprintf(&b, "-- %04d_%s statement %d/%d (%d bytes)\n%s\n\n",
				m.Version, m.Name, i+1, len(m.Statements), len(stmt), stmt)
		}
	}
	golden(t, "migrations.golden", b.String())
}

// TestQueriesGolden pins every named query's text, byte for byte, as
// sql.Query returns it.
func TestQueriesGolden(t *testing.T) {
	entries, err := sql.Catalogue()
	require.NoError(t, err)
	var b strings.Builder
	for _, q := range entries {
		fmt.Fprintf(&b, "-- query %s (%d bytes)\n%s\n\n", q.Name, len(q.SQL), q.SQL)
	}
	golden(t, "queries.golden", b.String())
}

const goldenHint = "a new migration or a changed query: go test ./sql -run Golden -update; " +
	"an existing migration must expand to the statements it had"

func golden(t *testing.T, name, got string) {
	t.Helper()
	file := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(file, []byte(got), 0o644))
	}
	want, err := os.ReadFile(file)
	require.NoError(t, err)
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) && i < len(wl); i++ {
			if gl[i] != wl[i] {
				t.Fatalf("%s differs at line %d:\n got: %q\nwant: %q\n%s", file, i+1, gl[i], wl[i], goldenHint)
			}
		}
		t.Fatalf("%s differs in length: got %d lines, want %d\n%s", file, len(gl), len(wl), goldenHint)
	}
}
