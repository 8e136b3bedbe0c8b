// Package sql holds every statement Siyu sends to ClickHouse: numbered
// migrations (migrations/NNNN_name.sql, applied in order by `siyu migrate`)
// and named queries (queries/name.sql). Keeping them as files, embedded in
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
)

//go:embed migrations/*.sql queries/*.sql access/*.sql
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

// Query returns the named query (queries/<name>.sql). It panics on an
// unknown name: query names are constants in the code, checked by tests.
func Query(name string) string {
	b, err := files.ReadFile("queries/" + name + ".sql")
	if err != nil {
		panic(fmt.Sprintf("sql: no query %q", name))
	}
	return stripComments(string(b))
}

// CatalogueEntry is a named query with the sample arguments from its file.
type CatalogueEntry struct {
	Name string
	SQL  string
	Args map[string]string
}

// Catalogue returns every named query, for compatibility tests.
func Catalogue() ([]CatalogueEntry, error) {
	entries, err := fs.ReadDir(files, "queries")
	if err != nil {
		return nil, fmt.Errorf("read queries: %w", err)
	}
	out := make([]CatalogueEntry, 0, len(entries))
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".sql")
		b, _ := files.ReadFile("queries/" + e.Name())
		out = append(out, CatalogueEntry{Name: name, SQL: Query(name), Args: sampleArgs(string(b))})
	}
	return out, nil
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
