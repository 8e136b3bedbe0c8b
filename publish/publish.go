// Package publish is the one way Siyu writes an event to Kafka: the API's
// writes, the pool's decisions, the bulk jobs and the WeCom receiver all
// go through a Publisher. It encodes the event, checks it with the
// contract's decoder (so that nothing Siyu writes itself is dead-lettered),
// keys it by tenant and subject (event.Key: one partition per customer,
// so a customer's events stay in order), refuses a record no broker would
// take (kafka.RecordFits), produces, and waits for the acks until a
// deadline (kafka.ProduceSync). What it answers is the write token: where
// the events landed, which a read sends back to see its own writes.
package publish

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/errkind"
	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/kafka"
)

// DefaultTimeout bounds the wait for Kafka's acks of one write: a silent
// broker ends a write with ErrNotAcknowledged (it may be stored, sending
// again is safe) rather than holding its caller.
const DefaultTimeout = 10 * time.Second

// ErrTooLarge means an event's record is larger than a broker takes
// (kafka.MaxBatchBytes): it can never be stored, retrying is useless.
var ErrTooLarge = errkind.New(errkind.TooLarge, "the event is larger than Kafka takes")

// Publisher writes events to one topic. It is safe for concurrent use.
type Publisher struct {
	prod     kafka.Producer
	topic    string
	timeout  time.Duration
	decoders *sync.Pool // *event.Decoder, shared by the copies Within makes
}

// New returns a Publisher producing to topic with prod (a *kgo.Client) and
// waiting at most timeout for the acks (DefaultTimeout when 0).
func New(prod kafka.Producer, topic string, timeout time.Duration) *Publisher {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Publisher{prod: prod, topic: topic, timeout: timeout,
		decoders: &sync.Pool{New: func() any { return event.NewDecoder(nil) }}}
}

// Within returns a Publisher that waits at most timeout for the acks, for
// a caller whose own deadline differs (a batch of 10,000 events, a WeCom
// callback WeCom gives up on after 5 s).
func (p *Publisher) Within(timeout time.Duration) *Publisher {
	q := *p
	q.timeout = timeout
	return &q
}

// Topic is the topic the Publisher writes to.
func (p *Publisher) Topic() string { return p.topic }

// Encode returns ev's record: its JSON, checked with the contract's
// decoder, keyed by tenant and subject. An event the contract refuses is
// the writer's bug, not its caller's: the error says why but does not wrap
// the decoder's *event.ValidationError (a caller would answer 400 for it).
// A record too large for Kafka is ErrTooLarge.
func (p *Publisher) Encode(ev *event.Event) (*kgo.Record, error) {
	b := event.AppendJSON(nil, ev)
	dec := p.decoders.Get().(*event.Decoder)
	_, err := dec.Decode(b)
	p.decoders.Put(dec)
	if err != nil {
		return nil, fmt.Errorf("encode %s event: %v", ev.Type, err)
	}
	return p.Record(ev.Key(), b)
}

// Record returns the record of an event already checked against the
// contract (its key, event.Key, and its JSON value), or ErrTooLarge.
func (p *Publisher) Record(key string, value []byte) (*kgo.Record, error) {
	rec := &kgo.Record{Topic: p.topic, Key: []byte(key), Value: value}
	if !kafka.RecordFits(rec) {
		return rec, fmt.Errorf("%w: the record takes %d bytes, a broker at most %d (kafka.MaxBatchBytes)",
			ErrTooLarge, kafka.RecordBytes(rec), kafka.MaxBatchBytes)
	}
	return rec, nil
}

// Produce produces recs to the Publisher's topic and waits until Kafka
// has acknowledged or failed each, or the Publisher's timeout (or ctx)
// ends: a record still waiting then is kafka.ErrNotAcknowledged.
func (p *Publisher) Produce(ctx context.Context, recs ...*kgo.Record) Results {
	for _, r := range recs {
		r.Topic = p.topic
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	res := kafka.ProduceSync(ctx, p.prod, recs...)
	out := make(Results, len(res))
	for i, r := range res {
		out[i].Err = r.Err
		if r.Err == nil {
			out[i].Position = kafka.Position{Partition: r.Record.Partition, Offset: r.Record.Offset}
		}
	}
	return out
}

// Publish encodes evs (Encode) and produces them (Produce). An event that
// does not encode is an error and nothing is produced; otherwise the
// results are in evs' order.
func (p *Publisher) Publish(ctx context.Context, evs ...event.Event) (Results, error) {
	recs := make([]*kgo.Record, len(evs))
	for i := range evs {
		rec, err := p.Encode(&evs[i])
		if err != nil {
			return nil, err
		}
		recs[i] = rec
	}
	return p.Produce(ctx, recs...), nil
}

// Result is the outcome of one record: where it landed, or why Kafka did
// not acknowledge it (it may still be stored: sending it again is safe,
// events are idempotent by tenant, source and id).
type Result struct {
	Position kafka.Position
	Err      error
}

// Results are the outcomes of one write, in its records' order.
type Results []Result

// Err is the first record's error, or nil when Kafka acknowledged all.
func (rs Results) Err() error {
	for _, r := range rs {
		if r.Err != nil {
			return r.Err
		}
	}
	return nil
}

// Token is the write token of the acknowledged records: the highest
// offset written in each partition, in the order partitions first
// appear (kafka.FormatPositions makes it a header; a read that waits for
// it sees every record of the write).
func (rs Results) Token() []kafka.Position {
	var ps []kafka.Position
	at := map[int32]int{}
	for _, r := range rs {
		if r.Err != nil {
			continue
		}
		i, ok := at[r.Position.Partition]
		if !ok {
			at[r.Position.Partition] = len(ps)
			ps = append(ps, r.Position)
			continue
		}
		ps[i].Offset = max(ps[i].Offset, r.Position.Offset)
	}
	return ps
}
