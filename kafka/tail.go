package kafka

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Tail returns a client that reads every partition of topic from its
// current end, outside any consumer group (a serving process following
// the events as they arrive), and those end offsets. It reaches the
// brokers cl was seeded with.
func Tail(ctx context.Context, cl *kgo.Client, topic string) (*kgo.Client, map[int32]int64, error) {
	start, err := EndOffsets(ctx, kadm.NewClient(cl), topic)
	if err != nil {
		return nil, nil, err
	}
	from := map[int32]kgo.Offset{}
	for p, o := range start {
		from[p] = kgo.NewOffset().At(o)
	}
	if len(start) == 0 {
		return nil, nil, fmt.Errorf("topic %s has no partitions", topic)
	}
	seeds, _ := cl.OptValue(kgo.SeedBrokers).([]string)
	tail, err := kgo.NewClient(kgo.SeedBrokers(seeds...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: from}),
		kgo.FetchMaxWait(250*time.Millisecond))
	if err != nil {
		return nil, nil, fmt.Errorf("kafka tail client: %w", err)
	}
	return tail, start, nil
}
