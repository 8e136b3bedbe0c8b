package kafka

import (
	"context"
	"errors"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// ErrNotAcknowledged is the error of a record Kafka had not acknowledged
// when the caller's context ended. It may still be stored: an idempotent
// producer never fails a record already sent to a broker that went silent
// (its sequence numbers would break), it retries until the broker answers.
// Events are idempotent by (tenant, source, id), so sending it again is safe.
var ErrNotAcknowledged = errors.New("Kafka did not acknowledge it in time; it may still be stored, and sending it again is safe")

// Producer is the part of a client ProduceSync uses (*kgo.Client).
type Producer interface {
	Produce(ctx context.Context, r *kgo.Record, promise func(*kgo.Record, error))
}

// ProduceSync produces recs and waits until Kafka has acknowledged or failed
// each, or ctx ends, whichever comes first: unlike kgo.Client.ProduceSync,
// which waits for records in flight however long a silent broker takes, it
// answers by ctx's deadline, with ErrNotAcknowledged for the records still
// waiting. The results are in recs' order.
func ProduceSync(ctx context.Context, p Producer, recs ...*kgo.Record) kgo.ProduceResults {
	var (
		mu       sync.Mutex
		errs     = make([]error, len(recs))
		finished = make([]bool, len(recs))
		left     = len(recs)
		all      = make(chan struct{})
	)
	if left == 0 {
		close(all)
	}
	for i, r := range recs {
		p.Produce(ctx, r, func(_ *kgo.Record, err error) {
			mu.Lock()
			defer mu.Unlock()
			errs[i], finished[i] = err, true
			if left--; left == 0 {
				close(all)
			}
		})
	}
	select {
	case <-all:
	case <-ctx.Done():
	}
	mu.Lock()
	defer mu.Unlock()
	out := make(kgo.ProduceResults, len(recs))
	for i, r := range recs {
		out[i].Record = r
		switch {
		case !finished[i]:
			out[i].Err = ErrNotAcknowledged
		default:
			out[i].Err = errs[i]
		}
	}
	return out
}
