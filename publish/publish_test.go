package publish_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/kafka"
	"github.com/siyu-dev/siyu/publish"
)

// broker acknowledges records at increasing offsets of partition
// len(key)%2, fails them with err, or stays silent.
type broker struct {
	mu     sync.Mutex
	err    error
	silent bool
	next   int64
	got    []*kgo.Record
}

func (b *broker) Produce(_ context.Context, r *kgo.Record, promise func(*kgo.Record, error)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.got = append(b.got, r)
	switch {
	case b.silent:
		return
	case b.err != nil:
		promise(r, b.err)
		return
	}
	r.Partition, r.Offset = int32(len(r.Key)%2), b.next
	b.next++
	promise(r, nil)
}

func note(subject, text string) event.Event {
	ev := event.Event{ID: "e-" + subject, Source: "test", Type: event.FollowupLogged, Tenant: "acme", Subject: subject,
		Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	ev.Data.Set(event.FNote, text)
	ev.Data.Set(event.FStaffID, "s1")
	return ev
}

func TestPublish(t *testing.T) {
	ctx := context.Background()
	t.Run("acked: keyed by tenant/subject, token per partition", func(t *testing.T) {
		b := &broker{}
		p := publish.New(b, "siyu.events", 0)
		res, err := p.Publish(ctx, note("c1", "a"), note("c22", "b"), note("c3", "c"))
		require.NoError(t, err)
		require.NoError(t, res.Err())
		require.Equal(t, "acme/c1", string(b.got[0].Key))
		require.Equal(t, "siyu.events", b.got[0].Topic)
		require.Equal(t, []kafka.Position{{Partition: 1, Offset: 2}, {Partition: 0, Offset: 1}}, res.Token())
	})
	t.Run("refused by the contract: nothing produced", func(t *testing.T) {
		b := &broker{}
		bad := note("c1", "a")
		bad.Tenant = "Not A Tenant"
		_, err := publish.New(b, "siyu.events", 0).Publish(ctx, note("c2", "ok"), bad)
		require.ErrorContains(t, err, "encode followup.logged event")
		_, ok := event.AsValidation(err)
		require.False(t, ok, "the writer's bug, not a validation error of its caller: %v", err)
		require.Empty(t, b.got)
	})
	t.Run("too large", func(t *testing.T) {
		_, err := publish.New(&broker{}, "siyu.events", 0).Record("acme/c1", []byte(strings.Repeat("x", kafka.MaxBatchBytes)))
		require.ErrorIs(t, err, publish.ErrTooLarge)
	})
	t.Run("failed and silent brokers", func(t *testing.T) {
		down := errors.New("broker down")
		res, err := publish.New(&broker{err: down}, "t", 0).Publish(ctx, note("c1", "a"))
		require.NoError(t, err)
		require.ErrorIs(t, res.Err(), down)
		require.Empty(t, res.Token())

		start := time.Now()
		res, err = publish.New(&broker{silent: true}, "t", time.Hour).Within(50*time.Millisecond).Publish(ctx, note("c1", "a"))
		require.NoError(t, err)
		require.ErrorIs(t, res.Err(), kafka.ErrNotAcknowledged)
		require.Less(t, time.Since(start), 5*time.Second)
	})
}
