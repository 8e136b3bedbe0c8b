package ingest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/event"
)

// rowsRecord is a batch of n events whose ids are their row numbers.
func rowsRecord(t *testing.T, n int) arrow.Record {
	t.Helper()
	dec := event.NewDecoder(func() time.Time { return time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC) })
	b := NewBuilder(nil)
	t.Cleanup(b.Release)
	for i := range n {
		ev, err := dec.Decode(fmt.Appendf(nil, `{"specversion":"1.0","id":"%d","source":"wecom/x","type":"chat.message","time":"2026-11-01T10:05:00+08:00","tenant":"acme","subject":"c1","data":{"staff_id":"s1","direction":"in"}}`, i))
		require.NoError(t, err)
		b.Append(ev)
	}
	rec := b.NewRecord()
	t.Cleanup(rec.Release)
	return rec
}

// refusingWriter refuses, for good, any record holding a row refuse picks,
// and keeps the rows of the records it accepts.
type refusingWriter struct {
	refuse   func(row int) *clickhouse.Exception
	accepted []int
	writes   int
}

func (w *refusingWriter) Write(_ context.Context, rec arrow.Record) error {
	w.writes++
	ids := rec.Column(slices.Index(ColumnNames(), "id")).(*array.String)
	views := stringViews(nil, ids, 0, ids.Len()) // as the Writer reads a slice
	var rows []int
	for i, v := range views {
		if v != ids.Value(i) {
			panic(fmt.Sprintf("string view %q of row %d, want %q", v, i, ids.Value(i)))
		}
		var row int
		_, _ = fmt.Sscan(v, &row)
		if ex := w.refuse(row); ex != nil {
			return fmt.Errorf("insert events: %w", ex)
		}
		rows = append(rows, row)
	}
	w.accepted = append(w.accepted, rows...)
	return nil
}

func refuseRows(code int32, rows ...int) func(int) *clickhouse.Exception {
	return func(row int) *clickhouse.Exception {
		if slices.Contains(rows, row) {
			return &clickhouse.Exception{Code: code, Message: "Cannot parse string"}
		}
		return nil
	}
}

func TestIsolate(t *testing.T) {
	tests := []struct {
		name      string
		rows      int
		refuse    func(int) *clickhouse.Exception
		want      []int // refused rows
		systemic  bool
		maxWrites int
	}{
		{name: "one row in the middle", rows: 1000, refuse: refuseRows(6, 417), want: []int{417}, maxWrites: 1 + 2*10},
		{name: "the first rows", rows: 1000, refuse: refuseRows(6, 0, 1, 2, 3, 4, 5), want: []int{0, 1, 2, 3, 4, 5}},
		{name: "scattered rows", rows: 100, refuse: refuseRows(6, 3, 50, 99), want: []int{3, 50, 99}},
		{name: "a one-row batch", rows: 1, refuse: refuseRows(6, 0), want: []int{0}},
		{name: "every row, the same way", rows: 10_000, refuse: func(int) *clickhouse.Exception {
			return &clickhouse.Exception{Code: 53, Message: "Type mismatch"}
		}, systemic: true, maxWrites: 1 + 2*14 + 2*systemicStreak},
		{name: "every row, different ways", rows: 300, refuse: func(row int) *clickhouse.Exception {
			return &clickhouse.Exception{Code: int32(6 + row%2), Message: "bad"}
		}, systemic: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := rowsRecord(t, tt.rows)
			w := &refusingWriter{refuse: tt.refuse}
			firstErr := w.Write(context.Background(), rec)
			require.Error(t, firstErr)
			refused, err := isolate(context.Background(), rec, firstErr, w.Write, &streak{})
			if tt.maxWrites > 0 {
				require.LessOrEqual(t, w.writes, tt.maxWrites)
			}
			if tt.systemic {
				require.ErrorIs(t, err, ErrInsertRefused)
				return
			}
			require.NoError(t, err)
			var got []int
			for _, r := range refused {
				got = append(got, r.row)
				require.ErrorContains(t, r.err, "Cannot parse")
			}
			require.Equal(t, tt.want, got)
			slices.Sort(w.accepted)
			var rest []int
			for i := range tt.rows {
				if !slices.Contains(tt.want, i) {
					rest = append(rest, i)
				}
			}
			require.Equal(t, rest, w.accepted, "every other row written once")
		})
	}
}

// TestIsolateStreakAcrossBatches: one-row batches refused the same way, one
// after another, are a broken table too; an accepted write in between
// resets the count.
func TestIsolateStreakAcrossBatches(t *testing.T) {
	rec := rowsRecord(t, 1)
	bad := &refusingWriter{refuse: refuseRows(53, 0)}
	good := &refusingWriter{refuse: refuseRows(53)}
	var s streak
	refuse := func() error {
		_, err := isolate(context.Background(), rec, bad.Write(context.Background(), rec), bad.Write, &s)
		return err
	}
	for range systemicStreak - 1 {
		require.NoError(t, refuse())
	}
	require.NoError(t, good.Write(context.Background(), rec))
	s.accepted()
	for range systemicStreak - 1 {
		require.NoError(t, refuse())
	}
	require.ErrorIs(t, refuse(), ErrInsertRefused)
}
