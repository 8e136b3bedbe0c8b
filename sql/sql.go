// Package sql holds every statement Siyu sends to ClickHouse: numbered
// migrations (migrations/NNNN_name.sql, applied in order by `siyu migrate`)
// and named queries (queries/name.sql). Keeping them as files, embedded in
// the binary, lets one test run all of them on ClickHouse 18.16 and on
// current ClickHouse (chDB) alike.
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

// Migrations returns every migration, in version order.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(files, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		m, err := readMigration(e.Name())
		if err != nil {
			return nil, err
		}
		if len(out) > 0 && out[len(out)-1].Version == m.Version {
			return nil, fmt.Errorf("migration %s: version %d used twice", e.Name(), m.Version)
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

func readMigration(file string) (Migration, error) {
	num, name, ok := strings.Cut(strings.TrimSuffix(file, ".sql"), "_")
	v, err := strconv.Atoi(num)
	if !ok || err != nil {
		return Migration{}, fmt.Errorf("migration %s: name must be NNNN_name.sql", file)
	}
	b, err := files.ReadFile(path.Join("migrations", file))
	if err != nil {
		return Migration{}, fmt.Errorf("read migration %s: %w", file, err)
	}
	return Migration{Version: v, Name: name, Statements: SplitStatements(string(b))}, nil
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
