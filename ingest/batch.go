package ingest

import (
	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/siyu-dev/siyu/event"
)

// column is one column of the events table and how an event fills it. The
// list below is the one place that maps the contract onto storage: the Arrow
// schema, the INSERT column list and the ClickHouse table (sql/0001) agree
// with it, which a test checks.
type column struct {
	name string
	typ  arrow.DataType
	str  func(*event.Event) string
	i64  func(*event.Event) int64
	u64  func(*event.Event) uint64
	u8   func(*event.Event) uint8
}

func strCol(name string, f func(*event.Event) string) column {
	return column{name: name, typ: arrow.BinaryTypes.String, str: f}
}

func i64Col(name string, f func(*event.Event) int64) column {
	return column{name: name, typ: arrow.PrimitiveTypes.Int64, i64: f}
}

func flagCol(name string, f func(*event.Event) bool) column {
	return column{name: name, typ: arrow.PrimitiveTypes.Uint8, u8: func(e *event.Event) uint8 {
		if f(e) {
			return 1
		}
		return 0
	}}
}

var columns = []column{
	strCol("tenant", func(e *event.Event) string { return e.Tenant }),
	strCol("subject", func(e *event.Event) string { return e.Subject }),
	i64Col("time_ns", func(e *event.Event) int64 { return e.TimeNs() }),
	strCol("source", func(e *event.Event) string { return e.Source }),
	strCol("id", func(e *event.Event) string { return e.ID }),
	strCol("type", func(e *event.Event) string { return string(e.Type) }),
	{name: "present", typ: arrow.PrimitiveTypes.Uint64, u64: func(e *event.Event) uint64 { return uint64(e.Data.Present) }},
	strCol("staff_id", func(e *event.Event) string { return e.Data.StaffID }),
	strCol("from_staff_id", func(e *event.Event) string { return e.Data.FromStaffID }),
	strCol("to_staff_id", func(e *event.Event) string { return e.Data.ToStaffID }),
	strCol("removed_by", func(e *event.Event) string { return e.Data.By }),
	strCol("reason", func(e *event.Event) string { return e.Data.Reason }),
	strCol("direction", func(e *event.Event) string { return e.Data.Direction }),
	strCol("msg_type", func(e *event.Event) string { return e.Data.MsgType }),
	strCol("name", func(e *event.Event) string { return e.Data.Name }),
	strCol("remark", func(e *event.Event) string { return e.Data.Remark }),
	strCol("description", func(e *event.Event) string { return e.Data.Description }),
	strCol("phone", func(e *event.Event) string { return e.Data.Phone }),
	strCol("corp_name", func(e *event.Event) string { return e.Data.CorpName }),
	strCol("unionid", func(e *event.Event) string { return e.Data.UnionID }),
	strCol("state", func(e *event.Event) string { return e.Data.State }),
	strCol("tag_id", func(e *event.Event) string { return e.Data.TagID }),
	strCol("tag_group", func(e *event.Event) string { return e.Data.Group }),
	strCol("channel", func(e *event.Event) string { return e.Data.Channel }),
	strCol("note", func(e *event.Event) string { return e.Data.Note }),
	strCol("stage", func(e *event.Event) string { return e.Data.Stage }),
	strCol("app", func(e *event.Event) string { return e.Data.App }),
	strCol("successor_staff_id", func(e *event.Event) string { return e.Data.SuccessorStaffID }),
	strCol("plan", func(e *event.Event) string { return e.Data.Plan }),
	i64Col("add_way", func(e *event.Event) int64 { return e.Data.AddWay }),
	i64Col("gender", func(e *event.Event) int64 { return e.Data.Gender }),
	i64Col("chars", func(e *event.Event) int64 { return e.Data.Chars }),
	i64Col("tag_order", func(e *event.Event) int64 { return e.Data.Order }),
	i64Col("seats", func(e *event.Event) int64 { return e.Data.Seats }),
	i64Col("contact_cap", func(e *event.Event) int64 { return e.Data.ContactCap }),
	i64Col("next_at_ns", func(e *event.Event) int64 { return e.Data.NextAtNs }),
	flagCol("deleted", func(e *event.Event) bool { return e.Data.Deleted }),
	flagCol("paid", func(e *event.Event) bool { return e.Data.Paid }),
	{name: "data", typ: arrow.BinaryTypes.String},
}

// Schema is the Arrow schema of an events batch, column for column the
// events table.
var Schema = func() *arrow.Schema {
	fs := make([]arrow.Field, len(columns))
	for i, c := range columns {
		fs[i] = arrow.Field{Name: c.name, Type: c.typ}
	}
	return arrow.NewSchema(fs, nil)
}()

// Builder accumulates valid events into an Arrow record batch. It copies
// what it needs, so events from a reused event.Decoder may be appended.
type Builder struct {
	rb    *array.RecordBuilder
	kinds []func(*Builder, *event.Event)
	rows  int
	bytes int
}

// NewBuilder returns an empty batch builder.
func NewBuilder(mem memory.Allocator) *Builder {
	if mem == nil {
		mem = memory.NewGoAllocator()
	}
	b := &Builder{rb: array.NewRecordBuilder(mem, Schema)}
	for i, c := range columns {
		b.kinds = append(b.kinds, b.bindColumn(i, c))
	}
	return b
}

// bindColumn returns the function that appends one event's value of column
// i to its typed Arrow builder: resolved once, so the per-row path is a
// plain call with no type switches or reflection.
func (b *Builder) bindColumn(i int, c column) func(*Builder, *event.Event) {
	fb := b.rb.Field(i)
	switch {
	case c.name == "data":
		sb := fb.(*array.StringBuilder)
		return func(b *Builder, e *event.Event) { sb.BinaryBuilder.Append(e.Data.Raw); b.bytes += len(e.Data.Raw) }
	case c.str != nil:
		sb := fb.(*array.StringBuilder)
		f := c.str
		return func(b *Builder, e *event.Event) { s := f(e); sb.Append(s); b.bytes += len(s) }
	case c.i64 != nil:
		ib := fb.(*array.Int64Builder)
		f := c.i64
		return func(b *Builder, e *event.Event) { ib.Append(f(e)); b.bytes += 8 }
	case c.u64 != nil:
		ub := fb.(*array.Uint64Builder)
		f := c.u64
		return func(b *Builder, e *event.Event) { ub.Append(f(e)); b.bytes += 8 }
	default:
		ub := fb.(*array.Uint8Builder)
		f := c.u8
		return func(b *Builder, e *event.Event) { ub.Append(f(e)); b.bytes++ }
	}
}

// Append adds one valid event.
func (b *Builder) Append(e *event.Event) {
	for _, f := range b.kinds {
		f(b, e)
	}
	b.rows++
}

// Len is the number of events appended since the last NewRecord.
func (b *Builder) Len() int { return b.rows }

// Bytes estimates the payload size appended since the last NewRecord.
func (b *Builder) Bytes() int { return b.bytes }

// NewRecord returns the batch built so far and resets the builder. The
// caller releases the record.
func (b *Builder) NewRecord() arrow.Record {
	rows := b.rows
	b.rows, b.bytes = 0, 0
	rec := b.rb.NewRecord()
	b.reserveLike(rec, rows)
	return rec
}

// reserveLike sizes the builders for a batch like rec, so that the next
// batch is built without regrowing (and discarding) every buffer on the way.
func (b *Builder) reserveLike(rec arrow.Record, rows int) {
	for i, col := range rec.Columns() {
		fb := b.rb.Field(i)
		fb.Reserve(rows)
		if s, ok := col.(*array.String); ok {
			fb.(*array.StringBuilder).ReserveData(len(s.ValueBytes()))
		}
	}
}

// Release frees the builder's memory.
func (b *Builder) Release() { b.rb.Release() }

// ColumnNames lists the events table columns an insert writes, in order.
func ColumnNames() []string {
	names := make([]string, len(columns))
	for i, c := range columns {
		names[i] = c.name
	}
	return names
}
