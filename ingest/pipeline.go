// Package ingest is the pipeline from the event log to ClickHouse: a Kafka
// consumer group decodes and validates records (event/), sends invalid ones
// to the dead-letter topic with the reason in headers, builds Arrow record
// batches of the valid ones, inserts them column by column, and commits
// offsets only after ClickHouse has accepted the batch.
//
// A crash anywhere redelivers what was not committed. That is safe because
// nothing downstream depends on delivery: raw events fold duplicates, and
// every derived table uses idempotent aggregate states (see sql/).
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

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
	// SessionTimeout is how long the group waits for a silent member (one
	// that crashed) before giving its partitions to the others.
	SessionTimeout time.Duration
}

// DefaultConfig holds the defaults, chosen from `make bench` measurements.
func DefaultConfig() Config {
	return Config{
		Topics:         kafka.DefaultTopics(),
		Group:          "siyu-ingest",
		BatchMaxRows:   100_000,
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
	case c.BatchMaxWait <= 0:
		return errors.New("ingest: batch max wait must be positive")
	case c.SessionTimeout < time.Second:
		return errors.New("ingest: session timeout must be at least 1s")
	case c.FetchMaxBytes < 1<<16:
		return fmt.Errorf("ingest: fetch max bytes must be at least 64 KiB, got %d", c.FetchMaxBytes)
	}
	return c.Topics.Validate()
}

// Pipeline consumes the events topic into ClickHouse.
type Pipeline struct {
	cfg     Config
	cl      *kgo.Client
	writer  *Writer
	builder *Builder
	dec     *event.Decoder
	metrics *Metrics
	log     *slog.Logger

	recordTime time.Time     // the Kafka timestamp of the record being decoded
	dead       []*kgo.Record // invalid records of the open batch
	firstAt    time.Time     // when the open batch got its first record
	pending    int           // records (valid and invalid) in the open batch
	done       func(n int)   // observer of flushed batches, for tests and benchmarks
	lastErr    error         // the last insert error, cleared on success
}

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
	)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	p.cl = cl
	return p, nil
}

// Close leaves the group and closes the Kafka client.
func (p *Pipeline) Close() { p.cl.Close() }

// OnFlush sets a function called after each committed batch with its size.
func (p *Pipeline) OnFlush(f func(n int)) { p.done = f }

// Run consumes until ctx ends. On the way out it writes and commits the open
// batch if it can do so within a few seconds; otherwise those records are
// simply delivered again.
func (p *Pipeline) Run(ctx context.Context) error {
	defer p.builder.Release()
	for ctx.Err() == nil {
		fetches := p.cl.PollRecords(p.pollContext(ctx), p.cfg.BatchMaxRows-p.pending)
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
		if p.batchFull() {
			if err := p.flush(ctx); err != nil {
				return err
			}
		} else if p.pending == 0 {
			p.cl.AllowRebalance()
		}
	}
	p.flushOnShutdown()
	return nil
}

func (p *Pipeline) pollContext(ctx context.Context) context.Context {
	if p.pending == 0 {
		return ctx
	}
	pctx, cancel := context.WithDeadline(ctx, p.firstAt.Add(p.cfg.BatchMaxWait))
	context.AfterFunc(pctx, cancel)
	return pctx
}

func (p *Pipeline) batchFull() bool {
	if p.pending == 0 {
		return false
	}
	return p.pending >= p.cfg.BatchMaxRows || p.builder.Bytes() >= p.cfg.BatchMaxBytes ||
		time.Since(p.firstAt) >= p.cfg.BatchMaxWait
}

// take decodes one record into the open batch, or sets it aside for the
// dead-letter topic.
func (p *Pipeline) take(r *kgo.Record) {
	if p.pending == 0 {
		p.firstAt = time.Now()
	}
	p.pending++
	p.recordTime = r.Timestamp
	ev, err := p.dec.Decode(r.Value)
	if err != nil {
		p.dead = append(p.dead, deadLetter(p.cfg.Topics.DeadLetter, r, err))
		field := ""
		if ve, ok := event.AsValidation(err); ok {
			field = ve.Field
		}
		p.metrics.invalid.WithLabelValues(field).Inc()
		return
	}
	p.builder.Append(ev)
}

// flush writes the open batch and its dead letters, then commits.
func (p *Pipeline) flush(ctx context.Context) error {
	rows, bytes := p.builder.Len(), p.builder.Bytes()
	rec := p.builder.NewRecord()
	defer rec.Release()
	if err := p.retry(ctx, "insert events", func(ctx context.Context) error {
		start := time.Now()
		err := p.writer.Write(ctx, rec)
		if err == nil {
			p.metrics.insertSeconds.Observe(time.Since(start).Seconds())
		}
		return err
	}); err != nil {
		return err
	}
	if len(p.dead) > 0 {
		if err := p.retry(ctx, "produce dead letters", func(ctx context.Context) error {
			return p.cl.ProduceSync(ctx, p.dead...).FirstErr()
		}); err != nil {
			return err
		}
		p.metrics.deadLettered.Add(float64(len(p.dead)))
	}
	if err := p.cl.CommitUncommittedOffsets(ctx); err != nil && ctx.Err() == nil {
		// The group moved on (a rebalance or a lost session): whoever owns the
		// partitions now re-reads from the last commit. Nothing is lost.
		p.log.Warn("commit offsets", "err", err)
	}
	p.metrics.eventsIn.Add(float64(rows))
	p.metrics.batchRows.Observe(float64(rows))
	p.metrics.batchBytes.Observe(float64(bytes))
	n := p.pending
	p.pending, p.dead = 0, p.dead[:0]
	p.cl.AllowRebalance()
	if p.done != nil {
		p.done(n)
	}
	return nil
}

func (p *Pipeline) flushOnShutdown() {
	if p.pending == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.flush(ctx); err != nil {
		p.log.Info("open batch left for redelivery", "records", p.pending, "err", err)
	}
}

// retry runs op until it succeeds or ctx ends, backing off up to 10 s. A
// permanent error (a schema mismatch, say) is logged loudly but still
// retried: dropping a valid batch would lose events, and blocking keeps the
// offsets where they are until an operator fixes the cause.
func (p *Pipeline) retry(ctx context.Context, what string, op func(context.Context) error) error {
	backoff := 100 * time.Millisecond
	for {
		err := op(ctx)
		if err == nil {
			p.lastErr = nil
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		p.lastErr = err
		p.metrics.insertErrors.Inc()
		if store.IsRetryable(err) {
			p.log.Warn(what+" failed; retrying", "err", err, "in", backoff)
		} else {
			p.log.Error(what+" failed and will keep failing until fixed; retrying", "err", err, "in", backoff)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 10*time.Second)
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
func (p *Pipeline) Healthy() error { return p.lastErr }

// Dead-letter record headers.
const (
	HeaderErrorField   = "siyu-error-field"
	HeaderErrorReason  = "siyu-error-reason"
	HeaderSourceTopic  = "siyu-source-topic"
	HeaderSourcePart   = "siyu-source-partition"
	HeaderSourceOffset = "siyu-source-offset"
	HeaderSourceKey    = "siyu-source-key"
)

// deadLetter copies an invalid record for the dead-letter topic, with the
// reason and its origin in headers.
func deadLetter(topic string, r *kgo.Record, err error) *kgo.Record {
	field, reason := "", err.Error()
	if ve, ok := event.AsValidation(err); ok {
		field, reason = ve.Field, ve.Reason
	}
	return &kgo.Record{
		Topic: topic,
		Key:   append([]byte(nil), r.Key...),
		Value: append([]byte(nil), r.Value...),
		Headers: []kgo.RecordHeader{
			{Key: HeaderErrorField, Value: []byte(field)},
			{Key: HeaderErrorReason, Value: []byte(reason)},
			{Key: HeaderSourceTopic, Value: []byte(r.Topic)},
			{Key: HeaderSourcePart, Value: []byte(strconv.Itoa(int(r.Partition)))},
			{Key: HeaderSourceOffset, Value: []byte(strconv.FormatInt(r.Offset, 10))},
		},
	}
}
