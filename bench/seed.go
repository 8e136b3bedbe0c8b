package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// seedLimit bounds the loading of a figure's tenant.
const seedLimit = 20 * time.Minute

// seed loads a figure's tenant through the binary, as any producer would:
// the events go to a topic of their own, and `siyu ingest` stores them in
// dsn's database (its views fold them) until its group has committed
// every one; then it is stopped. The figures' own `siyu serve` and `siyu
// ingest` never see the seed topic, so their memory read models load the
// seed from ClickHouse, as they did when the harness inserted it directly.
func (h *harness) seed(ctx context.Context, dsn, name string, events func(yield func(wireEvent) bool)) error {
	return h.seedWith(ctx, dsn, name, func(topic string) (int, error) {
		return produceEvents(ctx, h.env.producer, topic, events)
	})
}

// seedWith is seed with the events produced to topic by produce (say, by
// `siyu loadgen`), which returns how many it produced.
func (h *harness) seedWith(ctx context.Context, dsn, name string, produce func(topic string) (int, error)) error {
	topic, group := "siyu.bench.seed."+name, "bench-seed-"+name
	if err := h.env.ensureTopics(ctx, topic, topic+".dlq"); err != nil {
		return err
	}
	start := time.Now()
	n, err := produce(topic)
	if err != nil {
		return fmt.Errorf("seed %s: %w", name, err)
	}
	if n == 0 { // the producer did not count them
		n64, err := recordsIn(ctx, kadm.NewClient(h.env.producer), topic)
		if err != nil {
			return err
		}
		n = int(n64)
	}
	h.say("seed %s: %s events produced in %s; siyu ingest stores them", name, thousands(n), round(time.Since(start)))
	// Inserts of 100,000 rows, as the harness's Writer made them: a backlog
	// read under load would otherwise close a batch every 250 ms, and the
	// figures would read a tenant of many small parts.
	ing, err := startChild("ingest-seed-"+name, h.env.logFile("ingest-seed-"+name), h.cfg.siyu, "ingest",
		"--clickhouse-dsn", dsn, "--kafka-brokers", h.env.broker, "--metrics-addr", "",
		"--topic", topic, "--dlq-topic", topic+".dlq", "--group", group,
		"--batch-max-rows", "100000", "--batch-max-bytes", strconv.Itoa(256<<20), "--batch-max-wait", "10s")
	if err != nil {
		return err
	}
	defer h.release(ctx, ing)
	if err := waitGroupCommitted(ctx, h.env.producer, group, topic, seedLimit); err != nil {
		return fmt.Errorf("seed %s: %w", name, err)
	}
	if dead, err := recordsIn(ctx, kadm.NewClient(h.env.producer), topic+".dlq"); err != nil || dead > 0 {
		return fmt.Errorf("seed %s: %d events dead-lettered (%v); see %s", name, dead, err, ing.log)
	}
	h.say("seed %s: stored and committed %s after the start", name, round(time.Since(start)))
	return ing.stop(15 * time.Second)
}

// recordsIn counts the records of topic.
func recordsIn(ctx context.Context, adm *kadm.Client, topic string) (int64, error) {
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return 0, err
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) { n += max(0, o.Offset) })
	return n, nil
}
