package followup_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/followup"
	"github.com/siyu-dev/siyu/internal/testenv"
	"github.com/siyu-dev/siyu/publish"
)

// BenchmarkPoolClaims: one-customer claims from 32 concurrent clients
// through a pool over kfake and ClickHouse, with the ingest pipeline
// running: alone (no freshness cut), with the ingest cut and rereads, and
// with the cut and the read-model tail (as `siyu serve` runs it).
//
//	go test -run '^$' -bench BenchmarkPoolClaims -benchtime 20000x ./followup/
func BenchmarkPoolClaims(b *testing.B) {
	for _, mode := range []string{"alone", "cut", "cut+tail"} {
		b.Run(mode, func(b *testing.B) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			conn, _ := testenv.Database(b)
			_, broker := testenv.Kafka(b)
			const topic = "siyu.poolbench"
			pipe := testenv.StartPipeline(b, ctx, conn, broker, topic)
			ids := seq("c", b.N)
			seed := poolEvents("acme", "s0", true, time.Now().Add(-time.Hour), ids...)
			cl := producer(b, broker)
			recs := make([]*kgo.Record, len(seed))
			for i := range seed {
				recs[i] = &kgo.Record{Topic: topic, Key: []byte(seed[i].Key()), Value: event.AppendJSON(nil, &seed[i])}
			}
			must(b, cl.ProduceSync(ctx, recs...).FirstErr())
			pipe.WaitIngested(ctx, seed)
			var opts []followup.PoolOption
			switch mode {
			case "cut":
				opts = append(opts, followup.FreshFrom(followup.NewKafkaOffsets(cl, topic, topic), nil))
			case "cut+tail":
				tail := followTail(b, ctx, conn, broker, topic)
				opts = append(opts, followup.FreshFrom(followup.NewKafkaOffsets(cl, topic, topic), tail))
			}
			pool := followup.NewPool(conn, publish.New(cl, topic, 0), followup.DefaultPoolConfig(), testenv.Logger(), opts...)
			defer pool.Close()
			_, err := pool.Rules(ctx, "acme")
			must(b, err)
			var next atomic.Int64
			var failed atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for c := range 32 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := int(next.Add(1)) - 1
						if i >= len(ids) {
							return
						}
						out, err := pool.Claim(ctx, "acme", fmt.Sprintf("r%02d", c), []string{ids[i]})
						if err != nil || len(out.Accepted) != 1 {
							failed.Add(1)
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "claims/s")
			if n := failed.Load(); n > 0 {
				b.Fatalf("%d claims failed", n)
			}
		})
	}
}

func must(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}
