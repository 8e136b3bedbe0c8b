package kafka_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/siyu-dev/siyu/kafka"
)

// TestProduceSyncAnswersByTheDeadline: a broker that holds a produce
// request without answering makes kgo.Client.ProduceSync wait past its
// context; kafka.ProduceSync answers by the deadline with
// ErrNotAcknowledged, and the record lands once the broker answers.
func TestProduceSyncAnswersByTheDeadline(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "t"))
	require.NoError(t, err)
	defer c.Close()
	cl, err := kgo.NewClient(kafka.ProducerOpts(c.ListenAddrs())...)
	require.NoError(t, err)
	defer cl.Close()
	ctx := context.Background()
	require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Topic: "t", Value: []byte("warm")}).FirstErr())

	release := make(chan struct{})
	held := make(chan struct{}, 1)
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		select {
		case held <- struct{}{}:
		default:
		}
		c.SleepControl(func() { <-release })
		return nil, nil, false
	})

	dctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	res := kafka.ProduceSync(dctx, cl, &kgo.Record{Topic: "t", Value: []byte("held")})
	took := time.Since(start)
	require.Less(t, took, 2*time.Second, "answered by the deadline")
	require.True(t, errors.Is(res.FirstErr(), kafka.ErrNotAcknowledged), "%v", res.FirstErr())
	<-held

	close(release)
	require.NoError(t, kafka.ProduceSync(ctx, cl, &kgo.Record{Topic: "t", Value: []byte("after")}).FirstErr())
}
