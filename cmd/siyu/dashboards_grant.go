package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/siyu-dev/siyu/dashboards"
	"github.com/siyu-dev/siyu/store"
)

// grafanaPasswordEnv holds the password of Grafana's read-only ClickHouse
// user: for the private server's users.xml, for GRANT, and for the data
// source that apply writes.
const grafanaPasswordEnv = "SIYU_GRAFANA_CLICKHOUSE_PASSWORD"

// grafanaDatabase is the database of Grafana's Distributed tables on
// ClickHouse without SQL access control (docs/decisions.md, "Dashboards").
func grafanaDatabase(db string) string { return db + "_grafana" }

// grantGrafana gives the private server's grafana user its tables when
// `siyu run` was started with a Grafana password; without one there is no
// grafana user and nothing to do.
func grantGrafana(ctx context.Context, conn driver.Conn, st StorageConfig, log *slog.Logger) error {
	if st.dsn != "" || os.Getenv(grafanaPasswordEnv) == "" {
		return nil
	}
	_, _, err := dashboards.Grant(ctx, conn, dashboards.Access{Database: st.database, GrafanaDatabase: grafanaDatabase(st.database)})
	if err == nil {
		log.Info("grafana read-only access granted", "user", store.GrafanaUser, "database", grafanaDatabase(st.database))
	}
	return err
}

// grantDashboards runs `siyu dashboards grant`: it sets up Grafana's
// read-only access on the ClickHouse of st and prints the statements.
func grantDashboards(ctx context.Context, st StorageConfig, stdout, stderr io.Writer) error {
	dsn, err := st.resolveDSN()
	if err != nil {
		return err
	}
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		return fmt.Errorf("parse ClickHouse DSN: %w", err)
	}
	db := opts.Auth.Database // the DSN's, which --database names for a data dir
	conn, err := store.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close()
	a := dashboards.Access{Database: db, GrafanaDatabase: grafanaDatabase(db), Password: os.Getenv(grafanaPasswordEnv)}
	rbac, stmts, err := dashboards.Grant(ctx, conn, a)
	if err != nil {
		return err
	}
	for _, s := range stmts {
		fmt.Fprintln(stdout, s+";")
	}
	if rbac {
		fmt.Fprintf(stderr, "granted: user %s may SELECT %d rollup table(s) of %s; point Grafana at database %s\n",
			store.GrafanaUser, len(dashboards.GrafanaTables), db, db)
		return nil
	}
	fmt.Fprintf(stderr, "granted: %d Distributed table(s) in %s; the server's users.xml must have user %s with "+
		"allow_databases %s (siyu run writes it when $%s is set); point Grafana at database %s\n",
		len(dashboards.GrafanaTables), a.GrafanaDatabase, store.GrafanaUser, a.GrafanaDatabase, grafanaPasswordEnv, a.GrafanaDatabase)
	return nil
}
