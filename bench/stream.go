package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/ingest"
	"github.com/siyu-dev/siyu/loadgen"
)

// Seeds of the three streams: the insert and end-to-end figures share one,
// the freshness background and the POST bodies each have their own.
const (
	seedMain  = 1
	seedFresh = 2
	seedPost  = 3
)

// benchStream is a loadgen stream of n events over the 30 days that end a
// day ago, so that no event lies in the consumer's future. Names nil means
// 20 tenants t0001..t0020.
func benchStream(seed int64, n int, names []string) (*loadgen.Generator, error) {
	cfg := loadgen.Config{Seed: seed, Tenants: 20, StaffPerTenant: 50, ContactsPerTenant: 20_000,
		Events: n, PaidShare: 0.6, Start: time.Now().Add(-31 * 24 * time.Hour), Days: 30}
	if names != nil {
		cfg.Tenants, cfg.TenantNames = len(names), names
	}
	g, err := loadgen.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	return g, nil
}

// tenantNames returns n tenant ids prefix0001, prefix0002, ...
func tenantNames(prefix string, n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s%04d", prefix, i+1)
	}
	return names
}

// recordBuilder runs events through the pipeline's pure half — decode and
// validate the JSON, append to the Arrow batch — into records of rows each,
// timing only that half.
type recordBuilder struct {
	rows    int
	dec     *event.Decoder
	b       *ingest.Builder
	recs    []arrow.Record
	elapsed time.Duration // spent decoding and appending
}

func newRecordBuilder(rows int) *recordBuilder {
	return &recordBuilder{rows: rows, dec: event.NewDecoder(nil), b: ingest.NewBuilder(nil)}
}

// add decodes and appends a chunk of encoded events.
func (rb *recordBuilder) add(chunk [][]byte) error {
	start := time.Now()
	defer func() { rb.elapsed += time.Since(start) }()
	for _, raw := range chunk {
		ev, err := rb.dec.Decode(raw)
		if err != nil {
			return fmt.Errorf("decode generated event: %w", err)
		}
		rb.b.Append(ev)
		if rb.b.Len() == rb.rows {
			rb.recs = append(rb.recs, rb.b.NewRecord())
		}
	}
	return nil
}

// finish returns the records, the last one possibly short; the caller
// releases them.
func (rb *recordBuilder) finish() []arrow.Record {
	if rb.b.Len() > 0 {
		rb.recs = append(rb.recs, rb.b.NewRecord())
	}
	rb.b.Release()
	return rb.recs
}

// buildRecords JSON-encodes the stream in chunks and builds Arrow records
// of rows each from them. It returns the records and the time spent in
// decoding and building alone.
func buildRecords(g *loadgen.Generator, rows int, step func(int)) ([]arrow.Record, time.Duration, error) {
	const chunkSize = 10_000
	rb := newRecordBuilder(rows)
	chunk := make([][]byte, 0, chunkSize)
	var arena []byte
	var e event.Event
	for more := true; more; {
		chunk, arena = chunk[:0], arena[:0]
		for len(chunk) < chunkSize && g.Next(&e) {
			n := len(arena)
			arena = event.AppendJSON(arena, &e)
			chunk = append(chunk, arena[n:])
		}
		more = len(chunk) == chunkSize
		if err := rb.add(chunk); err != nil {
			releaseAll(rb.finish())
			return nil, 0, err
		}
		step(len(chunk))
	}
	return rb.finish(), rb.elapsed, nil
}

func releaseAll(recs []arrow.Record) {
	for _, r := range recs {
		r.Release()
	}
}

// produceTally counts the acknowledgements of asynchronously produced
// records and keeps the first failure.
type produceTally struct {
	acked  atomic.Int64
	failed atomic.Int64
	first  atomic.Value
}

// done is the kgo promise of every record produced with the tally.
func (t *produceTally) done(_ *kgo.Record, err error) {
	if err != nil {
		t.failed.Add(1)
		t.first.CompareAndSwap(nil, err)
		return
	}
	t.acked.Add(1)
}

// err reports the failures, if any.
func (t *produceTally) err() error {
	if f := t.failed.Load(); f > 0 {
		return fmt.Errorf("%d records were not stored in Kafka: %v", f, t.first.Load())
	}
	return nil
}

// produceEvent produces e to topic, keyed by contact as the contract says.
func produceEvent(ctx context.Context, cl *kgo.Client, topic string, e *event.Event, tally *produceTally) {
	rec := &kgo.Record{Topic: topic, Key: []byte(e.Key()), Value: event.AppendJSON(nil, e)}
	cl.Produce(ctx, rec, tally.done)
}

// produceAll produces every event of g as fast as Kafka takes them and
// waits for the acknowledgements.
func produceAll(ctx context.Context, cl *kgo.Client, topic string, g *loadgen.Generator, step func(int)) (int, error) {
	var tally produceTally
	var e event.Event
	n := 0
	for g.Next(&e) {
		produceEvent(ctx, cl, topic, &e, &tally)
		if n++; n%10_000 == 0 {
			if err := ctx.Err(); err != nil {
				return n, err
			}
			step(10_000)
		}
	}
	step(n % 10_000)
	if err := cl.Flush(ctx); err != nil {
		return n, fmt.Errorf("flush producer: %w", err)
	}
	return n, tally.err()
}
