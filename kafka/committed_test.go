package kafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/kafka"
)

func TestParsePositions(t *testing.T) {
	ps, err := kafka.ParsePositions("2:1041, 0:7")
	require.NoError(t, err)
	require.Equal(t, []kafka.Position{{Partition: 2, Offset: 1041}, {Partition: 0, Offset: 7}}, ps)
	require.Equal(t, "2:1041,0:7", kafka.FormatPositions(ps))
	for _, bad := range []string{"", "x", "1", "1:", ":1", "-1:2", "1:-2", "1:2,", "99999999999:1"} {
		_, err := kafka.ParsePositions(bad)
		require.ErrorIs(t, err, kafka.ErrBadToken, "%q", bad)
	}
}

// TestCommitted: a position counts as passed once the group's committed
// (next) offset on its partition is beyond it, and Wait gives up at its
// context's end.
func TestCommitted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "events"))
	require.NoError(t, err)
	defer c.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic("events"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	require.NoError(t, err)
	defer cl.Close()
	var ps []kafka.Position
	for i := range 3 {
		r := cl.ProduceSync(ctx, &kgo.Record{Partition: 1, Value: []byte{byte(i)}})
		require.NoError(t, r.FirstErr())
		rec, _ := r.First()
		ps = append(ps, kafka.Position{Partition: rec.Partition, Offset: rec.Offset})
	}
	require.Equal(t, kafka.Position{Partition: 1, Offset: 2}, ps[2])

	w := kafka.NewCommitted(cl, "ingest", "events", time.Millisecond)
	ok, err := w.Passed(ctx, ps[:1])
	require.NoError(t, err)
	require.False(t, ok, "nothing committed yet")

	commit := func(next int64) {
		offsets := kadm.Offsets{}
		offsets.Add(kadm.Offset{Topic: "events", Partition: 1, At: next, LeaderEpoch: -1})
		_, err := kadm.NewClient(cl).CommitOffsets(ctx, "ingest", offsets)
		require.NoError(t, err)
		time.Sleep(5 * time.Millisecond) // past the watch's reuse interval
	}
	commit(2)
	ok, err = w.Passed(ctx, ps[:2])
	require.NoError(t, err)
	require.True(t, ok, "offsets 0 and 1 are committed")
	ok, err = w.Passed(ctx, ps)
	require.NoError(t, err)
	require.False(t, ok, "offset 2 is not")

	short, stop := context.WithTimeout(ctx, 50*time.Millisecond)
	defer stop()
	start := time.Now()
	ok, err = w.Wait(short, ps)
	require.NoError(t, err)
	require.False(t, ok)
	require.Less(t, time.Since(start), time.Second)

	go func() { time.Sleep(20 * time.Millisecond); commit(3) }()
	ok, err = w.Wait(ctx, ps)
	require.NoError(t, err)
	require.True(t, ok)
}
