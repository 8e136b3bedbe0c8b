package followup

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/internal/testenv"
	"github.com/siyu-dev/siyu/kafka"
	"github.com/siyu-dev/siyu/publish"
)

// TestDeciderState: a failed write decides nothing, and the decider's own
// decisions survive a reread of ClickHouse that does not have them yet
// (the pipeline's lag).
func TestDeciderState(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, _ := testenv.Database(t)
	_, broker := testenv.Kafka(t)
	p := testenv.StartPipeline(t, ctx, conn, broker, "siyu.events")
	at := time.Now().Add(-time.Hour).UTC()
	var seed []event.Event
	for _, c := range []string{"c1", "c2"} {
		add := event.Event{ID: "add-" + c, Source: "test", Type: event.ContactAdded, Tenant: "acme", Subject: c, Time: at}
		add.Data.Set(event.FStaffID, "s0")
		rel := event.Event{ID: "rel-" + c, Source: "test", Type: event.AssigneeChanged, Tenant: "acme", Subject: c, Time: at.Add(time.Second)}
		rel.Data.Set(event.FReason, "release")
		seed = append(seed, add, rel)
	}
	p.Produce(ctx, seed)
	p.WaitIngested(ctx, seed)

	cl, err := kgo.NewClient(kafka.ProducerOpts([]string{broker})...)
	require.NoError(t, err)
	defer cl.Close()
	var mode atomic.Int32 // 0: write, 1: fail, 2: acknowledge without writing (lag)
	prod := producerFunc(func(ctx context.Context, r *kgo.Record, promise func(*kgo.Record, error)) {
		switch mode.Load() {
		case 1:
			promise(r, errors.New("broker down"))
		case 2:
			promise(r, nil)
		default:
			cl.Produce(ctx, r, promise)
		}
	})
	pool := NewPool(conn, publish.New(prod, "siyu.events", 0), DefaultPoolConfig(), testenv.Logger())
	defer pool.Close()

	mode.Store(1)
	_, err = pool.Claim(ctx, "acme", "s1", []string{"c1"})
	require.ErrorIs(t, err, ErrUnavailable)
	mode.Store(0)
	out, err := pool.Claim(ctx, "acme", "s2", []string{"c1"})
	require.NoError(t, err)
	require.Equal(t, []string{"c1"}, out.Accepted, "the failed claim decided nothing")

	mode.Store(2)
	out, err = pool.Claim(ctx, "acme", "s1", []string{"c2"})
	require.NoError(t, err)
	require.Equal(t, []string{"c2"}, out.Accepted)
	mode.Store(0)
	// Reread ClickHouse, which lacks the claim of c2 (never written here).
	_, err = pool.do(ctx, "acme", true, func(*decision) error { return nil })
	require.NoError(t, err)
	out, err = pool.Claim(ctx, "acme", "s3", []string{"c2", "c1", "c9"})
	require.NoError(t, err)
	require.Empty(t, out.Accepted)
	require.Equal(t, []Refusal{
		{ContactID: "c2", Rule: RuleNotInPool, Reason: "the customer is assigned to s1"},
		{ContactID: "c1", Rule: RuleNotInPool, Reason: "the customer is assigned to s2"},
		{ContactID: "c9", Rule: RuleUnknownCustomer, Reason: "no such customer in this tenant"},
	}, out.Refused)
	out, err = pool.Claim(ctx, "other", "s3", []string{"c1"})
	require.NoError(t, err)
	require.Equal(t, RuleUnknownCustomer, out.Refused[0].Rule, "tenants are walled")
}

// producerFunc is a kafka.Producer made of a function.
type producerFunc func(ctx context.Context, r *kgo.Record, promise func(*kgo.Record, error))

func (f producerFunc) Produce(ctx context.Context, r *kgo.Record, promise func(*kgo.Record, error)) {
	f(ctx, r, promise)
}
