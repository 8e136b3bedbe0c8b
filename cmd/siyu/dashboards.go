package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/siyu-dev/siyu/dashboards"
)

// grafanaTokenEnv holds the Grafana service account token: `siyu dashboards
// apply` provisions with it, `siyu serve --grafana-url` checks with it
// (flag --grafana-token) that what apply provisioned is there.
const grafanaTokenEnv = "SIYU_GRAFANA_TOKEN"

// folderUID is the uid of the Grafana folder apply writes into; it stays the
// same whatever --folder says, so renaming the folder does not duplicate it.
const folderUID = "siyu"

// dashboardsCommand writes the Grafana dashboards and provisioning files, or
// applies them to a running Grafana through its HTTP API (issue 6).
func dashboardsCommand(stdout, stderr io.Writer) *command {
	var dir string
	var ch dashboards.ClickHouse
	cfg := DefaultConfig()
	pv := previewFlags{st: &cfg.Storage}
	g := dashboards.Grafana{FolderUID: folderUID}
	return &command{
		config: &cfg,
		name:   "dashboards", summary: "export or apply the Grafana dashboards",
		usage: "export --dir DIR | apply --grafana-url URL --token TOKEN [--folder NAME] | preview --dir DIR [--from DAY] [--to DAY] [--tenant T] | grant",
		detail: "export writes DIR/dashboards/<uid>.json for each dashboard, and Grafana provisioning files:\n" +
			"DIR/provisioning/datasources/siyu.yaml (the ClickHouse data source, uid " + dashboards.Datasource.UID + ")\n" +
			"and DIR/provisioning/dashboards/siyu.yaml (a file provider reading DIR/dashboards).\n" +
			"Grafana reads the ClickHouse password from $SIYU_GRAFANA_CLICKHOUSE_PASSWORD.\n\n" +
			"apply creates or updates, through Grafana's HTTP API, the ClickHouse data source, the folder\n" +
			"(uid " + folderUID + ") and every dashboard; unchanged objects are not written, so applying twice\n" +
			"changes nothing. TOKEN is a service account token (Editor for dashboards, Admin for data sources);\n" +
			"the data source password is read from $SIYU_GRAFANA_CLICKHOUSE_PASSWORD.\n\n" +
			"preview runs every panel's SQL on ClickHouse (--clickhouse-dsn, or the server of --data-dir) for\n" +
			"the days --from … --to (Asia/Shanghai, default the last 30 days) and writes one PNG per panel,\n" +
			"DIR/<dashboard uid>-<panel id>.png, and DIR/index.html listing them.\n\n" +
			"grant gives Grafana's ClickHouse user (grafana) read access to the rollups the dashboards read and\n" +
			"nothing else: with SQL access control, CREATE USER and GRANT SELECT in --database (password from\n" +
			"$SIYU_GRAFANA_CLICKHOUSE_PASSWORD); on ClickHouse 18.16, Distributed tables in <database>_grafana,\n" +
			"the one database the grafana user of siyu run's server may read.",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&dir, "dir", "", "directory to write into (export)")
			fs.StringVar(&g.URL, "grafana-url", "", "Grafana base URL (apply)")
			fs.StringVar(&g.Token, "token", "", "Grafana service account token (apply); empty: $SIYU_GRAFANA_TOKEN, which siyu serve's Grafana check reads too")
			fs.StringVar(&g.FolderTitle, "folder", "Siyu", "Grafana folder title for the dashboards (apply)")
			fs.StringVar(&ch.Host, "grafana-clickhouse-host", "localhost", "ClickHouse host as Grafana reaches it")
			fs.IntVar(&ch.Port, "grafana-clickhouse-port", 9000, "ClickHouse native port as Grafana reaches it")
			fs.StringVar(&ch.Database, "grafana-clickhouse-database", grafanaDatabase(defaultDatabase),
				"ClickHouse database Grafana reads: <database>_grafana on 18.16, the Siyu database where GRANT exists")
			fs.StringVar(&ch.Username, "grafana-clickhouse-username", "grafana", "ClickHouse user Grafana connects as (siyu dashboards grant)")
			pv.bind(fs)
		},
		run: func(ctx context.Context, args []string) error {
			if err := ch.Validate(); err != nil {
				return fmt.Errorf("%w: %v", errUsage, err)
			}
			switch {
			case len(args) == 1 && args[0] == "export":
				return exportDashboards(dir, ch, stdout, stderr)
			case len(args) == 1 && args[0] == "apply":
				g.Password = os.Getenv("SIYU_GRAFANA_CLICKHOUSE_PASSWORD")
				g.Token = cmp.Or(g.Token, os.Getenv(grafanaTokenEnv))
				return applyDashboards(ctx, g, ch, stdout)
			case len(args) == 1 && args[0] == "preview":
				return previewDashboards(ctx, dir, pv, stdout, stderr)
			case len(args) == 1 && args[0] == "grant":
				return grantDashboards(ctx, *pv.st, stdout, stderr)
			}
			return fmt.Errorf("%w: want `siyu dashboards export --dir DIR` or `siyu dashboards apply --grafana-url URL --token TOKEN` or `siyu dashboards preview --dir DIR`", errUsage)
		},
	}
}

func exportDashboards(dir string, ch dashboards.ClickHouse, stdout, stderr io.Writer) error {
	if dir == "" {
		return fmt.Errorf("%w: --dir is required", errUsage)
	}
	written, err := dashboards.Export(dir, ch)
	if err != nil {
		return err
	}
	for _, p := range written {
		fmt.Fprintln(stdout, p)
	}
	fmt.Fprintf(stderr, "exported %d dashboard(s) and provisioning to %s\n", len(dashboards.All()), dir)
	return nil
}

// applyDashboards prints one line per object: "created dashboard siyu-adoption".
func applyDashboards(ctx context.Context, g dashboards.Grafana, ch dashboards.ClickHouse, stdout io.Writer) error {
	if err := g.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	changes, err := dashboards.Apply(ctx, g, ch)
	for _, c := range changes {
		fmt.Fprintln(stdout, c)
	}
	return err
}
