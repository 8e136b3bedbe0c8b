package cdp

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
)

// ExportColumns are the columns of a segment export, in order: the
// profile facts of SegmentMember.
var ExportColumns = []string{"contact_id", "name", "corp_name", "stage", "channel", "messages_in",
	"messages_out", "first_event_at", "last_event_at", "last_inbound_at", "staff", "tag_ids"}

// MemberWriter writes segment members to a file format. Close ends the
// file; nothing after a failed Write or Close is valid.
type MemberWriter interface {
	Write(m *SegmentMember) error
	Close() error
}

// NewMemberWriter returns the writer of format ("csv" or "parquet") over w.
func NewMemberWriter(format string, w io.Writer) (MemberWriter, error) {
	switch format {
	case "csv":
		return newCSVMembers(w)
	case "parquet":
		return newParquetMembers(w)
	}
	return nil, fmt.Errorf("export format %q: want csv or parquet", format)
}

// csvMembers writes RFC 4180 CSV with a header row. Times are RFC 3339 in
// UTC ("" for never); staff and tag ids are joined with ";" (ids never hold one).
type csvMembers struct {
	w   *csv.Writer
	rec []string
}

func newCSVMembers(w io.Writer) (*csvMembers, error) {
	c := &csvMembers{w: csv.NewWriter(w), rec: make([]string, len(ExportColumns))}
	return c, c.w.Write(ExportColumns)
}

func (c *csvMembers) Write(m *SegmentMember) error {
	r := c.rec
	r[0], r[1], r[2], r[3], r[4] = m.ContactID, m.Name, m.CorpName, m.Stage, m.Channel
	r[5], r[6] = strconv.FormatUint(m.MessagesIn, 10), strconv.FormatUint(m.MessagesOut, 10)
	r[7], r[8], r[9] = csvTime(m.FirstEventAt), csvTime(m.LastEventAt), csvTime(m.LastInboundAt)
	r[10], r[11] = strings.Join(m.Staff, ";"), strings.Join(m.TagIDs, ";")
	return c.w.Write(r)
}

func (c *csvMembers) Close() error {
	c.w.Flush()
	return c.w.Error()
}

func csvTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// parquetRowGroup is how many members one Parquet row group holds: the
// writer keeps one group's Arrow columns in memory.
const parquetRowGroup = 16384

// MemberSchema is the Arrow schema of a Parquet export: times are
// nanosecond UTC timestamps, null for never; staff and tag ids are lists.
var MemberSchema = arrow.NewSchema([]arrow.Field{
	{Name: "contact_id", Type: arrow.BinaryTypes.String},
	{Name: "name", Type: arrow.BinaryTypes.String},
	{Name: "corp_name", Type: arrow.BinaryTypes.String},
	{Name: "stage", Type: arrow.BinaryTypes.String},
	{Name: "channel", Type: arrow.BinaryTypes.String},
	{Name: "messages_in", Type: arrow.PrimitiveTypes.Uint64},
	{Name: "messages_out", Type: arrow.PrimitiveTypes.Uint64},
	{Name: "first_event_at", Type: arrow.FixedWidthTypes.Timestamp_ns, Nullable: true},
	{Name: "last_event_at", Type: arrow.FixedWidthTypes.Timestamp_ns, Nullable: true},
	{Name: "last_inbound_at", Type: arrow.FixedWidthTypes.Timestamp_ns, Nullable: true},
	{Name: "staff", Type: arrow.ListOf(arrow.BinaryTypes.String)},
	{Name: "tag_ids", Type: arrow.ListOf(arrow.BinaryTypes.String)},
}, nil)

// parquetMembers builds row groups of members in Arrow and writes each
// with pqarrow as it fills.
type parquetMembers struct {
	fw   *pqarrow.FileWriter
	rb   *array.RecordBuilder
	rows int
}

func newParquetMembers(w io.Writer) (*parquetMembers, error) {
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithMaxRowGroupLength(parquetRowGroup))
	fw, err := pqarrow.NewFileWriter(MemberSchema, w, props, pqarrow.DefaultWriterProps())
	if err != nil {
		return nil, fmt.Errorf("parquet writer: %w", err)
	}
	return &parquetMembers{fw: fw, rb: array.NewRecordBuilder(memory.DefaultAllocator, MemberSchema)}, nil
}

func (p *parquetMembers) Write(m *SegmentMember) error {
	b := p.rb
	for i, s := range []string{m.ContactID, m.Name, m.CorpName, m.Stage, m.Channel} {
		b.Field(i).(*array.StringBuilder).Append(s)
	}
	b.Field(5).(*array.Uint64Builder).Append(m.MessagesIn)
	b.Field(6).(*array.Uint64Builder).Append(m.MessagesOut)
	for i, t := range []*time.Time{m.FirstEventAt, m.LastEventAt, m.LastInboundAt} {
		tb := b.Field(7 + i).(*array.TimestampBuilder)
		if t == nil {
			tb.AppendNull()
		} else {
			tb.Append(arrow.Timestamp(t.UnixNano()))
		}
	}
	for i, list := range [][]string{m.Staff, m.TagIDs} {
		lb := b.Field(10 + i).(*array.ListBuilder)
		lb.Append(true)
		vb := lb.ValueBuilder().(*array.StringBuilder)
		for _, s := range list {
			vb.Append(s)
		}
	}
	if p.rows++; p.rows == parquetRowGroup {
		return p.flush()
	}
	return nil
}

func (p *parquetMembers) flush() error {
	rec := p.rb.NewRecord()
	defer rec.Release()
	p.rows = 0
	if err := p.fw.Write(rec); err != nil {
		return fmt.Errorf("write parquet: %w", err)
	}
	return nil
}

func (p *parquetMembers) Close() error {
	defer p.rb.Release()
	if p.rows > 0 {
		if err := p.flush(); err != nil {
			return err
		}
	}
	if err := p.fw.Close(); err != nil {
		return fmt.Errorf("close parquet: %w", err)
	}
	return nil
}
