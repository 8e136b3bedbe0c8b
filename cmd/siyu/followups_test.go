package main

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/siyu-dev/siyu/internal/reporting"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/ingest"
	"github.com/siyu-dev/siyu/internal/testenv"
)

// TestFollowupsDigestCLI: the daily job prints each rep's due and overdue
// follow-ups of a day, per tenant.
func TestFollowupsDigestCLI(t *testing.T) {
	ctx := context.Background()
	conn, dsn := testenv.Database(t)
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	at := func(h int) time.Time { return time.Date(2026, 3, 2, h, 0, 0, 0, reporting.Zone) }
	var evs []event.Event
	add := func(tenant, contact, staff string, typ event.Type, t time.Time, next time.Time) {
		e := event.Event{ID: "e" + tenant + contact + string(typ), Source: "test", Tenant: tenant, Subject: contact, Type: typ, Time: t}
		e.Data.Set(event.FStaffID, staff)
		if !next.IsZero() {
			e.Data.SetTime(event.FNextAt, next)
		}
		evs = append(evs, e)
	}
	for _, c := range []struct{ tenant, contact, staff string }{{"acme", "c1", "s1"}, {"acme", "c2", "s2"}, {"acme", "c3", "s1"}, {"globex", "c9", "g1"}} {
		add(c.tenant, c.contact, c.staff, event.ContactAdded, at(-100), time.Time{})
	}
	add("acme", "c1", "s1", event.FollowupLogged, at(-50), at(15))  // due on the day
	add("acme", "c2", "s2", event.FollowupLogged, at(-50), at(-1))  // overdue at its start
	add("acme", "c3", "s1", event.FollowupLogged, at(-50), at(25))  // the next day
	add("globex", "c9", "g1", event.FollowupLogged, at(-50), at(9)) // another tenant
	b := ingest.NewBuilder(nil)
	defer b.Release()
	dec := event.NewDecoder(nil)
	for i := range evs {
		ev, err := dec.Decode(event.AppendJSON(nil, &evs[i]))
		require.NoError(t, err)
		b.Append(ev)
	}
	rec := b.NewRecord()
	defer rec.Release()
	require.NoError(t, ingest.NewWriter(conn).Write(ctx, rec))

	out := filepath.Join(t.TempDir(), "digest.json")
	var stdout, stderr bytes.Buffer
	code := run([]string{"followups", "digest", "--clickhouse-dsn", dsn, "--tenant", "acme", "--date", day.Format(time.DateOnly), "--out", out}, &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	require.Equal(t, "s1: 1 due, 0 overdue\ns2: 0 due, 1 overdue\n", stderr.String())
	raw, err := os.ReadFile(out)
	require.NoError(t, err)
	var d digestFile
	require.NoError(t, json.Unmarshal(raw, &d))
	require.Equal(t, "acme", d.Tenant)
	require.Equal(t, "2026-03-02", d.Date)
	require.Len(t, d.Reps, 2)
	require.Equal(t, "c1", d.Reps[0].Due[0].ContactID)
	require.Equal(t, "c2", d.Reps[1].Overdue[0].ContactID)

	require.Equal(t, 2, run([]string{"followups", "digest", "--clickhouse-dsn", dsn}, &stdout, &stderr), "a tenant is required")
	require.Equal(t, 2, run([]string{"followups", "digest", "--clickhouse-dsn", dsn, "--tenant", "acme", "--date", "03/02"}, &stdout, &stderr))
}
