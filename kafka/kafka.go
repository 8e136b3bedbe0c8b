// Package kafka is Siyu's edge to Kafka: client options tuned for the event
// log, topic creation, and an embedded Kafka-protocol broker (kfake, with
// disk persistence) for `siyu run` and the tests. In production the same
// code talks to real Kafka or Redpanda.
package kafka

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Topics names the event topic and its dead-letter topic.
type Topics struct {
	Events     string
	DeadLetter string
	Partitions int32
	// ReplicationFactor -1 takes the broker's default.
	ReplicationFactor int16
}

// DefaultTopics are the contract's defaults (events.md).
func DefaultTopics() Topics {
	return Topics{Events: "siyu.events", DeadLetter: "siyu.events.dlq", Partitions: 6, ReplicationFactor: -1}
}

// Validate checks the topic settings.
func (t Topics) Validate() error {
	switch {
	case t.Events == "" || t.DeadLetter == "":
		return errors.New("kafka: the events and dead-letter topic names are required")
	case t.Events == t.DeadLetter:
		return errors.New("kafka: the dead-letter topic must differ from the events topic")
	case t.Partitions < 1:
		return fmt.Errorf("kafka: partitions must be at least 1, got %d", t.Partitions)
	}
	return nil
}

// ProducerOpts are the client options for producing events: every record is
// acknowledged by all in-sync replicas, idempotently, and batched briefly.
func ProducerOpts(brokers []string) []kgo.Opt {
	return []kgo.Opt{
		kgo.SeedBrokers(brokers...),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(2 * time.Millisecond),
		kgo.ProducerBatchMaxBytes(MaxBatchBytes),
		kgo.MaxBufferedRecords(100_000),
		kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
	}
}

// EnsureTopics creates the events and dead-letter topics when missing.
func EnsureTopics(ctx context.Context, cl *kgo.Client, t Topics) error {
	if err := t.Validate(); err != nil {
		return err
	}
	adm := kadm.NewClient(cl)
	resp, err := adm.CreateTopics(ctx, t.Partitions, t.ReplicationFactor, nil, t.Events, t.DeadLetter)
	if err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	for _, r := range resp.Sorted() {
		if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("create topic %s: %w", r.Topic, r.Err)
		}
	}
	return nil
}

// Embedded is an in-process Kafka-protocol broker that keeps its log in a
// directory, so a restart keeps every event.
type Embedded struct {
	cluster *kfake.Cluster
}

// StartEmbedded starts a one-node broker on addr (host:port, loopback only)
// persisting to dataDir.
func StartEmbedded(addr, dataDir string, partitions int32) (*Embedded, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("kafka address %q: want host:port: %w", addr, err)
	}
	if host != "127.0.0.1" && host != "localhost" {
		return nil, fmt.Errorf("kafka address %q: the embedded broker listens on 127.0.0.1 only", addr)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("kafka address %q: bad port", addr)
	}
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.Ports(port), kfake.DefaultNumPartitions(int(partitions)),
		kfake.AllowAutoTopicCreation()}
	if dataDir != "" {
		opts = append(opts, kfake.DataDir(dataDir))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		if strings.Contains(err.Error(), "address already in use") {
			return nil, fmt.Errorf("start embedded kafka on %s: the port is taken (another siyu run? pick another with --kafka-addr): %w", addr, err)
		}
		return nil, fmt.Errorf("start embedded kafka on %s: %w", addr, err)
	}
	return &Embedded{cluster: c}, nil
}

// Addrs are the broker's listen addresses.
func (e *Embedded) Addrs() []string { return e.cluster.ListenAddrs() }

// Close stops the broker and flushes its log to disk.
func (e *Embedded) Close() { e.cluster.Close() }

// SplitBrokers turns "a:9092,b:9092" into a list.
func SplitBrokers(s string) []string {
	var out []string
	for _, b := range strings.Split(s, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

// readAfterKey is the context key of a read's write token.
type readAfterKey struct{}

// WithReadAfter returns ctx carrying the positions of the writes a read
// must see (the API's Siyu-Read-After): memory views wait for them.
func WithReadAfter(ctx context.Context, ps []Position) context.Context {
	return context.WithValue(ctx, readAfterKey{}, ps)
}

// ReadAfter returns the positions WithReadAfter put in ctx, if any.
func ReadAfter(ctx context.Context) []Position {
	ps, _ := ctx.Value(readAfterKey{}).([]Position)
	return ps
}
