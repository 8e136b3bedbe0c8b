package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/apache/arrow/go/v15/arrow"
	"github.com/twmb/franz-go/pkg/kgo"
)

// When ClickHouse refuses a batch for a reason retrying cannot fix
// (store.IsRetryable), the pipeline bisects it, writing halves of halves as
// Arrow slices, to find the rows it refuses: they are dead-lettered and the
// rest is written. That is a fault of one event (a value that passes the
// contract but not a view, say). When every row is refused for the same
// reason, the fault is the table (a schema that does not match this build):
// dead-lettering would empty the log into the dead-letter topic, so the
// pipeline stops instead, with ErrInsertRefused, and commits nothing more.
const (
	// systemicStreak is how many rows in a row, all refused for the same
	// reason with no write accepted in between nor earlier in their batch,
	// make a refusal systemic. It counts across batches, so that a trickle
	// of one-row batches against a broken table stops as surely as one
	// large batch; a batch ClickHouse took any part of has a working table.
	systemicStreak = 5
	// maxRefusedRows bounds the rows one batch may lose to the dead-letter
	// topic (and the inserts spent bisecting, about 2·log2(rows) each):
	// more is not a few bad events but something an operator must see.
	maxRefusedRows = 100
	// readBackTimeout bounds reading refused rows back from the events
	// topic; a row not found by then is dead-lettered as headers alone.
	readBackTimeout = 30 * time.Second
)

// ErrInsertRefused is wrapped by Run's error when ClickHouse refuses rows
// for a reason that is not theirs.
var ErrInsertRefused = errors.New("ClickHouse refuses the events themselves, not a few bad ones: " +
	"check that the events table and its views match this build (run `siyu migrate`) and the error below; " +
	"nothing was committed past the refused batch, so restart once fixed and ingest resumes where it stopped")

// refusedRow is a row of a batch ClickHouse refused for good, and why.
type refusedRow struct {
	row int
	err error
}

// streak counts rows refused since ClickHouse last accepted a write, and
// whether they were all refused for the same reason.
type streak struct {
	mu    sync.Mutex
	rows  int
	code  int32 // the ClickHouse error code of the first refusal, or -1
	mixed bool
}

func (s *streak) accepted() {
	s.mu.Lock()
	s.rows, s.mixed = 0, false
	s.mu.Unlock()
}

// refused counts one refused row; it reports whether the streak is now
// systemic.
func (s *streak) refused(err error) bool {
	code := int32(-1)
	if ex, ok := errors.AsType[*clickhouse.Exception](err); ok {
		code = ex.Code
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rows == 0 {
		s.code = code
	} else if code != s.code {
		s.mixed = true
	}
	s.rows++
	return s.rows >= systemicStreak && !s.mixed
}

// writeRows writes rec; when ClickHouse refuses it for good, it bisects it
// and returns the rows it refuses, every other row being written.
func (p *Pipeline) writeRows(ctx context.Context, rec arrow.Record) ([]refusedRow, error) {
	err := p.writeOnce(ctx, rec)
	if err == nil {
		p.refusals.accepted()
		return nil, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	p.log.Warn("ClickHouse refused a batch for good; looking for the rows it refuses", "rows", rec.NumRows(), "err", err)
	refused, err := isolate(ctx, rec, err, p.writeOnce, &p.refusals)
	if err != nil {
		return nil, err
	}
	p.metrics.rowsRefused.Add(float64(len(refused)))
	return refused, nil
}

// span is rows [lo, hi) of a batch, and why ClickHouse refused them.
type span struct {
	lo, hi int
	err    error
}

// isolate bisects rec, which write refused with err, into the rows write
// accepts (written) and those it refuses (returned, in row order). write
// returns nil, a permanent error, or ctx's. Both halves of a refused span
// are written before either is split, so that a good half is usually seen
// before its sibling's single rows.
func isolate(ctx context.Context, rec arrow.Record, err error,
	write func(context.Context, arrow.Record) error, s *streak) ([]refusedRow, error) {
	var refused []refusedRow
	accepted := false // ClickHouse took some part of this batch: its table works
	todo := []span{{0, int(rec.NumRows()), err}}
	for len(todo) > 0 {
		sp := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if sp.hi-sp.lo == 1 {
			if s.refused(sp.err) && !accepted {
				return nil, fmt.Errorf("%w: %d rows in a row refused, the same way, none accepted: %w", ErrInsertRefused, systemicStreak, sp.err)
			}
			if refused = append(refused, refusedRow{sp.lo, sp.err}); len(refused) > maxRefusedRows {
				return nil, fmt.Errorf("%w: over %d rows of one batch refused: %w", ErrInsertRefused, maxRefusedRows, sp.err)
			}
			continue
		}
		mid := (sp.lo + sp.hi) / 2
		halves := [2]span{{sp.lo, mid, nil}, {mid, sp.hi, nil}}
		for i := range halves {
			h := &halves[i]
			part := rec.NewSlice(int64(h.lo), int64(h.hi))
			h.err = write(ctx, part)
			part.Release()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if h.err == nil {
				accepted = true
				s.accepted()
			}
		}
		for i := 1; i >= 0; i-- { // the left half on top: rows come out in order
			if halves[i].err != nil {
				todo = append(todo, halves[i])
			}
		}
	}
	return refused, nil
}

// refusedLetters reads the refused rows' records back from the events
// topic and makes their dead letters; a record not read back goes as
// headers alone. It fails only when ctx ends.
func (p *Pipeline) refusedLetters(ctx context.Context, b *batch, refused []refusedRow) ([]*letter, error) {
	want := make([]source, len(refused))
	for i, r := range refused {
		want[i] = b.sources[r.row]
	}
	found, err := p.readBack(ctx, want)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		p.log.Warn("refused rows not all read back; their dead letters go as headers alone", "err", err)
	}
	letters := make([]*letter, len(refused))
	for i, r := range refused {
		src := want[i]
		l := &letter{topic: p.cfg.Topics.Events, partition: src.partition, offset: src.offset,
			reason: "ClickHouse refused the row: " + r.err.Error()}
		if rec, ok := found[src]; ok {
			l.key, l.value = append([]byte(nil), rec.Key...), append([]byte(nil), rec.Value...)
		} else {
			l.unread = true
			l.reason += fmt.Sprintf(" (the record could not be read back: %v)", err)
		}
		letters[i] = l
	}
	return letters, nil
}

// readBack fetches the records at want from the events topic, with a client
// of its own outside the group; it reads each partition from its first
// wanted offset to its last, all within one batch.
func (p *Pipeline) readBack(ctx context.Context, want []source) (map[source]*kgo.Record, error) {
	first, last := map[int32]int64{}, map[int32]int64{}
	wanted := make(map[source]bool, len(want))
	for _, s := range want {
		if o, ok := first[s.partition]; !ok || s.offset < o {
			first[s.partition] = s.offset
		}
		last[s.partition] = max(last[s.partition], s.offset)
		wanted[s] = true
	}
	from := map[int32]kgo.Offset{}
	for part, o := range first {
		from[part] = kgo.NewOffset().At(o)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.cfg.Brokers...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{p.cfg.Topics.Events: from}),
		kgo.FetchMaxBytes(p.cfg.FetchMaxBytes), kgo.FetchMaxPartitionBytes(p.cfg.FetchMaxBytes))
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	rctx, cancel := context.WithTimeout(ctx, readBackTimeout)
	defer cancel()
	found := map[source]*kgo.Record{}
	for len(last) > 0 {
		fetches := cl.PollFetches(rctx)
		if rctx.Err() != nil {
			return found, fmt.Errorf("read refused rows back from %s: %w", p.cfg.Topics.Events, rctx.Err())
		}
		fetches.EachRecord(func(r *kgo.Record) {
			s := source{partition: r.Partition, offset: r.Offset}
			if wanted[s] {
				found[s] = r
			}
			if end, ok := last[r.Partition]; ok && r.Offset >= end {
				delete(last, r.Partition)
				cl.PauseFetchPartitions(map[string][]int32{r.Topic: {r.Partition}})
			}
		})
	}
	return found, nil
}
