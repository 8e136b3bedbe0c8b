package sql

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const (
	tableA = "CREATE TABLE IF NOT EXISTS a (\n    x String\n) ENGINE = MergeTree()\nORDER BY x"
	viewA  = "CREATE MATERIALIZED VIEW IF NOT EXISTS a_mv TO a AS\nSELECT\n    subject AS x\nFROM events\nWHERE type = 'a'"
	first  = tableA + ";\n\n-- comment\n" + viewA + ";\n"
)

func expandTexts(t *testing.T, texts ...string) ([]Migration, error) {
	t.Helper()
	files := make([]migrationFile, len(texts))
	for i, s := range texts {
		files[i] = migrationFile{Version: i + 1, Name: "m", Text: s}
	}
	return expandMigrations(files)
}

func statementsOf(t *testing.T, texts ...string) []string {
	t.Helper()
	ms, err := expandTexts(t, texts...)
	require.NoError(t, err)
	return ms[len(ms)-1].Statements
}

func TestExpandSelect(t *testing.T) {
	// A backfill after its view, in the same file and in a later one.
	backfill := "INSERT INTO a (x)\n-- siyu:select a_mv;\n"
	want := "INSERT INTO a (x)\nSELECT\n    subject AS x\nFROM events\nWHERE type = 'a'"
	require.Equal(t, []string{tableA, viewA, want}, statementsOf(t, first+"\n"+backfill))
	require.Equal(t, []string{want}, statementsOf(t, first, backfill))

	// A view extending another's query; no ";" on the directive, the
	// statement goes on.
	grouped := "CREATE MATERIALIZED VIEW IF NOT EXISTS b_mv TO a AS\n-- siyu:select a_mv\nGROUP BY x;\n"
	require.Equal(t, []string{"CREATE MATERIALIZED VIEW IF NOT EXISTS b_mv TO a AS\n" +
		"SELECT\n    subject AS x\nFROM events\nWHERE type = 'a'\nGROUP BY x"}, statementsOf(t, first, grouped))

	// The indentation of the directive line is the expansion's; a directive
	// on the file's last line, without a newline.
	sub := "INSERT INTO a (x)\nSELECT x FROM (\n    -- siyu:select a_mv\n)"
	require.Equal(t, []string{"INSERT INTO a (x)\nSELECT x FROM (\n    SELECT\n        subject AS x\n" +
		"    FROM events\n    WHERE type = 'a'\n)"}, statementsOf(t, first, sub))
	require.Equal(t, []string{"INSERT INTO a (x)\n" + strings.TrimPrefix(viewA, strings.Split(viewA, "\n")[0]+"\n")},
		statementsOf(t, first, "INSERT INTO a (x)\n-- siyu:select a_mv;"))

	// The latest definition wins.
	viewA2 := strings.Replace(viewA, "'a'", "'a2'", 1)
	require.Equal(t, []string{"INSERT INTO a (x)\nSELECT\n    subject AS x\nFROM events\nWHERE type = 'a2'"},
		statementsOf(t, first, "DROP TABLE IF EXISTS a_mv;\n"+viewA2+";\n", "INSERT INTO a (x)\n-- siyu:select a_mv;\n"))
}

func TestExpandRecreate(t *testing.T) {
	rebuild := "DROP TABLE IF EXISTS a_mv;\n\nDROP TABLE IF EXISTS a;\n\n" +
		"-- siyu:recreate a as in 0001 with index_granularity = 256;\n\n" +
		"-- siyu:recreate a_mv as in 0001;\n\n" +
		"INSERT INTO a (x)\n-- siyu:select a_mv;\n"
	require.Equal(t, []string{
		"DROP TABLE IF EXISTS a_mv",
		"DROP TABLE IF EXISTS a",
		tableA + "\nSETTINGS index_granularity = 256",
		viewA,
		"INSERT INTO a (x)\nSELECT\n    subject AS x\nFROM events\nWHERE type = 'a'",
	}, statementsOf(t, first, rebuild))

	// A copy of a copy; a setting replaced, or added to the list.
	require.Equal(t, []string{tableA + "\nSETTINGS index_granularity = 256"},
		statementsOf(t, first, rebuild, "-- siyu:recreate a as in 0002;\n"))
	require.Equal(t, []string{tableA + "\nSETTINGS index_granularity = 1024"},
		statementsOf(t, first, rebuild, "-- siyu:recreate a as in 0002 with index_granularity = 1024;\n"))
	require.Equal(t, []string{tableA + "\nSETTINGS index_granularity = 256, merge_with_ttl_timeout = 60"},
		statementsOf(t, first, rebuild, "-- siyu:recreate a as in 0002 with merge_with_ttl_timeout=60;\n"))
}

func TestExpandErrors(t *testing.T) {
	for _, c := range []struct{ name, text, err string }{
		{"unknown", "-- siyu:copy a_mv;\n", `unknown directive "copy"`},
		{"no name", "-- siyu:select;\n", "want select <view>, recreate"},
		{"extra words", "-- siyu:select a_mv a;\n", "want select <name>"},
		{"bad name", "-- siyu:select a-mv;\n", "want select <view>, recreate"},
		{"include", "-- siyu:include a;\n", "include is for queries"},
		{"no version", "-- siyu:recreate a;\n", "want recreate <name> as in <NNNN>"},
		{"short version", "-- siyu:recreate a as in 1;\n", "four-digit"},
		{"bad with", "-- siyu:recreate a as in 0001 index_granularity = 256;\n", "want with <setting> = <value>"},
		{"two settings", "-- siyu:recreate a as in 0001 with a = 1, b = 2;\n", "want with <setting> = <value>"},
		{"unknown view", "-- siyu:select b_mv;\n", "b_mv is not created above"},
		{"select of a table", "-- siyu:select a;\n", "select a: not a materialized view"},
		{"not the latest", "-- siyu:recreate a as in 0000;\n", "a was last created in 0001"},
		{"not earlier", "-- siyu:recreate a as in 0002;\n", "not an earlier migration"},
		{"altered", "ALTER TABLE a ADD COLUMN y String;\n-- siyu:recreate a as in 0001;\n", "a was altered in 0002"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := expandTexts(t, first, c.text)
			require.ErrorContains(t, err, c.err)
			require.ErrorContains(t, err, "migration 0002_m.sql line ")
		})
	}
	// A statement is known once it ends: not the one the directive is in.
	_, err := expandTexts(t, "CREATE MATERIALIZED VIEW IF NOT EXISTS a_mv TO a AS\n-- siyu:select a_mv;\n")
	require.ErrorContains(t, err, "a_mv is not created above")
}

func TestExpandQuery(t *testing.T) {
	frags := map[string]string{
		"cols":   "-- The columns.\nSELECT\n    a,\n    b\nFROM t\n",
		"nested": "SELECT 1\n-- siyu:include cols\n",
	}
	fragment := func(name string) (string, error) {
		if f, ok := frags[name]; ok {
			return f, nil
		}
		return "", fmt.Errorf("no fragment %s", name)
	}
	got, err := expandQuery("q", "-- args: x=1\nSELECT * FROM (\n    -- siyu:include cols\n    WHERE a = @x\n)\n", fragment)
	require.NoError(t, err)
	require.Equal(t, "-- args: x=1\nSELECT * FROM (\n    -- The columns.\n    SELECT\n        a,\n        b\n    FROM t\n"+
		"    WHERE a = @x\n)\n", got)
	require.Equal(t, "SELECT * FROM (\n    SELECT\n        a,\n        b\n    FROM t\n    WHERE a = @x\n)\n", stripComments(got))

	for _, c := range []struct{ text, err string }{
		{"-- siyu:include missing\n", "query q.sql line 1: include missing: no fragment missing"},
		{"SELECT\n-- siyu:include nested\n", "query q.sql line 2: include nested: a fragment holds no directives"},
		{"-- siyu:select a_mv\n", "select is for migrations"},
		{"-- siyu:include\n", "want select <view>"},
	} {
		_, err := expandQuery("q", c.text, fragment)
		require.ErrorContains(t, err, c.err)
	}
}

// TestFragmentsShared: every fragment is included by two queries at least
// (a part of one query belongs in that query).
func TestFragmentsShared(t *testing.T) {
	uses := map[string]int{}
	entries, err := fs.ReadDir(files, "queries")
	require.NoError(t, err)
	for _, e := range entries {
		b, err := files.ReadFile("queries/" + e.Name())
		require.NoError(t, err)
		for _, l := range strings.Split(string(b), "\n") {
			if d, ok, _ := parseDirective(l); ok && d.kind == "include" {
				uses[d.name]++
			}
		}
	}
	frags, err := fs.ReadDir(files, "fragments")
	require.NoError(t, err)
	require.NotEmpty(t, frags)
	for _, f := range frags {
		name := strings.TrimSuffix(f.Name(), ".sql")
		require.GreaterOrEqual(t, uses[name], 2, "fragment %s is included by %d queries", name, uses[name])
	}
}

// TestWrittenOnce: every view's query and every table's definition is
// written out once in sql/ (migrations and queries, as the files are, before
// expansion); a second use is a directive. Whitespace and comments do not
// count.
func TestWrittenOnce(t *testing.T) {
	ms, err := Migrations()
	require.NoError(t, err)
	var sources []string
	var names []string
	for _, dir := range []string{"migrations", "queries", "fragments", "access"} {
		entries, err := fs.ReadDir(files, dir)
		require.NoError(t, err)
		for _, e := range entries {
			b, err := files.ReadFile(path.Join(dir, e.Name()))
			require.NoError(t, err)
			sources = append(sources, fold(stripComments(string(b))))
			names = append(names, path.Join(dir, e.Name()))
		}
	}
	checked := 0
	for _, m := range ms {
		for _, stmt := range m.Statements {
			c := createRe.FindStringSubmatch(stmt)
			if c == nil {
				continue
			}
			text := stmt
			if strings.HasPrefix(c[1], "MATERIALIZED") {
				_, text, _ = strings.Cut(stmt, "\n") // the view's SELECT
			} else {
				text = settingsRe.ReplaceAllString(stmt, "") // the table, whatever its settings
			}
			needle := fold(text)
			var in []string
			for i, s := range sources {
				for range strings.Count(s, needle) {
					in = append(in, names[i])
				}
			}
			require.LessOrEqual(t, len(in), 1,
				"the definition of %s (%04d_%s) is written out in %v: write it once, and use -- siyu:select or -- siyu:recreate (sql/expand.go) elsewhere",
				c[2], m.Version, m.Name, in)
			checked++
		}
	}
	require.Greater(t, checked, 40)
}

var (
	settingsRe = regexp.MustCompile(`\nSETTINGS [^\n]*$`)
	spaceRe    = regexp.MustCompile(`\s+`)
)

func fold(s string) string { return strings.TrimSpace(spaceRe.ReplaceAllString(s, " ")) }
