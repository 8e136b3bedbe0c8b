package dashboards_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/dashboards"
	"github.com/siyu-dev/siyu/internal/testenv"
	"github.com/siyu-dev/siyu/store"
)

// tableRef finds the tables a query reads (a "(" after FROM/JOIN is a subquery).
var tableRef = regexp.MustCompile(`(?i)\b(?:FROM|JOIN)\s+([A-Za-z_][A-Za-z0-9_.]*)`)

// TestPanelsReadOnlyGrafanaTables: every panel and variable reads only the
// tables Grafana's user may read, unqualified, so the same SQL runs in the
// Siyu database (with GRANT) and in the grafana database (18.16).
func TestPanelsReadOnlyGrafanaTables(t *testing.T) {
	for _, d := range dashboards.All() {
		queries := []string{}
		for _, v := range d.Templating.List {
			queries = append(queries, v.Query)
		}
		for _, p := range d.Panels {
			queries = append(queries, p.Targets[0].RawSQL)
		}
		for _, q := range queries {
			for _, m := range tableRef.FindAllStringSubmatch(q, -1) {
				require.Contains(t, dashboards.GrafanaTables, m[1], "%s reads %s:\n%s", d.UID, m[1], q)
			}
		}
	}
}

func TestGrantStatements(t *testing.T) {
	a := dashboards.Access{Database: "siyu", GrafanaDatabase: "siyu_grafana", Password: "s3cret"}
	rbac, err := dashboards.GrantStatements(a, true)
	require.NoError(t, err)
	require.Len(t, rbac, 1+len(dashboards.GrafanaTables))
	require.Contains(t, rbac[0], "CREATE USER IF NOT EXISTS grafana IDENTIFIED WITH sha256_hash BY '")
	require.Contains(t, rbac[0], "SETTINGS readonly = 1")
	for _, tbl := range dashboards.GrafanaTables {
		require.Contains(t, rbac, "GRANT SELECT ON siyu."+tbl+" TO grafana")
	}
	require.NotContains(t, strings.Join(rbac, "\n"), "s3cret", "the password is sent as its hash")

	dist, err := dashboards.GrantStatements(a, false)
	require.NoError(t, err)
	require.Equal(t, "CREATE DATABASE IF NOT EXISTS siyu_grafana", dist[0])
	require.Contains(t, dist, "CREATE TABLE siyu_grafana.relation_events AS siyu.relation_events ENGINE = Distributed(siyu_grafana, siyu, relation_events)")
	require.Contains(t, dist, "DROP TABLE IF EXISTS siyu_grafana.dash_chat_messages", "a retired rollup's table goes")

	for _, bad := range []dashboards.Access{
		{Database: "siyu; DROP", GrafanaDatabase: "g", Password: "x"},
		{Database: "siyu", GrafanaDatabase: "g`x", Password: "x"},
		{Database: "siyu", GrafanaDatabase: "siyu", Password: "x"},
	} {
		_, err := dashboards.GrantStatements(bad, false)
		require.Error(t, err, "%+v", bad)
	}
	_, err = dashboards.GrantStatements(dashboards.Access{Database: "siyu"}, true)
	require.ErrorContains(t, err, "password")
}

// TestGrafanaUserOn1816 starts a private ClickHouse 18.16 with the grafana
// user, grants it the rollups, and checks that it reads every panel exactly
// as the default user does, and can read nothing else and write nothing.
func TestGrafanaUserOn1816(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a ClickHouse server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cfg := store.ServerConfig{Dir: t.TempDir(), TCPPort: testenv.FreePort(t), HTTPPort: testenv.FreePort(t),
		GrafanaDatabase: "siyu_grafana", GrafanaPassword: "pw"}
	srv, err := store.StartServer(ctx, cfg, testenv.Logger())
	require.NoError(t, err)
	defer srv.Stop(10 * time.Second) //nolint:errcheck

	admin, err := store.Open(ctx, srv.DSN("siyu"))
	require.NoError(t, err)
	defer admin.Close()
	_, err = store.Migrate(ctx, admin, testenv.Logger())
	require.NoError(t, err)
	require.NoError(t, admin.Exec(ctx, seedEvents))
	rbac, _, err := dashboards.Grant(ctx, admin, dashboards.Access{Database: "siyu", GrafanaDatabase: "siyu_grafana"})
	require.NoError(t, err)
	require.False(t, rbac, "18.16 has no SQL access control")

	grafana, err := clickhouse.Open(&clickhouse.Options{Addr: []string{srv.Addr()},
		Auth: clickhouse.Auth{Database: "siyu_grafana", Username: "grafana", Password: "pw"}})
	require.NoError(t, err)
	defer grafana.Close()

	from := time.Date(2026, 9, 1, 0, 0, 0, 0, cst)
	cfgs := map[string]dashboards.PreviewConfig{
		"all": {Dir: t.TempDir(), From: from, To: from.AddDate(0, 0, 20).Add(-time.Second)},
		"one": {Dir: t.TempDir(), From: from, To: from.AddDate(0, 0, 20).Add(-time.Second), Tenant: "t0001"},
	}
	rows := 0
	for name, c := range cfgs {
		got, err := dashboards.Preview(ctx, grafana, c, nil)
		require.NoError(t, err, name)
		c.Dir = t.TempDir()
		want, err := dashboards.Preview(ctx, admin, c, nil)
		require.NoError(t, err, name)
		require.Equal(t, len(want), len(got))
		for i := range want {
			require.Equal(t, want[i].Rows, got[i].Rows, "%s %s", name, want[i].Panel.Title)
			rows += got[i].Rows
		}
		samePanels(t, ctx, admin, grafana, c)
	}
	require.Greater(t, rows, 50, "the comparison must not be vacuous")

	denied(t, ctx, grafana, "SELECT count() FROM siyu.events", "Access denied")
	denied(t, ctx, grafana, "SELECT count() FROM siyu.api_keys", "Access denied")
	denied(t, ctx, grafana, "SELECT count() FROM siyu.staff_active_days", "Access denied")
	denied(t, ctx, grafana, "SELECT count() FROM remote('127.0.0.1', siyu.events)", "readonly")
	denied(t, ctx, grafana, "CREATE TABLE siyu_grafana.x (a UInt8) ENGINE = Memory", "readonly")
	denied(t, ctx, grafana, "DROP TABLE siyu_grafana.relation_events", "readonly")
	denied(t, ctx, grafana, "SET prefer_localhost_replica = 1", "readonly")
	err = store.Insert(ctx, grafana, "INSERT INTO siyu_grafana.staff_active_days (tenant, day, staff_id)",
		[]any{"t0001", time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC), "s9"})
	require.ErrorContains(t, err, "readonly")
}

// samePanels runs every panel as both users and compares the answers.
func samePanels(t *testing.T, ctx context.Context, admin, grafana driver.Conn, c dashboards.PreviewConfig) {
	for _, d := range dashboards.All() {
		vars := map[string]dashboards.Value{"tenant": {All: true, Values: []string{"t0001", "t0002"}},
			"plan": {Values: []string{"pro"}}}
		if c.Tenant != "" {
			vars["tenant"] = dashboards.Value{Values: []string{c.Tenant}}
		}
		for _, p := range d.Panels {
			q, err := dashboards.Expand(p.Targets[0].RawSQL, dashboards.Request{From: c.From, To: c.To, Interval: 24 * time.Hour, Vars: vars})
			require.NoError(t, err)
			want, err := dashboards.QueryResult(ctx, admin, q)
			require.NoError(t, err, q)
			got, err := dashboards.QueryResult(ctx, grafana, q)
			require.NoError(t, err, q)
			require.Equal(t, want, got, "%s %s", d.UID, p.Title)
		}
	}
}

func denied(t *testing.T, ctx context.Context, conn driver.Conn, q, reason string) {
	err := conn.Exec(ctx, q)
	require.Error(t, err, q)
	require.Contains(t, strings.ToLower(err.Error()), strings.ToLower(reason), q)
}

// seedEvents writes 400 events of every kind the rollups read, over two
// tenants and 17 days, through the materialized views.
const seedEvents = `INSERT INTO events (tenant, subject, time_ns, source, id, type, present, staff_id, from_staff_id,
    to_staff_id, removed_by, direction, state, plan, paid, add_way, contact_cap, reason, stage, next_at_ns)
SELECT if(number % 2 = 0, 't0001', 't0002'), concat('c', toString(intDiv(number, 2) % 40)),
    toInt64(1788192000 + number * 3600) * 1000000000, 'test', concat('e', toString(number)),
    ['contact.added', 'chat.message', 'chat.message', 'contact.removed', 'staff.active', 'subscription.changed',
     'followup.logged', 'followup.stage_changed', 'assignee.changed'][number % 9 + 1],
    toUInt64(0), concat('s', toString(number % 3)), '', 's1', 'customer', if(number % 12 < 6, 'in', 'out'), 'qr', 'pro', 1,
    if(number % 4 = 0, 16, 1), 5, if(number % 4 < 2, 'claim', 'recycle'), 'contacted',
    toInt64(1788192000 + number * 3600 + 86400) * 1000000000
FROM system.numbers LIMIT 400`
