package cdp_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/cdp"
	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/followup"
	"github.com/siyu-dev/siyu/internal/reference"
	"github.com/siyu-dev/siyu/internal/testenv"
	"github.com/siyu-dev/siyu/kafka"
	"github.com/siyu-dev/siyu/loadgen"
	"github.com/siyu-dev/siyu/readmodel"
)

// TestMemorySegmentsFollowTheLog: half of the events (shuffled, some
// redelivered) are in ClickHouse before a tenant's segments are first read,
// the rest — library changes included — arrive through the tail while and
// after the memory loads. Once the memory has covered the end of the log,
// every random segment's count and members from memory equal the
// brute-force evaluation of all the events, and its member columns equal
// ClickHouse's. A read after a write sees the write.
func TestMemorySegmentsFollowTheLog(t *testing.T) {
	if testing.Short() {
		t.Skip("needs ClickHouse, Kafka and the pipeline")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	conn, _ := testenv.Database(t)
	_, broker := testenv.Kafka(t)
	const topic = "siyu.memsegments"
	p := testenv.StartPipeline(t, ctx, conn, broker, topic)
	events := segmentEvents(t)
	r := rand.New(rand.NewPCG(17, 19))
	all := append([]event.Event(nil), events...)
	for range len(events) / 10 { // redeliveries
		all = append(all, events[r.IntN(len(events))])
	}
	r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	first, second := all[:len(all)/2], all[len(all)/2:]
	p.Produce(ctx, first)
	p.WaitIngested(ctx, first)

	cl, err := kgo.NewClient(kafka.ProducerOpts([]string{broker})...)
	require.NoError(t, err)
	defer cl.Close()
	tail, start, err := kafka.Tail(ctx, cl, topic)
	require.NoError(t, err)
	defer tail.Close()
	committed := kafka.NewCommitted(cl, topic, topic, 20*time.Millisecond)
	rmTail := readmodel.NewTail(tail, start, committed, nil, testenv.Logger())
	followup.NewBoards(conn, followup.NewReader(conn), rmTail, nil, testenv.Logger())
	mem := cdp.NewMemory(conn, rmTail, nil, testenv.Logger())
	now := loadgen.DefaultEnd.Add(-5 * 24 * time.Hour)
	mem.SetClock(func() time.Time { return now })
	runCtx, stop := context.WithCancel(ctx)
	var running sync.WaitGroup
	defer running.Wait()
	defer stop()
	for _, run := range []func(context.Context) error{rmTail.Run, mem.Run} {
		running.Go(func() {
			if err := run(runCtx); err != nil {
				t.Errorf("read model: %v", err)
			}
		})
	}
	segs := cdp.NewSegments(conn, mem)
	chSegs := cdp.NewSegments(conn, nil)

	contacts := reference.Contacts(events)
	v := newVocab(contacts)
	everyone, err := cdp.ParseSegment([]byte(`{"or": [{"lost": true}, {"lost": false}]}`))
	require.NoError(t, err)
	testenv.Eventually(t, 30*time.Second, func() error {
		for _, tenant := range v.tenants { // the first read registers the tenant
			if _, err := segs.Count(ctx, tenant, everyone, now); err != nil {
				return err
			}
			if !mem.Ready(tenant) {
				return fmt.Errorf("%s: not in memory yet", tenant)
			}
		}
		return nil
	})
	p.Produce(ctx, second)
	p.WaitIngested(ctx, all)
	ends := testenv.EndPositions(t, ctx, cl, topic)
	testenv.Eventually(t, 30*time.Second, func() error {
		for _, tenant := range v.tenants {
			if !mem.Covered(tenant, ends) {
				return fmt.Errorf("%s: memory has not covered %v", tenant, ends)
			}
		}
		return nil
	})

	for i := range 120 {
		tenant := v.tenants[i%len(v.tenants)]
		g := v.cond(r, tenant, 0)
		seg, def := g.segment(t)
		want := g.members(contacts, tenant, now)
		n, err := segs.Count(ctx, tenant, seg, now)
		require.NoError(t, err)
		require.Equal(t, uint64(len(want)), n, "memory count of %s in %s", def, tenant)
		var streamed []string
		require.NoError(t, segs.EachID(ctx, tenant, seg, now, "", func(id string) error {
			streamed = append(streamed, id)
			return nil
		}))
		require.Equal(t, strings.Join(want, " "), strings.Join(streamed, " "), "memory members of %s in %s", def, tenant)
		memPage, err := segs.Page(ctx, tenant, seg, now, "", cdp.MaxSegmentPage)
		require.NoError(t, err)
		chPage, err := chSegs.Page(ctx, tenant, seg, now, "", cdp.MaxSegmentPage)
		require.NoError(t, err)
		require.Equal(t, sortedMembers(chPage), memPage, "memory vs ClickHouse columns of %s in %s", def, tenant)
	}

	// Every profile from memory equals ClickHouse's, by any id.
	profiles := cdp.NewProfiles(conn, nil).WithClock(func() time.Time { return now })
	memProfiles := cdp.NewProfiles(conn, mem).WithClock(func() time.Time { return now })
	read := 0
	for _, c := range contacts {
		for _, id := range []string{c.ContactID, c.UnionID} {
			if id == "" {
				continue
			}
			want, err := profiles.Get(ctx, c.Tenant, id)
			require.NoError(t, err, "%s/%s", c.Tenant, id)
			got, err := memProfiles.Get(ctx, c.Tenant, id)
			require.NoError(t, err, "%s/%s from memory", c.Tenant, id)
			require.Equal(t, want, got, "%s/%s: memory vs ClickHouse", c.Tenant, id)
			read++
		}
	}
	require.Greater(t, read, 100)

	t.Run("a read after a write sees it", func(t *testing.T) {
		seg, err := cdp.ParseSegment([]byte(`{"tag": {"has": "tag-after-write"}}`))
		require.NoError(t, err)
		ev := event.Event{ID: "after-write-1", Source: "memory-test", Type: event.TagAdded, Tenant: "t0001",
			Subject: "brand-new-customer", Time: now.Add(-time.Hour).UTC()}
		ev.Data.Set(event.FTagID, "tag-after-write")
		rec := &kgo.Record{Topic: topic, Key: []byte(ev.Key()), Value: event.AppendJSON(nil, &ev)}
		require.NoError(t, cl.ProduceSync(ctx, rec).FirstErr())
		after := kafka.WithReadAfter(ctx, []kafka.Position{{Partition: rec.Partition, Offset: rec.Offset}})
		start := time.Now()
		page, err := segs.Page(after, "t0001", seg, now, "", 10)
		require.NoError(t, err)
		require.Len(t, page, 1)
		require.Equal(t, "brand-new-customer", page[0].ContactID)
		require.True(t, mem.Covered("t0001", []kafka.Position{{Partition: rec.Partition, Offset: rec.Offset}}),
			"served from memory after %s", time.Since(start))
		all, err := segs.Page(ctx, "t0001", everyone, now, "", cdp.MaxSegmentPage)
		require.NoError(t, err)
		ids := make([]string, len(all))
		for i, m := range all {
			ids[i] = m.ContactID
		}
		require.IsIncreasing(t, ids, "a new customer joins the order by contact id")
	})

	t.Run("tenants are walls", func(t *testing.T) {
		n, err := segs.Count(ctx, "t0001", everyone, now)
		require.NoError(t, err)
		other, err := segs.Count(ctx, "t0002", everyone, now)
		require.NoError(t, err)
		none, err := segs.Count(ctx, "no-such-tenant", everyone, now)
		require.NoError(t, err)
		var want1, want2 uint64
		for _, c := range contacts {
			switch c.Tenant {
			case "t0001":
				want1++
			case "t0002":
				want2++
			}
		}
		require.Equal(t, want1+1, n, "t0001 and its new customer")
		require.Equal(t, want2, other)
		require.Zero(t, none)
	})
}
