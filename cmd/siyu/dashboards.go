package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/siyu-dev/siyu/dashboards"
)

// dashboardsCommand writes the Grafana dashboards and provisioning files
// (issue 6). Only export exists so far: apply and preview are not built.
func dashboardsCommand(stdout, stderr io.Writer) *command {
	var dir string
	var ch dashboards.ClickHouse
	return &command{
		name: "dashboards", summary: "export the Grafana dashboards and provisioning files", usage: "export --dir DIR",
		detail: "Writes DIR/dashboards/<uid>.json for each dashboard, and Grafana provisioning files:\n" +
			"DIR/provisioning/datasources/siyu.yaml (the ClickHouse data source, uid " + dashboards.Datasource.UID + ")\n" +
			"and DIR/provisioning/dashboards/siyu.yaml (a file provider reading DIR/dashboards).\n" +
			"Grafana reads the ClickHouse password from $SIYU_GRAFANA_CLICKHOUSE_PASSWORD.",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&dir, "dir", "", "directory to write into")
			fs.StringVar(&ch.Host, "grafana-clickhouse-host", "localhost", "ClickHouse host as Grafana reaches it")
			fs.IntVar(&ch.Port, "grafana-clickhouse-port", 9000, "ClickHouse native port as Grafana reaches it")
			fs.StringVar(&ch.Database, "grafana-clickhouse-database", defaultDatabase, "ClickHouse database Grafana reads")
			fs.StringVar(&ch.Username, "grafana-clickhouse-username", "default", "ClickHouse user Grafana connects as")
		},
		run: func(ctx context.Context, args []string) error {
			if len(args) != 1 || args[0] != "export" {
				return fmt.Errorf("%w: want `siyu dashboards export --dir DIR`", errUsage)
			}
			if dir == "" {
				return fmt.Errorf("%w: --dir is required", errUsage)
			}
			if err := ch.Validate(); err != nil {
				return fmt.Errorf("%w: %v", errUsage, err)
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
		},
	}
}
