package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/siyu-dev/siyu/adoption"
	"github.com/siyu-dev/siyu/dashboards"
	"github.com/siyu-dev/siyu/internal/progress"
)

// previewFlags choose the data `siyu dashboards preview` draws.
type previewFlags struct {
	st       *StorageConfig // the command's
	from, to string
	tenant   string
}

func (p *previewFlags) bind(fs *flag.FlagSet) {
	p.st.bind(fs)
	fs.StringVar(&p.from, "from", "", "first day to preview, YYYY-MM-DD (Asia/Shanghai); default 29 days before --to (preview)")
	fs.StringVar(&p.to, "to", "", "last day to preview, YYYY-MM-DD; default today (preview)")
	fs.StringVar(&p.tenant, "tenant", "", "preview one tenant; empty: All (preview)")
}

// config turns the flags into a range as Grafana sends it: from the first
// day's midnight to the last second of the last day.
func (p *previewFlags) config(dir string, now time.Time) (dashboards.PreviewConfig, error) {
	to := adoption.DayOf(now)
	if p.to != "" {
		d, err := adoption.ParseDay(p.to)
		if err != nil {
			return dashboards.PreviewConfig{}, fmt.Errorf("%w: --to: %v", errUsage, err)
		}
		to = d
	}
	from := to - 29
	if p.from != "" {
		d, err := adoption.ParseDay(p.from)
		if err != nil {
			return dashboards.PreviewConfig{}, fmt.Errorf("%w: --from: %v", errUsage, err)
		}
		from = d
	}
	cfg := dashboards.PreviewConfig{Dir: dir, From: time.Unix(0, (from - 1).EndNs()), To: time.Unix(0, to.EndNs()).Add(-time.Second),
		Tenant: p.tenant}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("%w: %v", errUsage, err)
	}
	return cfg, nil
}

// previewDashboards draws every panel from live data, with a progress bar
// on stderr and one line per image on stdout.
func previewDashboards(ctx context.Context, dir string, p previewFlags, stdout, stderr io.Writer) error {
	cfg, err := p.config(dir, time.Now())
	if err != nil {
		return err
	}
	conn, err := p.st.open(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	total := 0
	for _, d := range dashboards.All() {
		total += len(d.Panels)
	}
	bar := progress.New(stderr, "dashboards preview", total)
	defer bar.Done()
	rendered, err := dashboards.Preview(ctx, conn, cfg, func(r dashboards.Rendered) {
		fmt.Fprintf(stdout, "%s\t%s · %s (%d rows)\n", filepath.Join(dir, r.File), r.Dashboard.UID, r.Panel.Title, r.Rows)
		bar.Add(1)
	})
	if err != nil {
		return err
	}
	bar.Done()
	fmt.Fprintf(stderr, "previewed %d panel(s) to %s (open %s)\n", len(rendered), dir, filepath.Join(dir, "index.html"))
	return nil
}
