package ingest_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/ingest"
	"github.com/siyu-dev/siyu/internal/testenv"
	"github.com/siyu-dev/siyu/loadgen"
)

// TestWriterViewsSeeWholeRecords: the Writer sends a record in blocks of
// a few rows, and ClickHouse squashes them back, so that a materialized
// view folds the whole record at once (one part per view per insert). The
// probe view writes one row per block it sees, with the block's size.
func TestWriterViewsSeeWholeRecords(t *testing.T) {
	ctx := context.Background()
	conn, _ := testenv.Database(t)
	require.NoError(t, conn.Exec(ctx, "CREATE TABLE view_blocks (rows UInt64) ENGINE = Log"))
	require.NoError(t, conn.Exec(ctx, "CREATE MATERIALIZED VIEW view_blocks_mv TO view_blocks AS SELECT count() AS rows FROM events"))

	raws := generate(t, loadgen.Config{Seed: 3, Tenants: 2, StaffPerTenant: 5, ContactsPerTenant: 200, Events: 2500,
		Start: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), Days: 20})
	dec := newDecoder()
	b := ingest.NewBuilder(nil)
	defer b.Release()
	for _, raw := range raws {
		ev, err := dec.Decode(raw)
		require.NoError(t, err)
		b.Append(ev)
	}
	rec := b.NewRecord()
	defer rec.Release()

	tests := []struct {
		name      string
		blockRows int
	}{
		{"one block", len(raws)},
		{"blocks of 1,000", 1000},
		{"blocks of 7", 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, conn.Exec(ctx, "TRUNCATE TABLE view_blocks"))
			require.NoError(t, conn.Exec(ctx, "TRUNCATE TABLE events"))
			require.NoError(t, ingest.NewWriter(conn).WithBlockRows(tt.blockRows).Write(ctx, rec))

			var blocks []uint64
			rows, err := conn.Query(ctx, "SELECT rows FROM view_blocks")
			require.NoError(t, err)
			for rows.Next() {
				var n uint64
				require.NoError(t, rows.Scan(&n))
				blocks = append(blocks, n)
			}
			require.NoError(t, rows.Err())
			require.Equal(t, []uint64{uint64(len(raws))}, blocks, "the view saw the record as one block")

			var stored, distinct uint64
			require.NoError(t, conn.QueryRow(ctx, "SELECT count(), uniqExact(tenant, source, id) FROM events").Scan(&stored, &distinct))
			require.EqualValues(t, len(raws), stored)
			require.Equal(t, stored, distinct)
		})
	}
}
