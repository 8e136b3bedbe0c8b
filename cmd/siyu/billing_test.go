package main

import (
	"context"
	"fmt"
	"github.com/siyu-dev/siyu/internal/reporting"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/ingest"
	"github.com/siyu-dev/siyu/internal/testenv"
)

// TestBillingExportCLI is `siyu billing export --period --out` on its own:
// the file equals what GET /v1/billing/usage of `siyu serve` answers (CSV
// and JSON), a closed period exports the same bytes twice, and an event
// that arrives late for the period adds an adjustment line while every
// line exported before stays as it was.
func TestBillingExportCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary against ClickHouse")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	conn, dsn := testenv.Database(t)
	_, broker := testenv.Kafka(t)
	// A closed month: two months before now, in the reporting zone.
	month := time.Now().In(reporting.Zone).AddDate(0, -2, 0)
	period := month.Format("2006-01")
	day := func(d, hour int) time.Time {
		return time.Date(month.Year(), month.Month(), d, hour, 0, 0, 0, reporting.Zone)
	}
	insertEvents(t, ctx, conn,
		contactAdded("b1", "t1", "c1", "s1", day(2, 10), 16),
		contactAdded("b2", "t1", "c2", "s1", day(3, 10), 1),
		contactAdded("b3", "t2", "c1", "s9", day(5, 10), 16),
		contactRemoved("b4", "t1", "c2", "s1", day(9, 10)),
	)

	dir := t.TempDir()
	export := func(name, format string) string {
		out := filepath.Join(dir, name)
		cmd := exec.Command(siyuBin, "billing", "export", "--clickhouse-dsn", dsn, "--period", period, "--format", format, "--out", out)
		msg, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", msg)
		require.Contains(t, string(msg), "exported", "a progress line on stderr")
		b, err := os.ReadFile(out)
		require.NoError(t, err)
		return string(b)
	}
	first := export("usage1.csv", "csv")
	require.Equal(t, first, export("usage2.csv", "csv"), "a closed period exports byte for byte the same")
	require.Contains(t, first, "t1:"+period+":peak_contacts,t1,"+period+",peak_contacts,2\n")
	require.Contains(t, first, "t1:"+period+":link_acquisitions,t1,"+period+",link_acquisitions,1\n")
	require.Contains(t, first, "t2:"+period+":link_acquisitions,t2,"+period+",link_acquisitions,1\n")
	require.NotContains(t, first, "adjustment")
	firstJSON := export("usage1.json", "json")

	key := strings.TrimSpace(runSiyu(t, "keys", "create", "--clickhouse-dsn", dsn, "--tenant", "t1", "--role", "platform"))
	addr := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	srv := exec.Command(siyuBin, "serve", "--clickhouse-dsn", dsn, "--kafka-brokers", broker, "--http-addr", addr)
	var log testenv.LockedBuffer
	srv.Stdout, srv.Stderr = &log, &log
	require.NoError(t, srv.Start())
	t.Cleanup(func() {
		_ = srv.Process.Kill()
		_ = srv.Wait()
		if t.Failed() {
			t.Logf("siyu serve output:\n%s", log.String())
		}
	})
	get := func(format string) string {
		var body string
		testenv.Eventually(t, 30*time.Second, func() error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/v1/billing/usage?period="+period+"&format="+format, nil)
			if err != nil {
				return err
			}
			req.Header.Set("Authorization", "Bearer "+key)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil || resp.StatusCode != http.StatusOK {
				return fmt.Errorf("status %d: %s (%v)", resp.StatusCode, b, err)
			}
			body = string(b)
			return nil
		})
		return body
	}
	require.Equal(t, first, get("csv"), "the CLI's file is the API's CSV")
	require.Equal(t, firstJSON, get("json"), "the CLI's file is the API's JSON")

	insertEvents(t, ctx, conn, contactAdded("late-1", "t1", "c3", "s2", day(4, 10), 1))
	later := export("usage3.csv", "csv")
	for _, line := range strings.Split(strings.TrimSpace(first), "\n") {
		require.Contains(t, later, line+"\n", "an exported line never changes")
	}
	require.Contains(t, later, "t1:"+period+":peak_contacts:adjustment:1,t1,"+period+",peak_contacts_adjustment,1\n")
	require.Equal(t, len(strings.Split(first, "\n"))+1, len(strings.Split(later, "\n")), "one adjustment, nothing else")
}

func runSiyu(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(siyuBin, args...).Output()
	require.NoError(t, err, "siyu %v", args)
	return string(out)
}

// insertEvents writes events straight into ClickHouse, as ingest does.
func insertEvents(t *testing.T, ctx context.Context, conn driver.Conn, evs ...event.Event) {
	t.Helper()
	b := ingest.NewBuilder(nil)
	defer b.Release()
	for i := range evs {
		b.Append(&evs[i])
	}
	rec := b.NewRecord()
	defer rec.Release()
	require.NoError(t, ingest.NewWriter(conn).Write(ctx, rec))
}

func contactAdded(id, tenant, contact, staff string, at time.Time, addWay int64) event.Event {
	e := event.Event{ID: id, Source: "test", Type: event.ContactAdded, Tenant: tenant, Subject: contact, Time: at}
	e.Data.Set(event.FStaffID, staff)
	e.Data.SetInt(event.FAddWay, addWay)
	return e
}

func contactRemoved(id, tenant, contact, staff string, at time.Time) event.Event {
	e := event.Event{ID: id, Source: "test", Type: event.ContactRemoved, Tenant: tenant, Subject: contact, Time: at}
	e.Data.Set(event.FStaffID, staff)
	e.Data.Set(event.FBy, "customer")
	return e
}
