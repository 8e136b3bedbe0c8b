// Package sql holds every statement Siyu sends to ClickHouse: numbered
// migrations (migrations/NNNN_name.sql, applied in order by `siyu migrate`)
// and named queries (queries/name.sql, which may include the parts they share
// from fragments/name.sql). Keeping them as files, embedded in
// the binary, lets one test run all of them on ClickHouse 18.16 and on
// current ClickHouse (chDB) alike.
//
// A migration writes a view's query or a table's definition once; a backfill
// or a rebuild names it with a directive comment (-- siyu:select,
// -- siyu:recreate; expand.go) that Migrations expands before splitting, to
// exactly the text the statement had when it was written out in full
// (testdata/migrations.golden pins every statement, byte for byte).
//
// Queries bind parameters client-side as @name (clickhouse.Named); a query
// file's "-- args:" line gives sample values, used by the compatibility test.
package sql

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
)

//go:embed migrations/*.sql queries/*.sql access/*.sql fragments/*.sql
var files embed.FS

// Migration is one numbered schema change.
type Migration struct {
	Version    int
	Name       string
	Statements []string
}

// Migrations returns every migration, in version order, with its
// directives expanded (expand.go): the statements as a database runs them.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(files, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var all []migrationFile
	for _, e := range entries {
		f, err := readMigration(e.Name())
		if err != nil {
			return nil, err
		}
		all = append(all, f)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Version < all[j].Version })
	for i := 1; i < len(all); i++ {
		if all[i].Version == all[i-1].Version {
			return nil, fmt.Errorf("migration %04d_%s.sql: version %d used twice", all[i].Version, all[i].Name, all[i].Version)
		}
	}
	return expandMigrations(all)
}

func readMigration(file string) (migrationFile, error) {
	num, name, ok := strings.Cut(strings.TrimSuffix(file, ".sql"), "_")
	v, err := strconv.Atoi(num)
	if !ok || err != nil {
		return migrationFile{}, fmt.Errorf("migration %s: name must be NNNN_name.sql", file)
	}
	b, err := files.ReadFile(path.Join("migrations", file))
	if err != nil {
		return migrationFile{}, fmt.Errorf("read migration %s: %w", file, err)
	}
	return migrationFile{Version: v, Name: name, Text: string(b)}, nil
}

// SplitStatements splits a file into statements at semicolons that end a
// line, dropping comment-only and empty ones.
func SplitStatements(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ";\n") {
		if stmt := strings.TrimSpace(stripComments(part)); stmt != "" {
			out = append(out, stmt)
		}
	}
	return out
}

func stripComments(s string) string {
	lines := strings.Split(s, "\n")
	kept := lines[:0]
	for _, l := range lines {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			kept = append(kept, l)
		}
	}
	return strings.TrimSuffix(strings.Join(kept, "\n"), ";")
}

// Query returns the named query (queries/<name>.sql, its includes
// expanded, its comments stripped). It panics on an unknown name: query
// names are constants in the code, checked by tests.
func Query(name string) string {
	qs, err := queries()
	if err != nil {
		panic(fmt.Sprintf("sql: %v", err))
	}
	q, ok := qs[name]
	if !ok {
		panic(fmt.Sprintf("sql: no query %q", name))
	}
	return q.SQL
}

// CatalogueEntry is a named query with the sample arguments from its file.
type CatalogueEntry struct {
	Name string
	SQL  string
	Args map[string]string
}

// Catalogue returns every named query, by name, for compatibility tests.
func Catalogue() ([]CatalogueEntry, error) {
	qs, err := queries()
	if err != nil {
		return nil, err
	}
	out := make([]CatalogueEntry, 0, len(qs))
	for _, q := range qs {
		out = append(out, q)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// queries reads and expands every named query once.
var queries = sync.OnceValues(func() (map[string]CatalogueEntry, error) {
	entries, err := fs.ReadDir(files, "queries")
	if err != nil {
		return nil, fmt.Errorf("read queries: %w", err)
	}
	out := make(map[string]CatalogueEntry, len(entries))
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".sql")
		b, err := files.ReadFile("queries/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("read query %s: %w", name, err)
		}
		text, err := expandQuery(name, string(b), fragment)
		if err != nil {
			return nil, err
		}
		out[name] = CatalogueEntry{Name: name, SQL: stripComments(text), Args: sampleArgs(string(b))}
	}
	return out, nil
})

// fragment returns fragments/<name>.sql, a part of several queries.
func fragment(name string) (string, error) {
	b, err := files.ReadFile("fragments/" + name + ".sql")
	if err != nil {
		return "", fmt.Errorf("no fragment %s (sql/fragments/%s.sql)", name, name)
	}
	return string(b), nil
}

func sampleArgs(file string) map[string]string {
	args := map[string]string{}
	for _, l := range strings.Split(file, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(l), "-- args:")
		if !ok {
			continue
		}
		for _, kv := range strings.Fields(rest) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				args[k] = v
			}
		}
	}
	return args
}
