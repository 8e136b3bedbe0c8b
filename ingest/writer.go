package ingest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"unsafe"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
)

// Writer inserts Arrow record batches into the events table column by
// column: each Arrow array becomes one typed slice handed to the driver in a
// single Append, numeric arrays without a copy and string arrays as string
// views over the Arrow buffers. Materialized views fold the same insert into
// the derived tables. A Writer is safe for concurrent use (the pipeline may
// run several inserts at once).
type Writer struct {
	conn      driver.Conn
	insert    string
	blockRows int
	views     sync.Pool // *[]string, the string views of one column at a time
}

// DefaultBlockRows is how many rows of a record the driver copies and sends
// at a time. ClickHouse squashes the blocks of one insert back into one
// (min_insert_block_size_rows, InsertSettings) before the table and its
// views see them, so the views fold whole batches (fewer, larger parts; see
// docs/decisions.md, "Ingest cost of the rollups") while the driver's copy
// of a batch stays small.
const DefaultBlockRows = 10_000

// NewWriter returns a Writer for conn's database.
func NewWriter(conn driver.Conn) *Writer { return NewWriterTo(conn, "events") }

// NewWriterTo returns a Writer into table, which must have the events
// columns: the benchmark harness inserts into a copy of events without
// materialized views to measure the raw insert rate.
func NewWriterTo(conn driver.Conn, table string) *Writer {
	return &Writer{
		conn:      conn,
		insert:    "INSERT INTO " + table + " (" + strings.Join(ColumnNames(), ", ") + ")",
		blockRows: DefaultBlockRows,
		views:     sync.Pool{New: func() any { return new([]string) }},
	}
}

// WithBlockRows sets how many rows are sent per block (at least 1).
func (w *Writer) WithBlockRows(n int) *Writer {
	w.blockRows = max(n, 1)
	return w
}

// InsertSettings push an insert into the materialized views concurrently:
// ClickHouse otherwise feeds the events table's views one after another on
// one thread, which leaves the other cores idle. min_insert_block_size_rows
// (its default, stated) squashes the blocks of one insert into one. Both
// 18.16 and current releases know the settings.
var InsertSettings = clickhouse.Settings{"parallel_view_processing": 1, "min_insert_block_size_rows": 1 << 20}

// Write inserts rec; when it returns nil, ClickHouse has accepted every row.
func (w *Writer) Write(ctx context.Context, rec arrow.Record) error {
	if rec.NumRows() == 0 {
		return nil
	}
	batch, err := w.conn.PrepareBatch(clickhouse.Context(ctx, clickhouse.WithSettings(InsertSettings)), w.insert)
	if err != nil {
		return fmt.Errorf("prepare insert: %w", err)
	}
	defer batch.Abort() //nolint:errcheck // no-op after Send
	// The driver copies each column as it is appended, so one slice of
	// string views, owned by this call, serves every string column in turn.
	views := w.views.Get().(*[]string)
	defer w.views.Put(views)
	n := int(rec.NumRows())
	for lo := 0; lo < n; lo += w.blockRows {
		hi := min(lo+w.blockRows, n)
		for i, arr := range rec.Columns() {
			if err := batch.Column(i).Append(columnValues(i, arr, lo, hi, views)); err != nil {
				return fmt.Errorf("append column %s: %w", columns[i].name, err)
			}
		}
		if hi < n {
			if err := batch.Flush(); err != nil {
				return fmt.Errorf("send block of events: %w", err)
			}
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert events: %w", err)
	}
	return nil
}

// columnValues returns the Go slice the driver takes for rows [lo, hi) of
// an Arrow array; string arrays are viewed through *views, valid until its
// next use.
func columnValues(i int, arr arrow.Array, lo, hi int, views *[]string) any {
	switch a := arr.(type) {
	case *array.String:
		*views = stringViews((*views)[:0], a, lo, hi)
		return *views
	case *array.Int64:
		return a.Int64Values()[lo:hi]
	case *array.Uint64:
		return a.Uint64Values()[lo:hi]
	case *array.Uint8:
		return a.Uint8Values()[lo:hi]
	}
	panic(fmt.Sprintf("ingest: column %s has unsupported Arrow type %s", columns[i].name, arr.DataType()))
}

// stringViews appends one string per element [lo, hi) of a that points into
// a's value buffer; the views live as long as the record. a may be a slice
// (the pipeline writes halves of a refused batch): ValueBytes then starts
// at the slice's first value, and offsets count from the unsliced array's.
func stringViews(dst []string, a *array.String, lo, hi int) []string {
	offsets := a.ValueOffsets()
	data := a.ValueBytes()
	base := offsets[0]
	for i := lo; i < hi; i++ {
		start, end := offsets[i]-base, offsets[i+1]-base
		if start == end {
			dst = append(dst, "")
			continue
		}
		dst = append(dst, unsafe.String(&data[start], int(end-start)))
	}
	return dst
}
