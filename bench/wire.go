package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// wireEvent is one event as the contract (shared/spec/events.md) puts it
// on the wire: the harness writes what any producer would, and needs no
// code of Siyu's to do it.
type wireEvent struct {
	ID, Source, Type, Tenant, Subject string
	Time                              time.Time
	Data                              []field // in order; strings, int64s and time.Times
}

// field is one data field of a wireEvent.
type field struct {
	name  string
	value any
}

// with appends a data field and returns the event.
func (e wireEvent) with(name string, value any) wireEvent {
	e.Data = append(e.Data[:len(e.Data):len(e.Data)], field{name, value}) // a copy: e's callers keep theirs
	return e
}

// key is the Kafka record key the contract asks for: tenant/subject.
func (e *wireEvent) key() string { return e.Tenant + "/" + e.Subject }

// appendJSON appends the event's CloudEvents JSON to dst.
func (e *wireEvent) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"specversion":"1.0","id":`...)
	dst = appendJSONString(dst, e.ID)
	dst = append(dst, `,"source":`...)
	dst = appendJSONString(dst, e.Source)
	dst = append(dst, `,"type":`...)
	dst = appendJSONString(dst, e.Type)
	dst = append(dst, `,"time":"`...)
	dst = e.Time.UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","tenant":`...)
	dst = appendJSONString(dst, e.Tenant)
	dst = append(dst, `,"subject":`...)
	dst = appendJSONString(dst, e.Subject)
	dst = append(dst, `,"data":{`...)
	for i, f := range e.Data {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, f.name)
		dst = append(dst, ':')
		switch v := f.value.(type) {
		case string:
			dst = appendJSONString(dst, v)
		case int64:
			dst = strconv.AppendInt(dst, v, 10)
		case time.Time:
			dst = append(dst, '"')
			dst = v.UTC().AppendFormat(dst, time.RFC3339Nano)
			dst = append(dst, '"')
		default:
			panic(fmt.Sprintf("wireEvent field %s: unsupported %T", f.name, v))
		}
	}
	return append(dst, "}}"...)
}

// appendJSONString appends s as a JSON string, non-ASCII kept as UTF-8.
func appendJSONString(dst []byte, s string) []byte {
	b, _ := json.Marshal(s) // never fails for a string
	return append(dst, b...)
}

// record is the Kafka record of e on topic.
func (e *wireEvent) record(topic string) *kgo.Record {
	return &kgo.Record{Topic: topic, Key: []byte(e.key()), Value: e.appendJSON(nil)}
}

// stream is a loadgen stream of the built binary (`siyu loadgen`): the
// one generator. The figures' streams are those of the harness's former
// in-process generator: 20 tenants of 50 reps and at most 20,000
// contacts, 60% paid, over the 30 days that end a day ago, so that no
// event lies in the consumer's future.
type stream struct {
	seed    int64
	events  int
	tenants []string // nil: t0001..t0020
}

// Seeds of the three streams: the insert and end-to-end figures share one,
// the freshness background and the POST bodies each have their own.
const (
	seedMain  = 1
	seedFresh = 2
	seedPost  = 3
)

// args are the `siyu loadgen` flags of the stream, as of now.
func (s stream) args(now time.Time) []string {
	a := []string{"loadgen", "--seed", strconv.FormatInt(s.seed, 10), "--events", strconv.Itoa(s.events),
		"--staff", "50", "--contacts", "20000", "--paid-share", "0.6", "--days", "30",
		"--start", now.UTC().Add(-31 * 24 * time.Hour).Format("2006-01-02")}
	if s.tenants != nil {
		return append(a, "--tenant-names", strings.Join(s.tenants, ","))
	}
	return append(a, "--tenants", "20")
}

// produce has `siyu loadgen` produce the stream to topic, as fast as Kafka
// takes it, and returns how long that took, process start included.
func (s stream) produce(ctx context.Context, siyu, broker, topic string) (time.Duration, error) {
	args := append(s.args(time.Now()), "--kafka-brokers", broker, "--topic", topic)
	start := time.Now()
	if _, err := runChild(ctx, siyu, args...); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// lines has `siyu loadgen` write the stream to path as JSON lines and
// returns them with their record keys.
func (s stream) lines(ctx context.Context, siyu, path string) ([]keyed, error) {
	if _, err := runChild(ctx, siyu, append(s.args(time.Now()), "--out", path)...); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := make([]keyed, 0, s.events)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		k, err := keyOf(sc.Bytes())
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, len(out)+1, err)
		}
		out = append(out, keyed{key: k, value: bytes.Clone(sc.Bytes())})
	}
	return out, sc.Err()
}

// keyed is an encoded event and its record key.
type keyed struct{ key, value []byte }

// keyOf reads the record key (tenant/subject) of an encoded event.
func keyOf(line []byte) ([]byte, error) {
	var e struct{ Tenant, Subject string }
	if err := json.Unmarshal(line, &e); err != nil {
		return nil, err
	}
	if e.Tenant == "" {
		return nil, fmt.Errorf("no tenant")
	}
	return []byte(e.Tenant + "/" + e.Subject), nil
}

// tenantNames returns n tenant ids prefix0001, prefix0002, ...
func tenantNames(prefix string, n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s%04d", prefix, i+1)
	}
	return names
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

// produceEvents produces events to topic and waits for every
// acknowledgement: the harness's seeding of a figure's tenant.
func produceEvents(ctx context.Context, cl *kgo.Client, topic string, events func(yield func(wireEvent) bool)) (int, error) {
	var tally produceTally
	n := 0
	for e := range events {
		cl.Produce(ctx, e.record(topic), tally.done)
		if n++; n%10_000 == 0 && ctx.Err() != nil {
			return n, ctx.Err()
		}
	}
	if err := cl.Flush(ctx); err != nil {
		return n, fmt.Errorf("flush producer: %w", err)
	}
	return n, tally.err()
}
