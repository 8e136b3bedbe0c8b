package kafka_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/kafka"
)

// TestProgress: a group that commits what is produced is not stalled;
// records left uncommitted stall it after StallAfter (not at once, though
// nothing was committed for longer while there was nothing to commit);
// commits advancing with records still waiting are progress; a commit
// recovers it; brokers that stop answering stall it too.
func TestProgress(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "events"))
	require.NoError(t, err)
	defer c.Close()
	cl, err := kgo.NewClient(append(kafka.ProducerOpts(c.ListenAddrs()), kgo.DefaultProduceTopic("events"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))...)
	require.NoError(t, err)
	defer cl.Close()
	adm := kadm.NewClient(cl)
	produce := func(partition int32, n int) {
		for range n {
			require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Partition: partition, Value: []byte("e")}).FirstErr())
		}
	}
	commit := func(next map[int32]int64) {
		offsets := kadm.Offsets{}
		for p, at := range next {
			offsets.Add(kadm.Offset{Topic: "events", Partition: p, At: at, LeaderEpoch: -1})
		}
		resp, err := adm.CommitOffsets(ctx, "ingest", offsets)
		require.NoError(t, err)
		require.NoError(t, resp.Error())
	}

	const stallAfter = 400 * time.Millisecond
	reg := prometheus.NewRegistry()
	p, err := kafka.NewProgress(cl, "ingest", "events", kafka.ProgressConfig{Interval: 10 * time.Millisecond, StallAfter: stallAfter}, reg)
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx) }()
	defer func() { stop(); require.NoError(t, <-done) }()

	produce(0, 3)
	produce(1, 2)
	commit(map[int32]int64{0: 3, 1: 2})
	eventually(t, func() error { return want(p.Lag() == 0, "lag %d", p.Lag()) })
	require.NoError(t, p.Stalled())
	require.Less(t, p.LastCommitAge(), stallAfter)

	time.Sleep(2 * stallAfter) // quiet: no commits, nothing to commit
	require.NoError(t, p.Stalled(), "nothing waits")
	require.Greater(t, p.LastCommitAge(), stallAfter)
	produce(1, 2)
	eventually(t, func() error { return want(p.Lag() == 2, "lag %d", p.Lag()) })
	require.NoError(t, p.Stalled(), "the records have only just arrived")
	eventually(t, func() error { return want(p.Stalled() != nil, "not stalled") })
	err = p.Stalled()
	require.ErrorIs(t, err, kafka.ErrStalled)
	require.Contains(t, err.Error(), "ingest group ingest has committed nothing on events")
	require.Contains(t, err.Error(), "2 records wait")
	require.Equal(t, map[string]float64{"siyu_ingest_lag_records": 2, "siyu_ingest_stalled": 1}, gauges(t, reg, "siyu_ingest_lag_records", "siyu_ingest_stalled"))

	// Commits that advance are progress, even with records still waiting.
	produce(0, 10)
	for next := int64(4); next <= 13; next++ {
		commit(map[int32]int64{0: next, 1: 4})
		time.Sleep(stallAfter / 4)
		require.NoError(t, p.Stalled(), "committed %d", next)
	}
	eventually(t, func() error { return want(p.Lag() == 0, "lag %d", p.Lag()) })
	require.Equal(t, map[string]float64{"siyu_ingest_lag_records": 0, "siyu_ingest_stalled": 0}, gauges(t, reg, "siyu_ingest_lag_records", "siyu_ingest_stalled"))
	require.Less(t, gauges(t, reg, "siyu_ingest_last_commit_age_seconds")["siyu_ingest_last_commit_age_seconds"], stallAfter.Seconds())

	// Brokers gone.
	c.Close()
	eventually(t, func() error { return want(p.Stalled() != nil, "not stalled") })
	require.ErrorIs(t, p.Stalled(), kafka.ErrStalled)
	require.Contains(t, p.Stalled().Error(), "the brokers have not said how far ingest group ingest is")
}

func TestProgressConfigValidate(t *testing.T) {
	require.NoError(t, kafka.DefaultProgressConfig().Validate())
	require.Error(t, kafka.ProgressConfig{Interval: 0, StallAfter: time.Second}.Validate())
	require.Error(t, kafka.ProgressConfig{Interval: time.Second, StallAfter: time.Millisecond}.Validate())
}

func eventually(t *testing.T, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func want(ok bool, format string, args ...any) error {
	if ok {
		return nil
	}
	return fmt.Errorf(format, args...)
}

// gauges reads the named gauges of reg.
func gauges(t *testing.T, reg prometheus.Gatherer, names ...string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, n := range names {
			if mf.GetName() == n {
				out[n] = mf.GetMetric()[0].GetGauge().GetValue()
			}
		}
	}
	return out
}
