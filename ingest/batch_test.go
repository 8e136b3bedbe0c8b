package ingest_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/ingest"
	"github.com/siyu-dev/siyu/internal/testenv"
	"github.com/siyu-dev/siyu/loadgen"
)

// farFuture is the decoders' clock: no generated event is in its future.
var farFuture = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)

func newDecoder() *event.Decoder { return event.NewDecoder(func() time.Time { return farFuture }) }

var batchEvents = []string{
	`{"specversion":"1.0","id":"e1","source":"wecom/x","type":"chat.message","time":"2026-11-01T10:05:00+08:00","tenant":"acme","subject":"c1","data":{"staff_id":"s1","direction":"in","msg_type":"text","chars":12}}`,
	`{"specversion":"1.0","id":"e2","source":"wecom/x","type":"contact.added","time":"2026-11-01T10:00:00.5+08:00","tenant":"acme","subject":"c2","data":{"staff_id":"s2","name":"王小明","add_way":16,"gender":2,"extra":[1,"x"]}}`,
	`{"specversion":"1.0","id":"e3","source":"siyu-api","type":"subscription.changed","time":"2026-11-01T00:00:00Z","tenant":"beta","subject":"beta","data":{"plan":"pro","paid":true,"seats":5}}`,
}

func TestBuilderAppend(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := ingest.NewBuilder(mem)
	defer b.Release()

	// One reused decoder, as in the pipeline: the builder must copy.
	dec := newDecoder()
	var raws []string
	for _, in := range batchEvents {
		ev, err := dec.Decode([]byte(in))
		require.NoError(t, err)
		raws = append(raws, string(ev.Data.Raw))
		b.Append(ev)
	}
	require.Equal(t, 3, b.Len())
	require.Positive(t, b.Bytes())

	rec := b.NewRecord()
	defer rec.Release()
	require.EqualValues(t, 3, rec.NumRows())
	require.EqualValues(t, len(ingest.ColumnNames()), rec.NumCols())

	tests := []struct {
		column string
		want   any
	}{
		{"tenant", []string{"acme", "acme", "beta"}},
		{"subject", []string{"c1", "c2", "beta"}},
		{"id", []string{"e1", "e2", "e3"}},
		{"source", []string{"wecom/x", "wecom/x", "siyu-api"}},
		{"type", []string{"chat.message", "contact.added", "subscription.changed"}},
		{"time_ns", []int64{
			time.Date(2026, 11, 1, 2, 5, 0, 0, time.UTC).UnixNano(),
			time.Date(2026, 11, 1, 2, 0, 0, 5e8, time.UTC).UnixNano(),
			time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).UnixNano(),
		}},
		{"present", []uint64{
			bits(event.FStaffID, event.FDirection, event.FMsgType, event.FChars),
			bits(event.FStaffID, event.FName, event.FAddWay, event.FGender),
			bits(event.FPlan, event.FPaid, event.FSeats),
		}},
		{"staff_id", []string{"s1", "s2", ""}},
		{"direction", []string{"in", "", ""}},
		{"name", []string{"", "王小明", ""}},
		{"plan", []string{"", "", "pro"}},
		{"chars", []int64{12, 0, 0}},
		{"add_way", []int64{0, 16, 0}},
		{"gender", []int64{0, 2, 0}},
		{"seats", []int64{0, 0, 5}},
		{"paid", []uint8{0, 0, 1}},
		{"deleted", []uint8{0, 0, 0}},
		{"data", raws},
	}
	for _, tc := range tests {
		t.Run(tc.column, func(t *testing.T) {
			require.Equal(t, tc.want, values(t, rec, tc.column))
		})
	}
	require.JSONEq(t, `{"staff_id":"s2","name":"王小明","add_way":16,"gender":2,"extra":[1,"x"]}`, raws[1])
}

func TestBuilderNewRecordResets(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := ingest.NewBuilder(mem)
	defer b.Release()
	dec := newDecoder()
	appendJSON := func(in string) {
		ev, err := dec.Decode([]byte(in))
		require.NoError(t, err)
		b.Append(ev)
	}

	appendJSON(batchEvents[0])
	appendJSON(batchEvents[1])
	first := b.NewRecord()
	defer first.Release()
	require.EqualValues(t, 2, first.NumRows())
	require.Zero(t, b.Len())
	require.Zero(t, b.Bytes())

	empty := b.NewRecord()
	defer empty.Release()
	require.Zero(t, empty.NumRows())
	require.EqualValues(t, len(ingest.ColumnNames()), empty.NumCols())

	appendJSON(batchEvents[2])
	require.Equal(t, 1, b.Len())
	second := b.NewRecord()
	defer second.Release()
	require.Equal(t, []string{"e3"}, values(t, second, "id"))
	require.Equal(t, []string{"e1", "e2"}, values(t, first, "id"), "an earlier record is not touched")
}

func TestSchemaColumns(t *testing.T) {
	names := make([]string, 0, ingest.Schema.NumFields())
	for _, f := range ingest.Schema.Fields() {
		names = append(names, f.Name)
		_, ok := clickHouseType[f.Type.ID()]
		require.True(t, ok, "column %s has Arrow type %s, which the writer cannot insert", f.Name, f.Type)
	}
	require.Equal(t, ingest.ColumnNames(), names)
	seen := map[string]bool{}
	for _, n := range names {
		require.False(t, seen[n], "column %s twice", n)
		seen[n] = true
	}
}

// clickHouseType is the events table type of each Arrow type in Schema.
var clickHouseType = map[arrow.Type]string{
	arrow.STRING: "String",
	arrow.INT64:  "Int64",
	arrow.UINT64: "UInt64",
	arrow.UINT8:  "UInt8",
}

// TestEventsTableMatchesSchema checks the migrated events table (sql/)
// against the Arrow schema: every column the writer inserts exists with the
// matching type, and every other column fills itself.
func TestEventsTableMatchesSchema(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, _ := testenv.Database(t)

	rows, err := conn.Query(ctx, `SELECT name, type, default_kind FROM system.columns
		WHERE database = currentDatabase() AND table = 'events'`)
	require.NoError(t, err)
	defer rows.Close()
	type col struct{ typ, defaultKind string }
	table := map[string]col{}
	for rows.Next() {
		var name string
		var c col
		require.NoError(t, rows.Scan(&name, &c.typ, &c.defaultKind))
		table[name] = c
	}
	require.NoError(t, rows.Err())
	require.NotEmpty(t, table, "no events table")

	for _, f := range ingest.Schema.Fields() {
		t.Run(f.Name, func(t *testing.T) {
			c, ok := table[f.Name]
			require.True(t, ok, "the events table has no column %s", f.Name)
			require.Equal(t, clickHouseType[f.Type.ID()], c.typ)
			require.Empty(t, c.defaultKind, "an inserted column is plain")
		})
	}
	inserted := map[string]bool{}
	for _, n := range ingest.ColumnNames() {
		inserted[n] = true
	}
	rest := map[string]string{}
	for name, c := range table {
		if !inserted[name] {
			rest[name] = c.defaultKind
		}
	}
	require.Equal(t, map[string]string{"time": "MATERIALIZED", "ingested_at": "DEFAULT"}, rest,
		"the columns an insert leaves out must fill themselves")
}

func TestWriterWrite(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, _ := testenv.Database(t)

	const n = 5000
	evs := generate(t, loadgen.Config{Seed: 3, Tenants: 2, StaffPerTenant: 5, ContactsPerTenant: 200, Events: n})
	b := ingest.NewBuilder(nil)
	defer b.Release()
	dec := newDecoder()
	for _, js := range evs {
		ev, err := dec.Decode(js)
		require.NoError(t, err)
		b.Append(ev)
	}
	rec := b.NewRecord()
	defer rec.Release()

	w := ingest.NewWriter(conn)
	require.NoError(t, w.Write(ctx, rec))
	var count uint64
	require.NoError(t, conn.QueryRow(ctx, `SELECT count() FROM events`).Scan(&count))
	require.EqualValues(t, n, count)

	for _, i := range []int{0, 1, n / 2, n - 1} {
		want, err := dec.Decode(evs[i])
		require.NoError(t, err)
		var got struct {
			Tenant, Subject, Type, StaffID, Name, Data string
			TimeNs                                     int64
			Present                                    uint64
			Paid                                       uint8
			Time                                       time.Time
		}
		require.NoError(t, conn.QueryRow(ctx, `SELECT tenant, subject, type, staff_id, name, data, time_ns, present, paid, time
			FROM events WHERE tenant = @tenant AND source = @source AND id = @id`,
			clickhouse.Named("tenant", want.Tenant), clickhouse.Named("source", want.Source), clickhouse.Named("id", want.ID),
		).Scan(&got.Tenant, &got.Subject, &got.Type, &got.StaffID, &got.Name, &got.Data, &got.TimeNs, &got.Present, &got.Paid, &got.Time))
		require.Equal(t, want.Tenant, got.Tenant)
		require.Equal(t, want.Subject, got.Subject)
		require.Equal(t, string(want.Type), got.Type)
		require.Equal(t, want.Data.StaffID, got.StaffID)
		require.Equal(t, want.Data.Name, got.Name)
		require.JSONEq(t, string(want.Data.Raw), got.Data)
		require.Equal(t, want.TimeNs(), got.TimeNs)
		require.Equal(t, uint64(want.Data.Present), got.Present)
		require.Equal(t, want.Data.Paid, got.Paid == 1)
		require.Equal(t, want.Time.Unix(), got.Time.Unix(), "the materialized time column")
	}

	// An empty record is a no-op, not an error.
	empty := b.NewRecord()
	defer empty.Release()
	require.NoError(t, w.Write(ctx, empty))
}

// generate returns a loadgen stream as JSON records, as they arrive on Kafka.
func generate(tb testing.TB, cfg loadgen.Config) [][]byte {
	tb.Helper()
	g, err := loadgen.New(cfg)
	require.NoError(tb, err)
	out := make([][]byte, 0, g.Total())
	var e event.Event
	for g.Next(&e) {
		out = append(out, event.AppendJSON(nil, &e))
	}
	return out
}

func bits(fs ...event.Field) uint64 {
	var p uint64
	for _, f := range fs {
		p |= 1 << f
	}
	return p
}

// values returns a column of rec as a Go slice.
func values(t *testing.T, rec arrow.Record, column string) any {
	t.Helper()
	idx := rec.Schema().FieldIndices(column)
	require.Len(t, idx, 1, "column %s", column)
	switch a := rec.Column(idx[0]).(type) {
	case *array.String:
		out := make([]string, a.Len())
		for i := range out {
			out[i] = a.Value(i)
		}
		return out
	case *array.Int64:
		return append([]int64(nil), a.Int64Values()...)
	case *array.Uint64:
		return append([]uint64(nil), a.Uint64Values()...)
	case *array.Uint8:
		return append([]uint8(nil), a.Uint8Values()...)
	}
	t.Fatalf("column %s: unexpected %T", column, rec.Column(idx[0]))
	return nil
}

// TestWriterConcurrent: one Writer serving two inserts at once (the
// pipeline's --insert-workers) stores every row intact. Two batches of
// different events are written concurrently, many times over, and every
// stored row must carry its own subject, type and data.
func TestWriterConcurrent(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, _ := testenv.Database(t)
	evs := generate(t, loadgen.Config{Seed: 9, Tenants: 2, StaffPerTenant: 5, ContactsPerTenant: 300, Events: 6000})
	dec := newDecoder()
	want := map[string]string{} // id → subject|type|data
	recs := make([]arrow.Record, 2)
	for half := range recs {
		b := ingest.NewBuilder(nil)
		for _, js := range evs[half*len(evs)/2 : (half+1)*len(evs)/2] {
			ev, err := dec.Decode(js)
			require.NoError(t, err)
			want[ev.Tenant+"/"+ev.ID] = ev.Subject + "|" + string(ev.Type) + "|" + string(ev.Data.Raw)
			b.Append(ev)
		}
		recs[half] = b.NewRecord()
		b.Release()
		defer recs[half].Release()
	}
	w := ingest.NewWriter(conn)
	for round := 0; round < 5; round++ {
		var wg sync.WaitGroup
		errs := make([]error, len(recs))
		for i, rec := range recs {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = w.Write(ctx, rec) }()
		}
		wg.Wait()
		require.NoError(t, errors.Join(errs...))
	}
	rows, err := conn.Query(ctx, `SELECT DISTINCT tenant, id, subject, type, data FROM events`)
	require.NoError(t, err)
	defer rows.Close()
	n := 0
	for rows.Next() {
		var tenant, id, subject, typ, data string
		require.NoError(t, rows.Scan(&tenant, &id, &subject, &typ, &data))
		require.Equal(t, want[tenant+"/"+id], subject+"|"+typ+"|"+data, "row %s/%s", tenant, id)
		n++
	}
	require.NoError(t, rows.Err())
	require.Equal(t, len(want), n, "every event once, none mixed")
}
