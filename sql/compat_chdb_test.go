package sql_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/cdp"
	"github.com/siyu-dev/siyu/ingest"
	"github.com/siyu-dev/siyu/internal/chdb"
	"github.com/siyu-dev/siyu/sql"
)

// compatDB is the database the compatibility test builds its schema in.
//
// chDB quirk: chdb_connect starts the session in "default", and a USE sent
// through chdb_query persists for later queries on the same connection
// (checked: SELECT currentDatabase() afterwards gives the new name), so the
// migrations run unqualified, exactly as `siyu migrate` sends them. Passing
// --database=... to chdb_connect is not needed (and the database would have
// to exist before the engine starts).
const compatDB = "siyu_compat"

// TestChDBCompat proves every migration and named query runs on current
// ClickHouse (chDB), not only on the 18.16 server installed on these machines.
func TestChDBCompat(t *testing.T) {
	e := chdb.OpenForTest(t)
	exec(t, e, "CREATE DATABASE "+compatDB)
	exec(t, e, "USE "+compatDB)
	out := exec(t, e, "SELECT currentDatabase()")
	require.Equal(t, compatDB+"\n", out, "USE must persist across chDB queries")

	applyMigrations(t, e)
	seed(t, e)

	entries, err := sql.Catalogue()
	require.NoError(t, err)
	require.NotEmpty(t, entries)
	for _, q := range entries {
		t.Run("query/"+q.Name, func(t *testing.T) { runCatalogueQuery(t, e, q) })
	}

	t.Run("segment/compiled", func(t *testing.T) { runCompiledSegment(t, e) })

	t.Run("settings/ingest", func(t *testing.T) {
		// Every setting the pipeline sends with its inserts must exist here too.
		for name, v := range ingest.InsertSettings {
			_, err := e.Query(fmt.Sprintf("SET %s = %v", name, v), "TSV")
			require.NoError(t, err, "setting %s", name)
		}
	})

	t.Run("drift/low_cardinality_setting", func(t *testing.T) {
		// Needed on 18.16 to create LowCardinality columns; gone since.
		_, err := e.Query("SET allow_experimental_low_cardinality_type = 1", "TSV")
		require.ErrorContains(t, err, "Unknown setting")
	})
}

// exec runs q, which must succeed, and returns its TSV output.
func exec(t *testing.T, e *chdb.Engine, q string) string {
	t.Helper()
	out, err := e.Query(q, "TSV")
	require.NoError(t, err, "statement:\n%s", q)
	return out
}

// applyMigrations runs every migration statement in order and records each
// migration in schema_migrations, as `siyu migrate` does.
func applyMigrations(t *testing.T, e *chdb.Engine) {
	t.Helper()
	ms, err := sql.Migrations()
	require.NoError(t, err)
	require.NotEmpty(t, ms)
	for _, m := range ms {
		for i, stmt := range m.Statements {
			_, err := e.Query(stmt, "TSV")
			require.NoError(t, err, "migration %04d_%s, statement %d:\n%s", m.Version, m.Name, i+1, stmt)
		}
		exec(t, e, fmt.Sprintf(
			"INSERT INTO schema_migrations (version, name, applied_at) VALUES (%d, %s, now())",
			m.Version, chdb.Literal(m.Name)))
	}
}

// t0 is 2025-11-21T00:00:00Z in nanoseconds.
const t0 = int64(1763683200) * 1_000_000_000

// seedEvents fires every materialized view: a contact added (with a name),
// messages both ways, a tag, a follow-up, a stage change and a transfer.
var seedEvents = []struct {
	typ, staff, toStaff, direction, tag, name, stage string
	present                                          uint64
	nextAt                                           int64
}{
	{typ: "contact.added", staff: "s1", name: "Ada", present: 128},
	{typ: "chat.message", staff: "s1", direction: "in"},
	{typ: "chat.message", staff: "s1", direction: "out"},
	{typ: "tag.added", staff: "s1", tag: "t1"},
	{typ: "followup.logged", staff: "s1", nextAt: t0 + 86_400_000_000_000},
	{typ: "followup.stage_changed", staff: "s1", stage: "won"},
	{typ: "contact.transferred", staff: "s1", toStaff: "s2"},
	{typ: "tag.defined", name: "VIP", present: 128}, // subject wm_c1 is the tag id here
}

// seed inserts seedEvents and an API key, and checks that the views fired.
func seed(t *testing.T, e *chdb.Engine) {
	t.Helper()
	rows := make([]string, len(seedEvents))
	for i, ev := range seedEvents {
		rows[i] = fmt.Sprintf("('demo', 'wm_c1', %d, 'test', 'e%d', %s, %d, %s, %s, %s, %s, %s, %s, %s, %d)",
			t0+int64(i)*1_000_000_000, i, chdb.Literal(ev.typ), ev.present, chdb.Literal(ev.name),
			chdb.Literal(ev.staff), chdb.Literal(ev.staff), chdb.Literal(ev.toStaff),
			chdb.Literal(ev.direction), chdb.Literal(ev.tag), chdb.Literal(ev.stage), ev.nextAt)
	}
	exec(t, e, "INSERT INTO events (tenant, subject, time_ns, source, id, type, present, name, "+
		"staff_id, from_staff_id, to_staff_id, direction, tag_id, stage, next_at_ns) VALUES "+
		strings.Join(rows, ", "))
	exec(t, e, "INSERT INTO api_keys (key_hash, key_prefix, tenant, role, staff_id, name, revoked, "+
		"created_at, updated_at) VALUES ('0f1e', 'sk_0f', 'demo', 'admin', 's1', 'ci', 0, now(), now())")

	// The views fired: each state table got the seeded contact.
	for _, table := range []string{"profile_state", "relation_events", "contact_tag_state"} {
		n := exec(t, e, "SELECT count() > 0 FROM "+table+" WHERE tenant = 'demo' AND contact_id = 'wm_c1'")
		require.Equal(t, "1\n", n, "materialized view into %s did not fire", table)
	}
	n := exec(t, e, "SELECT count() > 0 FROM tag_library_state WHERE tenant = 'demo' AND tag_id = 'wm_c1'")
	require.Equal(t, "1\n", n, "materialized view into tag_library_state did not fire")
}

// runCatalogueQuery runs q with its sample args bound; it must succeed.
func runCatalogueQuery(t *testing.T, e *chdb.Engine, q sql.CatalogueEntry) {
	rendered, err := chdb.Render(q.SQL, q.Args)
	require.NoError(t, err, "query %s: fix its -- args: line", q.Name)
	out, err := e.Query(rendered, "TSVWithNames")
	require.NoError(t, err, "query %s:\n%s", q.Name, rendered)
	t.Logf("%s:\n%s", q.Name, out)
}

// segmentShapes uses every condition and operator shape a segment compiles
// to, and matches the seeded customer.
const segmentShapes = `{"and":[
	{"tag":{"has":"t1"}}, {"tags":{"any":["t1","x' OR 1=1 --"]}}, {"tags":{"all":["t1"]}},
	{"not":{"tag_group":{"has":"行业"}}}, {"relation_staff":{"any":["s2"]}}, {"lost":false},
	{"field":"name","op":"contains","value":"Ad"}, {"field":"stage","op":"in","value":["won","lost"]},
	{"field":"corp_name","op":"not_in","value":["x"]}, {"field":"channel","op":"!=","value":"x"},
	{"field":"assignee","op":"in","value":["s1",""]},
	{"field":"messages_in","op":">=","value":1}, {"field":"add_way","op":"in","value":[0,16]},
	{"field":"last_inbound_at","op":"within","value":"3650d"}, {"field":"next_followup_at","op":"not_within","value":"1d"},
	{"field":"first_event_at","op":">","value":"2020-01-01T00:00:00Z"}, {"field":"last_outbound_at","op":"exists","value":true},
	{"or":[{"field":"last_followup_at","op":"within_next","value":"7d"},{"field":"unionid","op":"=","value":""}]}]}`

// runCompiledSegment runs a compiled segment's count and page queries, with
// its bound values rendered as literals (numbers bare, as clickhouse-go
// binds them), and checks they find wm_c1.
func runCompiledSegment(t *testing.T, e *chdb.Engine) {
	seg, err := cdp.ParseSegment([]byte(segmentShapes))
	require.NoError(t, err)
	c := cdp.CompileSegment(seg, time.Now())
	args := map[string]any{"tenant": "demo", "after": "", "limit": 10}
	for _, a := range c.Args {
		nv := a.(driver.NamedValue)
		args[nv.Name] = nv.Value
	}
	require.Equal(t, "1\n", exec(t, e, renderBound(t, c.CountSQL(), args)))
	require.Equal(t, "wm_c1\n", exec(t, e, renderBound(t, c.PageSQL(), args)))
	members := map[string]any{"tenant": "demo", "ids": []string{"wm_c1", "x' OR 1=1 --"}, "lo": "wm_c1", "hi": "x' OR 1=1 --"}
	require.True(t, strings.HasPrefix(exec(t, e, renderBound(t, cdp.MembersSQL(), members)), "wm_c1\t"))
}

var placeholder = regexp.MustCompile(`@[A-Za-z0-9_]+`)

func renderBound(t *testing.T, q string, args map[string]any) string {
	return placeholder.ReplaceAllStringFunc(q, func(p string) string {
		v, ok := args[p[1:]]
		require.True(t, ok, "no value for %s", p)
		if s, ok := v.(string); ok {
			return chdb.Literal(s)
		}
		if set, ok := v.([]string); ok {
			lits := make([]string, len(set))
			for i, s := range set {
				lits[i] = chdb.Literal(s)
			}
			return "[" + strings.Join(lits, ", ") + "]"
		}
		return fmt.Sprint(v)
	})
}
