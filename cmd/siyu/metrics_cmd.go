package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/siyu-dev/siyu/adoption"
	"github.com/siyu-dev/siyu/internal/progress"
)

// metricsCommand re-derives the metrics' day rollups from the event log
// (docs/decisions.md, "Metrics").
func metricsCommand(stdout, stderr io.Writer) *command {
	cfg := DefaultConfig()
	st := &cfg.Storage
	return &command{
		config: &cfg,
		name:   "metrics", summary: "re-derive the metrics' day rollups from the events", usage: "rebuild",
		detail: "Folds every stored event again into staff_active_days, customer_active_days and the\n" +
			"active-bits rollups, a month at a time with progress on stderr. The rollups are idempotent:\n" +
			"safe while ingest runs and when repeated; it restores missing rows and never doubles any.",
		flags: func(fs *flag.FlagSet) { st.bind(fs) },
		run: func(ctx context.Context, args []string) error {
			if len(args) != 1 || args[0] != "rebuild" {
				return fmt.Errorf("%w: want `siyu metrics rebuild`", errUsage)
			}
			conn, err := st.open(ctx)
			if err != nil {
				return err
			}
			defer conn.Close()
			var bar *progress.Bar
			err = adoption.Rebuild(ctx, conn, func(done, total int) {
				if bar == nil {
					bar = progress.New(stderr, "metrics rebuild (months)", total)
				}
				bar.Set(done)
			})
			if bar != nil {
				bar.Done()
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, "metrics rollups rebuilt from events")
			return nil
		},
	}
}
