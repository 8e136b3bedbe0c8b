package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/siyu-dev/siyu/internal/progress"
	"github.com/siyu-dev/siyu/metering"
	"github.com/siyu-dev/siyu/store"
)

// billingCommand exports a billing period's usage lines, as
// GET /v1/billing/usage does (docs/decisions.md, "Metering").
func billingCommand(stdout, stderr io.Writer) *command {
	cfg := DefaultConfig()
	st := &cfg.Storage
	var period, out, format, tenant string
	return &command{
		config: &cfg,
		name:   "billing", summary: "export a billing period's usage lines", usage: "export --period YYYY-MM --out FILE [--format csv|json] [--tenant T]",
		detail: "Per tenant: peak_contacts, peak_over_cap and link_acquisitions, keyed tenant:period:meter.\n" +
			"The first export of a closed period is recorded in ClickHouse; exporting it again gives the\n" +
			"same lines, byte for byte, plus adjustment lines when late events moved a figure.\n" +
			"--out - writes to stdout. A progress line goes to stderr.",
		flags: func(fs *flag.FlagSet) {
			st.bind(fs)
			fs.StringVar(&period, "period", "", "the billing period, a month: YYYY-MM, of the years 2000–2100")
			fs.StringVar(&out, "out", "", "file to write (- for stdout)")
			fs.StringVar(&format, "format", "csv", "csv or json")
			fs.StringVar(&tenant, "tenant", "", "one tenant; empty: every tenant")
		},
		run: func(ctx context.Context, args []string) error {
			if len(args) != 1 || args[0] != "export" {
				return fmt.Errorf("%w: want `siyu billing export --period YYYY-MM --out FILE`", errUsage)
			}
			p, err := metering.ParsePeriod(period)
			if err != nil {
				return fmt.Errorf("%w: --period: %v", errUsage, err)
			}
			if out == "" {
				return fmt.Errorf("%w: --out is required (- for stdout)", errUsage)
			}
			if format != "csv" && format != "json" {
				return fmt.Errorf("%w: --format must be csv or json", errUsage)
			}
			dsn, err := st.resolveDSN()
			if err != nil {
				return err
			}
			bar := progress.New(stderr, "billing export "+p.String(), 3)
			defer bar.Done()
			conn, err := store.Open(ctx, dsn)
			if err != nil {
				return err
			}
			defer conn.Close()
			bar.Add(1)
			u, err := metering.NewService(conn, nil).Usage(ctx, tenant, p)
			if err != nil {
				return err
			}
			bar.Add(1)
			if err := writeUsage(out, stdout, format, u); err != nil {
				return err
			}
			bar.Add(1)
			bar.Done()
			fmt.Fprintf(stderr, "exported %d usage line(s) of %s (closed: %t) to %s\n", len(u.Lines), p, u.Closed, out)
			return nil
		},
	}
}

// writeUsage renders u and writes it to path (- for stdout), through a
// temporary file renamed into place so a reader never sees half a file.
func writeUsage(path string, stdout io.Writer, format string, u metering.Usage) error {
	var buf bytes.Buffer
	var err error
	if format == "json" {
		err = metering.WriteJSON(&buf, u)
	} else {
		err = metering.WriteCSV(&buf, u)
	}
	if err != nil {
		return fmt.Errorf("render usage: %w", err)
	}
	if path == "-" {
		_, err := stdout.Write(buf.Bytes())
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".siyu-billing-*")
	if err != nil {
		return fmt.Errorf("write usage: %w", err)
	}
	defer os.Remove(tmp.Name()) //nolint:errcheck // gone after the rename
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("write usage: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write usage: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write usage: %w", err)
	}
	return nil
}
