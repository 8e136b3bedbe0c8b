// Package ingest is the pipeline from the event log to ClickHouse: a Kafka
// consumer group decodes and validates records (event/), sends invalid ones
// to the dead-letter topic with the reason in headers, builds Arrow record
// batches of the valid ones, inserts them column by column, and commits
// offsets only after ClickHouse has accepted the batch.
//
// A crash anywhere redelivers what was not committed. That is safe because
// nothing downstream depends on delivery: raw events fold duplicates, and
// every derived table uses idempotent aggregate states (see sql/).
//
// No single record can hold the log up. A dead letter too large for the
// dead-letter topic goes truncated, or as headers alone (deadletter.go); a
// row ClickHouse refuses for good is split out of its batch and
// dead-lettered too (isolate.go). Only a fault that is not one record's — a
// table that refuses every row, a dead-letter topic that refuses every
// write — stops Run, with an error that says what to fix, and leaves the
// offsets where they were so that nothing is lost.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/apache/arrow/go/v15/arrow"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/kafka"
	"github.com/siyu-dev/siyu/store"
)

// Config sets up a pipeline.
type Config struct {
	Brokers []string
	Topics  kafka.Topics
	Group   string
	// A batch closes at BatchMaxRows events, BatchMaxBytes of payload, or
	// BatchMaxWait after its first record, whichever comes first. Larger
	// batches insert faster; shorter waits make events visible sooner.
	BatchMaxRows  int
	BatchMaxBytes int
	BatchMaxWait  time.Duration
	// FetchMaxBytes bounds what the client buffers from the brokers while a
	// batch is being written: memory stays bounded because a new fetch is not
	// issued until the buffered one is polled.
	FetchMaxBytes int32
	// InsertWorkers is how many batches are inserted at once. Offsets are
	// still committed in order. Each one in flight holds a batch in memory.
	InsertWorkers int
	// SessionTimeout is how long the group waits for a silent member (one
	// that crashed) before giving its partitions to the others.
	SessionTimeout time.Duration
}

// DefaultConfig holds the defaults, chosen from `make bench` measurements
// on 2 cores: one insert at a time (two in flight made ClickHouse busier but
// not faster here; machines with more cores may want more InsertWorkers).
// 100,000-row batches: with ~20 materialized views on events, ClickHouse
// spends 19–27% less CPU per row on 100,000-row inserts than on 50,000-row
// ones (fewer, larger parts to write and merge; `go run ./bench --figures
// views --views-also-rows 100000`), and the Writer sends each batch in
// blocks of DefaultBlockRows, so two batches still fit the 256 MiB memory
// limit of `siyu ingest` (docs/decisions.md, "Ingest cost of the rollups").
func DefaultConfig() Config {
	return Config{
		Topics:         kafka.DefaultTopics(),
		Group:          "siyu-ingest",
		BatchMaxRows:   100_000,
		InsertWorkers:  1,
		BatchMaxBytes:  64 << 20,
		BatchMaxWait:   250 * time.Millisecond,
		FetchMaxBytes:  16 << 20,
		SessionTimeout: 45 * time.Second,
	}
}

// Validate checks the config.
func (c Config) Validate() error {
	switch {
	case len(c.Brokers) == 0:
		return errors.New("ingest: at least one Kafka broker is required")
	case c.Group == "":
		return errors.New("ingest: a consumer group name is required")
	case c.BatchMaxRows < 1:
		return fmt.Errorf("ingest: batch max rows must be at least 1, got %d", c.BatchMaxRows)
	case c.BatchMaxBytes < 1<<10:
		return fmt.Errorf("ingest: batch max bytes must be at least 1 KiB, got %d", c.BatchMaxBytes)
	case c.InsertWorkers < 1 || c.InsertWorkers > 16:
		return fmt.Errorf("ingest: insert workers must be in 1..16, got %d", c.InsertWorkers)
	case c.BatchMaxWait <= 0:
		return errors.New("ingest: batch max wait must be positive")
	case c.SessionTimeout < time.Second:
		return errors.New("ingest: session timeout must be at least 1s")
	case c.FetchMaxBytes < 1<<16:
		return fmt.Errorf("ingest: fetch max bytes must be at least 64 KiB, got %d", c.FetchMaxBytes)
	}
	return c.Topics.Validate()
}

// Pipeline consumes the events topic into ClickHouse in two stages that
// overlap: the reader polls, decodes and builds the next Arrow batch while
// the writer inserts earlier ones and commits exactly their offsets, in
// order. At most InsertWorkers+1 batches are in memory: one building, the
// others being written.
type Pipeline struct {
	cfg     Config
	cl      *kgo.Client
	writer  recordWriter
	builder *Builder
	dec     *event.Decoder
	metrics *Metrics
	log     *slog.Logger

	// The open batch, owned by the reader.
	recordTime time.Time // the Kafka timestamp of the record being decoded
	open       *batch
	firstAt    time.Time // when the open batch got its first record
	lastDrain  time.Time // when the reader last let a rebalance through

	inflight sync.WaitGroup // batches handed to the writer and not yet committed
	lastErr  atomic.Pointer[error]
	failed   atomic.Bool // a batch failed for good: write no more
	refusals streak      // rows ClickHouse refused since it last accepted one
}

// recordWriter inserts Arrow records into the events table; *Writer is the
// one New uses.
type recordWriter interface {
	Write(ctx context.Context, rec arrow.Record) error
}

// batch is a closed batch on its way to ClickHouse.
type batch struct {
	rec     arrow.Record
	records int // Kafka records, valid and invalid
	// sources[i] is where row i of rec came from, so that a row ClickHouse
	// refuses can be read back and dead-lettered: 16 bytes a row rather
	// than the record itself, whose value would keep the fetch buffers it
	// points into alive as long as the batch.
	sources []source
	dead    []*letter
	offsets map[string]map[int32]kgo.EpochOffset // what to commit once written
	written chan error                           // the insert's outcome
}

// source is the position of a record in the events topic.
type source struct {
	partition int32
	offset    int64
}

// newBatch returns an empty batch with room for rows sources.
func newBatch(rows int) *batch {
	return &batch{offsets: map[string]map[int32]kgo.EpochOffset{}, sources: make([]source, 0, rows)}
}

// drainEvery bounds how long a busy pipeline holds off a consumer-group
// rebalance: every so often the reader waits for the writer to commit
// everything, then lets a pending rebalance through.
const drainEvery = 10 * time.Second

// New connects a pipeline; Run starts it.
func New(cfg Config, conn driver.Conn, reg prometheus.Registerer, log *slog.Logger) (*Pipeline, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Pipeline{cfg: cfg, writer: NewWriter(conn), builder: NewBuilder(nil), metrics: NewMetrics(reg), log: log}
	p.dec = event.NewDecoder(func() time.Time { return p.recordTime })
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(cfg.Topics.Events),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.FetchMaxBytes(cfg.FetchMaxBytes),
		kgo.FetchMaxPartitionBytes(cfg.FetchMaxBytes),
		kgo.FetchMaxWait(100*time.Millisecond),
		kgo.SessionTimeout(cfg.SessionTimeout),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		// Dead letters are as large as the records the brokers take, which
		// franz-go's default batch limit is not (kafka/limits.go).
		kgo.ProducerBatchMaxBytes(kafka.MaxBatchBytes),
	)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	p.cl = cl
	return p, nil
}

// Close leaves the group and closes the Kafka client. The rebalance the
// client may still hold from a poll is released first, or leaving the group
// would wait for it forever.
func (p *Pipeline) Close() {
	p.cl.AllowRebalance()
	p.cl.Close()
}

// Run consumes until ctx ends. On the way out it writes and commits the open
// batch if it can do so within a few seconds; otherwise those records are
// simply delivered again. It returns early, with an error wrapping
// ErrInsertRefused or ErrDeadLetterRefused, when ClickHouse or the
// dead-letter topic refuses what no retry can fix; nothing after the last
// commit is committed then.
func (p *Pipeline) Run(ctx context.Context) error {
	defer p.builder.Release()
	rctx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	batches := make(chan *batch)
	writeErr := make(chan error, 1)
	go func() { writeErr <- p.write(ctx, batches, stopReading) }()
	readErr := p.read(rctx, batches)
	close(batches)
	err := errors.Join(<-writeErr, readErr)
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return nil // stopped mid-write: the batch is simply delivered again
	}
	return err
}

// read is the first stage: poll, decode, build, and hand closed batches on.
func (p *Pipeline) read(ctx context.Context, out chan<- *batch) error {
	p.open, p.lastDrain = newBatch(0), time.Now()
	for ctx.Err() == nil {
		fetches := p.cl.PollRecords(p.pollContext(ctx), p.cfg.BatchMaxRows-p.open.records)
		if fetches.IsClientClosed() {
			return nil
		}
		fetches.EachError(func(topic string, part int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				p.log.Warn("kafka fetch error", "topic", topic, "partition", part, "err", err)
			}
		})
		fetches.EachRecord(p.take)
		p.observeLag(fetches)
		if p.batchFull() && !p.handOver(ctx, out) {
			break
		}
		idle := fetches.NumRecords() == 0 && p.open.records == 0
		if idle || time.Since(p.lastDrain) >= drainEvery {
			p.drain(ctx, out)
		}
	}
	p.handOver(context.Background(), out) // the writer decides, with its own deadline
	return nil
}

// handOver closes the open batch and gives it to the writer.
func (p *Pipeline) handOver(ctx context.Context, out chan<- *batch) bool {
	if p.open.records == 0 {
		return true
	}
	b := p.open
	b.rec = p.builder.NewRecord()
	p.open = newBatch(cap(b.sources))
	p.inflight.Add(1)
	select {
	case out <- b:
		return true
	case <-ctx.Done():
		b.rec.Release()
		p.inflight.Done()
		return false
	}
}

// drain hands over the open batch, waits until the writer has committed
// everything, and lets a pending rebalance through.
func (p *Pipeline) drain(ctx context.Context, out chan<- *batch) {
	p.handOver(ctx, out)
	p.inflight.Wait()
	p.cl.AllowRebalance()
	p.lastDrain = time.Now()
}

func (p *Pipeline) pollContext(ctx context.Context) context.Context {
	deadline := p.lastDrain.Add(drainEvery)
	if p.open.records > 0 {
		deadline = minTime(deadline, p.firstAt.Add(p.cfg.BatchMaxWait))
	}
	pctx, cancel := context.WithDeadline(ctx, deadline)
	context.AfterFunc(pctx, cancel)
	return pctx
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func (p *Pipeline) batchFull() bool {
	if p.open.records == 0 {
		return false
	}
	return p.open.records >= p.cfg.BatchMaxRows || p.builder.Bytes() >= p.cfg.BatchMaxBytes ||
		time.Since(p.firstAt) >= p.cfg.BatchMaxWait
}

// take decodes one record into the open batch, or sets it aside for the
// dead-letter topic.
func (p *Pipeline) take(r *kgo.Record) {
	b := p.open
	if b.records == 0 {
		p.firstAt = time.Now()
	}
	b.records++
	parts := b.offsets[r.Topic]
	if parts == nil {
		parts = map[int32]kgo.EpochOffset{}
		b.offsets[r.Topic] = parts
	}
	parts[r.Partition] = kgo.EpochOffset{Epoch: r.LeaderEpoch, Offset: r.Offset + 1}
	p.recordTime = r.Timestamp
	ev, err := p.dec.Decode(r.Value)
	if err != nil {
		l := invalidLetter(r, err)
		b.dead = append(b.dead, l)
		p.metrics.invalid.WithLabelValues(l.field).Inc()
		return
	}
	p.builder.Append(ev)
	b.sources = append(b.sources, source{partition: r.Partition, offset: r.Offset})
}

// write is the second stage: insert batches, InsertWorkers at a time (one
// ClickHouse insert is mostly one thread, so two keep both cores busy), and
// commit their offsets strictly in batch order. When ctx ends, the writer
// gets a few seconds of grace to finish the inserts under way and what the
// reader handed over on its way out, rather than cutting an insert off half
// way through its views. After a failure it keeps draining the channel (so
// the reader never blocks), calls fail so that the reader stops, and returns
// the first error at the end.
func (p *Pipeline) write(ctx context.Context, in <-chan *batch, fail func()) error {
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(shutdownGrace, cancel) })
	defer stop()
	slots := make(chan struct{}, p.cfg.InsertWorkers)
	ordered := make(chan *batch, p.cfg.InsertWorkers)
	committed := make(chan error, 1)
	go func() { committed <- p.commitInOrder(wctx, ordered, fail) }()
	for {
		slots <- struct{}{} // take a batch only when an insert slot is free
		b, ok := <-in
		if !ok {
			break
		}
		b.written = make(chan error, 1)
		go func() {
			if p.failed.Load() {
				b.written <- errors.New("not written: an earlier batch failed")
			} else {
				b.written <- p.insert(wctx, b)
			}
			<-slots
		}()
		ordered <- b
	}
	close(ordered)
	return <-committed
}

// commitInOrder waits for each batch's insert, in the order the reader
// closed them, and commits its offsets: a later batch's commit never covers
// an earlier batch that is not yet written. After a failure it commits
// nothing more: the failed batch and those after it are delivered again.
func (p *Pipeline) commitInOrder(ctx context.Context, ordered <-chan *batch, fail func()) error {
	var firstErr error
	for b := range ordered {
		err := <-b.written
		if firstErr == nil {
			if firstErr = err; err == nil {
				p.commit(ctx, b)
			} else {
				p.failed.Store(true)
				fail()
			}
		}
		b.rec.Release()
		p.inflight.Done()
	}
	return firstErr
}

// shutdownGrace is how long the writer may go on after Run's context ends.
const shutdownGrace = 5 * time.Second

// insert writes one batch and its dead letters: the invalid records, and
// the rows ClickHouse refused for good.
func (p *Pipeline) insert(ctx context.Context, b *batch) error {
	refused, err := p.writeRows(ctx, b.rec)
	if err != nil {
		return err
	}
	dead := b.dead
	if len(refused) > 0 {
		letters, err := p.refusedLetters(ctx, b, refused)
		if err != nil {
			return err
		}
		dead = append(dead, letters...)
	}
	if err := p.sendDeadLetters(ctx, dead); err != nil {
		return err
	}
	p.lastErr.Store(nil) // the sub-inserts of a bisect leave their last error
	rows := int(b.rec.NumRows()) - len(refused)
	p.metrics.eventsIn.Add(float64(rows))
	p.metrics.batchRows.Observe(float64(rows))
	return nil
}

// writeOnce inserts rec (a batch or a slice of one), retrying what
// store.IsRetryable calls retryable; it returns nil, a permanent error or
// ctx's.
func (p *Pipeline) writeOnce(ctx context.Context, rec arrow.Record) error {
	return p.retry(ctx, "insert events", store.IsRetryable, func(ctx context.Context) error {
		start := time.Now()
		err := p.writer.Write(ctx, rec)
		if err == nil {
			p.metrics.insertSeconds.Observe(time.Since(start).Seconds())
		}
		return err
	})
}

// commit stores the batch's offsets. A failure is not fatal: the group moved
// on (a lost session), and whoever owns the partitions now re-reads from the
// last commit. Nothing is lost; redelivery is harmless.
func (p *Pipeline) commit(ctx context.Context, b *batch) {
	var commitErr error
	p.cl.CommitOffsetsSync(ctx, b.offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			commitErr = err
			return
		}
		for _, t := range resp.Topics {
			for _, part := range t.Partitions {
				if e := kerr.ErrorForCode(part.ErrorCode); e != nil && commitErr == nil {
					commitErr = fmt.Errorf("%s[%d]: %w", t.Topic, part.Partition, e)
				}
			}
		}
	})
	if commitErr != nil && ctx.Err() == nil {
		p.log.Warn("commit offsets", "err", commitErr)
	}
}

// retry runs op until it succeeds, fails with an error retryable does not
// call retryable (which it returns: retrying would only repeat it), or ctx
// ends, backing off up to 10 s.
func (p *Pipeline) retry(ctx context.Context, what string, retryable func(error) bool, op func(context.Context) error) error {
	var wait backoff
	for {
		err := op(ctx)
		if err == nil {
			p.lastErr.Store(nil)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		p.lastErr.Store(&err)
		p.metrics.insertErrors.Inc()
		if !retryable(err) {
			return err
		}
		p.log.Warn(what+" failed; retrying", "err", err, "in", wait.next())
		if err := wait.sleep(ctx); err != nil {
			return err
		}
	}
}

// backoff is a retry delay from 100 ms doubling up to 10 s.
type backoff struct{ d time.Duration }

func (b *backoff) next() time.Duration { return max(b.d, 100*time.Millisecond) }

// sleep waits the next delay or until ctx ends.
func (b *backoff) sleep(ctx context.Context) error {
	d := b.next()
	b.d = min(2*d, 10*time.Second)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

func (p *Pipeline) observeLag(fetches kgo.Fetches) {
	fetches.EachPartition(func(ftp kgo.FetchTopicPartition) {
		if n := len(ftp.Records); n > 0 {
			lag := ftp.HighWatermark - ftp.Records[n-1].Offset - 1
			p.metrics.lag.WithLabelValues(ftp.Topic, strconv.Itoa(int(ftp.Partition))).Set(float64(lag))
		}
	})
}

// Healthy reports the last insert error, nil when the last insert succeeded.
func (p *Pipeline) Healthy() error {
	if e := p.lastErr.Load(); e != nil {
		return *e
	}
	return nil
}

// Dead-letter record headers. Every dead letter has the error field and
// reason and the source topic, partition and offset; one that could not go
// whole (see TruncatedValueBytes) has the last three too.
const (
	HeaderErrorField   = "siyu-error-field"
	HeaderErrorReason  = "siyu-error-reason"
	HeaderSourceTopic  = "siyu-source-topic"
	HeaderSourcePart   = "siyu-source-partition"
	HeaderSourceOffset = "siyu-source-offset"
	HeaderSourceKey    = "siyu-source-key"
	// HeaderTruncated is "true" on a dead letter whose value is cut or left
	// out, and whose key is cut to TruncatedKeyBytes.
	HeaderTruncated = "siyu-truncated"
	// HeaderOriginalSize is the byte length of the source record's value.
	HeaderOriginalSize = "siyu-original-size"
	// HeaderOriginalSHA256 is the hex SHA-256 of the source record's value,
	// to find it in the events topic or match it against a producer's log.
	HeaderOriginalSHA256 = "siyu-original-sha256"
)
