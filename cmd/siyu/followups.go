package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/siyu-dev/siyu/internal/reporting"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/followup"
)

// digestFile is what `siyu followups digest` writes: the body of
// GET /v1/followups/digest, with the tenant.
type digestFile struct {
	Tenant string               `json:"tenant"`
	Date   string               `json:"date"`
	Reps   []followup.RepDigest `json:"reps"`
}

// followupsCommand runs the daily digest of due and overdue follow-ups, for
// a scheduler (cron, a Kubernetes CronJob) to hand to mail or WeCom messages.
func followupsCommand(stdout, stderr io.Writer) *command {
	cfg := DefaultConfig()
	st := &cfg.Storage
	var tenant, date, staff, out string
	return &command{
		config: &cfg,
		name:   "followups", summary: "print the daily digest of due and overdue follow-ups per rep", usage: "digest --tenant T [--date YYYY-MM-DD] [--staff-id S] [--out FILE]",
		detail: "Per rep of the tenant: the customers whose next follow-up falls on --date (a day in\n" +
			"Asia/Shanghai, default today) and those overdue at its start, as JSON (the body of\n" +
			"GET /v1/followups/digest plus the tenant). One line per rep goes to stderr. --out - (the\n" +
			"default) writes to stdout; a file is written whole (temporary file, then rename).",
		flags: func(fs *flag.FlagSet) {
			st.bind(fs)
			fs.StringVar(&tenant, "tenant", "", "the tenant (required)")
			fs.StringVar(&date, "date", "", "the day, YYYY-MM-DD; empty: today in Asia/Shanghai")
			fs.StringVar(&staff, "staff-id", "", "one rep; empty: every rep")
			fs.StringVar(&out, "out", "-", "file to write (- for stdout)")
		},
		run: func(ctx context.Context, args []string) error {
			if len(args) != 1 || args[0] != "digest" {
				return fmt.Errorf("%w: want `siyu followups digest --tenant T`", errUsage)
			}
			if !event.ValidTenant(tenant) {
				return fmt.Errorf("%w: --tenant %q: want a tenant id", errUsage, tenant)
			}
			day, err := digestDate(date, time.Now())
			if err != nil {
				return err
			}
			conn, err := st.open(ctx)
			if err != nil {
				return err
			}
			defer conn.Close()
			reps, err := followup.NewReader(conn).DailyDigest(ctx, tenant, followup.Scope{StaffID: staff}, day)
			if err != nil {
				return err
			}
			for _, r := range reps {
				fmt.Fprintf(stderr, "%s: %d due, %d overdue\n", r.StaffID, r.DueCount, r.OverdueCount)
			}
			return writeDigest(out, stdout, digestFile{Tenant: tenant, Date: day.Format(time.DateOnly), Reps: reps})
		},
	}
}

// digestDate parses --date; empty is today in Asia/Shanghai.
func digestDate(s string, now time.Time) (time.Time, error) {
	if s == "" {
		n := now.In(reporting.Zone)
		return time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, time.UTC), nil
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: --date %q: want YYYY-MM-DD", errUsage, s)
	}
	return d, nil
}

func writeDigest(path string, stdout io.Writer, d digestFile) error {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if path == "-" {
		_, err := stdout.Write(b)
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".digest-*")
	if err != nil {
		return fmt.Errorf("write digest: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write digest: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write digest: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write digest: %w", err)
	}
	return nil
}
