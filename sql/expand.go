package sql

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Directives: a migration writes a view's query or a table's definition once
// and names it where it is needed again, in a comment line that the runner
// expands before it splits the file into statements:
//
//	-- siyu:select <view>
//	    The SELECT of materialized view <view> as last created above (earlier
//	    in this file or in an earlier migration). For a backfill, after the
//	    INSERT INTO line, and for a view that extends another's query.
//	-- siyu:recreate <name> as in <NNNN> [with <setting> = <value>]
//	    The CREATE statement of table or view <name> from migration NNNN, for
//	    a rebuild (drop, create again, backfill). NNNN must be where <name>
//	    was last created, and nothing may have altered it since: a migration
//	    that changes <name> in between makes the expansion fail rather than
//	    be lost. `with` sets one table setting (index_granularity = 256).
//
// An expansion takes the indentation of its directive line; a directive that
// ends with ";" ends its statement. Expansion is text substitution only: the
// statements are byte for byte those of the files when they were written out
// in full, which databases migrated then ran (sql/testdata/migrations.golden
// pins them). Any other comment starting with "-- siyu:" is an error.
//
// A named query (queries/<name>.sql) has one directive, for the parts that
// several queries share:
//
//	-- siyu:include <fragment>
//	    The text of fragments/<fragment>.sql (comment lines and all: Query
//	    strips them afterwards), indented as the directive.

// migrationFile is one migration file as written, before expansion.
type migrationFile struct {
	Version int
	Name    string
	Text    string
}

// placed is a statement as the runner sends it, with its migration.
type placed struct {
	version int
	stmt    string
}

// directive is one parsed "-- siyu:" line.
type directive struct {
	kind    string // "select", "recreate" or "include"
	name    string
	from    int    // recreate: the migration it copies
	setting string // recreate with: "index_granularity"
	value   string
	indent  string
	end     string // ";" or ""
}

const directivePrefix = "-- siyu:"

var (
	createRe = regexp.MustCompile(`^CREATE\s+(MATERIALIZED\s+VIEW|TABLE)\s+(?:IF\s+NOT\s+EXISTS\s+)?([A-Za-z_][A-Za-z0-9_]*)`)
	alterRe  = regexp.MustCompile(`^ALTER\s+TABLE\s+([A-Za-z_][A-Za-z0-9_]*)`)
	nameRe   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// expandMigrations expands the directives of files, which are in version
// order, and splits each into statements. Pure: the text of files is all it
// reads.
func expandMigrations(files []migrationFile) ([]Migration, error) {
	var done []placed
	out := make([]Migration, 0, len(files))
	for _, f := range files {
		text, err := expandFile(f, done)
		if err != nil {
			return nil, err
		}
		stmts := SplitStatements(text)
		for _, s := range stmts {
			done = append(done, placed{f.Version, s})
		}
		out = append(out, Migration{Version: f.Version, Name: f.Name, Statements: stmts})
	}
	return out, nil
}

// expandFile expands the directives of f; before holds the statements of
// every earlier migration.
func expandFile(f migrationFile, before []placed) (string, error) {
	out, err := expandLines(f.Text, func(d directive, soFar string) (string, error) {
		if d.kind == "include" {
			return "", fmt.Errorf("include is for queries; a migration uses select or recreate")
		}
		return d.expand(f.Version, known(before, f.Version, soFar))
	})
	if err != nil {
		return "", fmt.Errorf("migration %04d_%s.sql %w", f.Version, f.Name, err)
	}
	return out, nil
}

// expandQuery expands the include directives of a query file; fragment
// returns a fragment's text (sql/fragments/<name>.sql).
func expandQuery(name, text string, fragment func(string) (string, error)) (string, error) {
	out, err := expandLines(text, func(d directive, _ string) (string, error) {
		if d.kind != "include" {
			return "", fmt.Errorf("%s is for migrations; a query uses include", d.kind)
		}
		f, err := fragment(d.name)
		if err != nil {
			return "", fmt.Errorf("include %s: %w", d.name, err)
		}
		f = strings.TrimRight(f, "\n")
		for _, l := range strings.Split(f, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), directivePrefix) {
				return "", fmt.Errorf("include %s: a fragment holds no directives", d.name)
			}
		}
		return f, nil
	})
	if err != nil {
		return "", fmt.Errorf("query %s.sql %w", name, err)
	}
	return out, nil
}

// expandLines replaces each directive line of text with its expansion,
// indented as the line, followed by the line's ";" if any; expand gets the
// directive and the text expanded so far.
func expandLines(text string, expand func(d directive, soFar string) (string, error)) (string, error) {
	var out strings.Builder
	for i, line := range strings.SplitAfter(text, "\n") {
		d, ok, err := parseDirective(line)
		if err == nil && ok {
			var x string
			x, err = expand(d, out.String())
			if err == nil {
				out.WriteString(indent(x, d.indent) + d.end)
				if strings.HasSuffix(line, "\n") {
					out.WriteString("\n")
				}
				continue
			}
		}
		if err != nil {
			return "", fmt.Errorf("line %d: %w", i+1, err)
		}
		out.WriteString(line)
	}
	return out.String(), nil
}

// known is before plus the statements of this file that are complete so far
// (ended by ";" at a line end).
func known(before []placed, version int, soFar string) []placed {
	cut := strings.LastIndex(soFar, ";\n")
	if cut < 0 {
		return before
	}
	all := append([]placed(nil), before...)
	for _, s := range SplitStatements(soFar[:cut+2]) {
		all = append(all, placed{version, s})
	}
	return all
}

func parseDirective(line string) (directive, bool, error) {
	trimmed := strings.TrimLeft(line, " \t")
	rest, ok := strings.CutPrefix(strings.TrimRight(trimmed, " \t\r\n"), directivePrefix)
	if !ok {
		return directive{}, false, nil
	}
	d := directive{indent: line[:len(line)-len(trimmed)]}
	if r, ok := strings.CutSuffix(rest, ";"); ok {
		rest, d.end = r, ";"
	}
	f := strings.Fields(rest)
	bad := func(why string) (directive, bool, error) {
		return directive{}, false, fmt.Errorf("%s%s: %s", directivePrefix, rest, why)
	}
	if len(f) < 2 || !nameRe.MatchString(f[1]) {
		return bad("want select <view>, recreate <name> as in <NNNN> or include <fragment>")
	}
	d.kind, d.name = f[0], f[1]
	switch d.kind {
	case "select", "include":
		if len(f) != 2 {
			return bad("want " + d.kind + " <name>")
		}
	case "recreate":
		if len(f) < 5 || f[2] != "as" || f[3] != "in" {
			return bad("want recreate <name> as in <NNNN> [with <setting> = <value>]")
		}
		v, err := strconv.Atoi(f[4])
		if err != nil || len(f[4]) != 4 {
			return bad("the migration is its four-digit number")
		}
		d.from = v
		if len(f) > 5 {
			k, val, ok := strings.Cut(strings.Join(f[6:], " "), "=")
			k, val = strings.TrimSpace(k), strings.TrimSpace(val)
			if f[5] != "with" || !ok || !nameRe.MatchString(k) || val == "" || strings.ContainsAny(val, ", ") {
				return bad("want with <setting> = <value>")
			}
			d.setting, d.value = k, val
		}
	default:
		return bad("unknown directive " + strconv.Quote(d.kind))
	}
	return d, true, nil
}

// expand returns the text d stands for in migration version, given every
// statement above it.
func (d directive) expand(version int, above []placed) (string, error) {
	def, err := lastCreate(d.name, above)
	if err != nil {
		return "", err
	}
	switch d.kind {
	case "select":
		header, query, ok := strings.Cut(def.stmt, "\n")
		if !strings.HasPrefix(def.stmt, "CREATE MATERIALIZED VIEW") || !ok || !strings.HasSuffix(header, " AS") {
			return "", fmt.Errorf("select %s: not a materialized view written as \"CREATE MATERIALIZED VIEW ... AS\" and its SELECT on the next lines (%04d)", d.name, def.version)
		}
		return query, nil
	default: // recreate
		if d.from >= version {
			return "", fmt.Errorf("recreate %s as in %04d: not an earlier migration", d.name, d.from)
		}
		if def.version != d.from {
			return "", fmt.Errorf("recreate %s as in %04d: %s was last created in %04d", d.name, d.from, d.name, def.version)
		}
		if d.setting == "" {
			return def.stmt, nil
		}
		return withSetting(def.stmt, d.setting, d.value), nil
	}
}

// lastCreate is the latest CREATE of name in above; an ALTER of name after
// it is an error (a copy of the CREATE would lose it).
func lastCreate(name string, above []placed) (placed, error) {
	for i := len(above) - 1; i >= 0; i-- {
		s := above[i].stmt
		if m := alterRe.FindStringSubmatch(s); m != nil && m[1] == name {
			return placed{}, fmt.Errorf("%s was altered in %04d: its CREATE above is not its definition", name, above[i].version)
		}
		if m := createRe.FindStringSubmatch(s); m != nil && m[2] == name {
			return above[i], nil
		}
	}
	return placed{}, fmt.Errorf("%s is not created above", name)
}

// withSetting sets key = value in the SETTINGS line of a CREATE TABLE,
// adding the line when there is none.
func withSetting(stmt, key, value string) string {
	lines := strings.Split(stmt, "\n")
	last := lines[len(lines)-1]
	list, ok := strings.CutPrefix(last, "SETTINGS ")
	if !ok {
		return stmt + "\nSETTINGS " + key + " = " + value
	}
	parts := strings.Split(list, ",")
	set := false
	for i, p := range parts {
		if k, _, _ := strings.Cut(p, "="); strings.TrimSpace(k) == key {
			parts[i] = strings.Repeat(" ", len(p)-len(strings.TrimLeft(p, " "))) + key + " = " + value
			set = true
		}
	}
	if !set {
		parts = append(parts, " "+key+" = "+value)
	}
	lines[len(lines)-1] = "SETTINGS " + strings.Join(parts, ",")
	return strings.Join(lines, "\n")
}

// indent prefixes every non-empty line of text with prefix.
func indent(text, prefix string) string {
	if prefix == "" {
		return text
	}
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n")
}
