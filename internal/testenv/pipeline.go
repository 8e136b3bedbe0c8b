package testenv

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/ingest"
	"github.com/siyu-dev/siyu/kafka"
)

// Pipeline is the real ingest pipeline consuming one topic of a test broker
// into a test database, for tests that need events folded by ClickHouse
// exactly as in production.
type Pipeline struct {
	t      testing.TB
	conn   driver.Conn
	broker string
	topic  string
}

// StartPipeline creates topic on broker and runs the pipeline from it into
// conn until the test ends.
func StartPipeline(t testing.TB, ctx context.Context, conn driver.Conn, broker, topic string) *Pipeline {
	t.Helper()
	cfg := ingest.DefaultConfig()
	cfg.Brokers, cfg.Group = []string{broker}, topic
	cfg.Topics.Events, cfg.Topics.DeadLetter, cfg.Topics.Partitions = topic, topic+".dlq", 4
	cfg.BatchMaxWait = 50 * time.Millisecond
	cl, err := kgo.NewClient(kafka.ProducerOpts(cfg.Brokers)...)
	if err != nil {
		t.Fatalf("kafka client: %v", err)
	}
	defer cl.Close()
	if err := kafka.EnsureTopics(ctx, cl, cfg.Topics); err != nil {
		t.Fatalf("create topics: %v", err)
	}
	p, err := ingest.New(cfg, conn, nil, Logger())
	if err != nil {
		t.Fatalf("start pipeline: %v", err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("pipeline: %v", err)
		}
		p.Close()
	})
	return &Pipeline{t: t, conn: conn, broker: broker, topic: topic}
}

// Produce sends evs to the pipeline's topic, in the given order.
func (p *Pipeline) Produce(ctx context.Context, evs []event.Event) {
	p.t.Helper()
	cl, err := kgo.NewClient(kafka.ProducerOpts([]string{p.broker})...)
	if err != nil {
		p.t.Fatalf("kafka client: %v", err)
	}
	defer cl.Close()
	for i := range evs {
		e := &evs[i]
		rec := &kgo.Record{Topic: p.topic, Key: []byte(e.Key()), Value: event.AppendJSON(nil, e)}
		if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
			p.t.Fatalf("produce: %v", err)
		}
	}
}

// WaitIngested waits until every distinct event of evs is stored and the
// pipeline has committed every record, so that every insert, its views
// included, has returned: ClickHouse writes an insert's raw part before its
// views' parts, so stored events alone are not enough.
func (p *Pipeline) WaitIngested(ctx context.Context, evs []event.Event) {
	p.t.Helper()
	distinct := map[[3]string]bool{}
	for _, e := range evs {
		distinct[[3]string{e.Tenant, e.Source, e.ID}] = true
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.broker))
	if err != nil {
		p.t.Fatalf("kafka client: %v", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	Eventually(p.t, 3*time.Minute, func() error {
		var n uint64
		if err := p.conn.QueryRow(ctx, "SELECT uniqExact(tenant, source, id) FROM events").Scan(&n); err != nil {
			return err
		}
		if int(n) < len(distinct) {
			return fmt.Errorf("%d of %d distinct events stored", n, len(distinct))
		}
		return Committed(ctx, adm, p.topic)
	})
}

// Committed reports an error until group has committed every record.
func Committed(ctx context.Context, adm *kadm.Client, group string) error {
	lags, err := adm.Lag(ctx, group)
	if err != nil {
		return err
	}
	l := lags[group]
	if err := l.Error(); err != nil {
		return err
	}
	if n := l.Lag.Total(); n != 0 || len(l.Lag) == 0 {
		return fmt.Errorf("group %s: %d records not committed", group, n)
	}
	return nil
}

// EndPositions are the last record of each non-empty partition of topic:
// a view has read everything produced so far once it has passed them.
func EndPositions(t testing.TB, ctx context.Context, cl *kgo.Client, topic string) []kafka.Position {
	t.Helper()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		t.Fatalf("end offsets of %s: %v", topic, err)
	}
	var out []kafka.Position
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			out = append(out, kafka.Position{Partition: o.Partition, Offset: o.Offset - 1})
		}
	})
	return out
}
