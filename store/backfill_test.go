package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/ingest"
	"github.com/siyu-dev/siyu/internal/testenv"
	"github.com/siyu-dev/siyu/loadgen"
	"github.com/siyu-dev/siyu/store"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// rollups reads every derived table in a canonical text form.
var rollups = []string{
	`SELECT DISTINCT tenant, toString(day), staff_id FROM staff_active_days ORDER BY tenant, day, staff_id`,
	`SELECT DISTINCT tenant, toString(day), contact_id FROM customer_active_days ORDER BY tenant, day, contact_id`,
	`SELECT DISTINCT tenant, toString(time_ns), id, plan, toString(paid) FROM subscription_changes ORDER BY tenant, time_ns, id`,
	`SELECT DISTINCT tenant, contact_id, staff_id, toString(time_ns), id, toString(live) FROM relation_events ORDER BY tenant, contact_id, staff_id, time_ns, id`,
	`SELECT tenant, tag_id, argMaxMerge(name), argMaxMerge(tag_group), toString(argMaxMerge(deleted)) FROM tag_library_state GROUP BY tenant, tag_id ORDER BY tenant, tag_id`,
	`SELECT tenant, contact_id, toString(argMinMerge(add_way)), argMinMerge(channel), argMinMerge(staff_id) FROM acquisition_state GROUP BY tenant, contact_id ORDER BY tenant, contact_id`,
	`SELECT tenant, contact_id, toString(day), toString(uniqExactIfMerge(msgs_in)), toString(uniqExactIfMerge(msgs_out)), toString(uniqExactIfMerge(followups)), toString(argMaxIfMerge(gender)), argMaxIfMerge(phone) FROM contact_day_state GROUP BY tenant, contact_id, day ORDER BY tenant, contact_id, day`,
	`SELECT DISTINCT tenant, node, peer, kind, toString(dir) FROM identity_links ORDER BY tenant, node, peer, kind, dir`,
	`SELECT tenant, contact_id, toString(minMerge(first_ns)), toString(maxMerge(last_ns)), argMaxIfMerge(name), argMaxIfMerge(unionid), toString(uniqExactIfMerge(msgs_in)), toString(uniqExactIfMerge(msgs_out)), argMaxIfMerge(stage), toString(argMaxIfMerge(next_followup_ns)) FROM profile_state GROUP BY tenant, contact_id ORDER BY tenant, contact_id`,
	`SELECT tenant, contact_id, toString(kind), toString(sort_ns), toString(key_ns), key_id, key_source, staff, toString(next_ns), toString(max(last_ns)) FROM contact_facts GROUP BY tenant, contact_id, kind, sort_ns, key_ns, key_id, key_source, staff, next_ns ORDER BY tenant, contact_id, kind, sort_ns, key_ns, key_id, key_source`,
	`SELECT DISTINCT tenant, staff, contact_id, toString(time_ns), id, reason, toString(holds) FROM assignee_events ORDER BY tenant, staff, contact_id, time_ns, id, holds`,
	`SELECT tenant, staff_id, toString(day), contact_id, toString(minIfMerge(first_in_ns)), toString(minIfMerge(first_out_ns)), argMinIfMerge(first_direction), toString(uniqExactIfMerge(out_messages)), toString(maxMerge(added)), toString(maxMerge(removed_by_customer)) FROM rep_chat_days GROUP BY tenant, staff_id, day, contact_id ORDER BY tenant, staff_id, day, contact_id`,
	`SELECT DISTINCT tenant, type, subject, toString(time_ns), id, staff_id, stage, stages, toString(deleted) FROM followup_facts ORDER BY tenant, type, subject, time_ns, id`,
	`SELECT tenant, staff_id, toString(block), toString(groupBitOrMerge(bits)) FROM staff_active_bits GROUP BY tenant, staff_id, block ORDER BY tenant, staff_id, block`,
	`SELECT tenant, contact_id, toString(block), toString(groupBitOrMerge(bits)) FROM customer_active_bits GROUP BY tenant, contact_id, block ORDER BY tenant, contact_id, block`,
	`SELECT tenant, tag_id, contact_id, toString(argMaxMerge(present)) FROM tag_member_state GROUP BY tenant, tag_id, contact_id ORDER BY tenant, tag_id, contact_id`,
	`SELECT tenant, segment_id, argMaxMerge(name), argMaxMerge(definition), toString(argMaxMerge(deleted)) FROM segment_state GROUP BY tenant, segment_id ORDER BY tenant, segment_id`,
	`SELECT tenant, job_id, argMaxMerge(kind), argMaxMerge(state), toString(argMaxMerge(processed)), toString(argMaxMerge(total)), argMaxMerge(error) FROM job_state GROUP BY tenant, job_id ORDER BY tenant, job_id`,
	`SELECT DISTINCT tenant, contact_id, toString(time_ns), id, source, staff_id, toString(next_at_ns) FROM followup_logs ORDER BY tenant, contact_id, time_ns, id, source`,
}

// TestBackfillRollups: a database that stored events before the rollup
// migrations existed ends up, once migrated, with exactly the rollups of a
// database whose views saw the same events arrive.
func TestBackfillRollups(t *testing.T) {
	ctx := context.Background()
	g, err := loadgen.New(loadgen.Config{Seed: 5, Tenants: 2, StaffPerTenant: 8, ContactsPerTenant: 300,
		Events: 8000, PaidShare: 0.5})
	require.NoError(t, err)
	var evs []event.Event
	var e event.Event
	for g.Next(&e) {
		evs = append(evs, e.Clone())
	}
	evs = append(evs, assigneeChanges(evs)...)
	evs = append(evs, followupDayEvents()...)
	evs = append(evs, segmentAndJobEvents()...)

	old := openDB(t, ctx)
	_, err = store.MigrateTo(ctx, old, testenv.Logger(), 4) // before any rollup
	require.NoError(t, err)
	write(t, ctx, old, evs)
	_, err = store.Migrate(ctx, old, testenv.Logger())
	require.NoError(t, err)

	live, _ := testenv.Database(t)
	write(t, ctx, live, evs)

	for _, q := range rollups {
		want, got := dump(t, ctx, live, q), dump(t, ctx, old, q)
		require.NotEmpty(t, want, q)
		require.Equal(t, want, got, q)
	}
}

// assigneeChanges moves every tenth added customer to the pool and every
// twentieth to another rep (the load generator has no assignee.changed).
func assigneeChanges(evs []event.Event) []event.Event {
	var out []event.Event
	for i, e := range evs {
		if e.Type != event.ContactAdded || i%10 != 0 {
			continue
		}
		ch := event.Event{ID: fmt.Sprintf("assign-%d", i), Source: "test", Type: event.AssigneeChanged,
			Tenant: e.Tenant, Subject: e.Subject, Time: e.Time.Add(time.Minute)}
		ch.Data.Set(event.FReason, "release")
		ch.Data.Set(event.FFromStaffID, e.Data.StaffID)
		if i%20 == 0 {
			ch.Data.Set(event.FReason, "assign")
			ch.Data.Set(event.FToStaffID, "s-other")
		}
		out = append(out, ch)
	}
	return out
}

func openDB(t *testing.T, ctx context.Context) driver.Conn {
	t.Helper()
	conn, err := store.Open(ctx, store.DSN(testenv.ClickHouseAddr(t), testenv.DatabaseName(t)))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return conn
}

// write inserts events the way the pipeline does: one Arrow batch.
func write(t *testing.T, ctx context.Context, conn driver.Conn, evs []event.Event) {
	t.Helper()
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
}

func dump(t *testing.T, ctx context.Context, conn driver.Conn, q string) string {
	t.Helper()
	rows, err := conn.Query(ctx, q)
	require.NoError(t, err)
	defer rows.Close()
	var out strings.Builder
	cols := len(rows.Columns())
	for rows.Next() {
		vals := make([]string, cols)
		ptrs := make([]any, cols)
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		fmt.Fprintln(&out, strings.Join(vals, "|"))
	}
	require.NoError(t, rows.Err())
	return out.String()
}

// segmentAndJobEvents are what the API writes for a saved segment and its
// bulk job, which loadgen does not produce.
func segmentAndJobEvents() []event.Event {
	at := loadgen.DefaultEnd.Add(-time.Hour)
	seg := event.Event{ID: "seg-1", Source: "siyu-api", Type: event.SegmentSaved, Tenant: "t0001", Subject: "seg_1", Time: at}
	seg.Data.Set(event.FName, "live")
	seg.Data.Set(event.FNote, `{"lost":false}`)
	job := event.Event{ID: "job-1", Source: "siyu-api", Type: event.JobProgressed, Tenant: "t0001", Subject: "job_1", Time: at}
	job.Data.Set(event.FKind, "segment_tag")
	job.Data.Set(event.FStage, "failed")
	job.Data.SetInt(event.FProcessed, 7)
	job.Data.SetInt(event.FTotal, 9)
	job.Data.Set(event.FTagID, "t1")
	job.Data.Set(event.FFailReason, `stopped: "context canceled"`)
	return []event.Event{seg, job}
}
