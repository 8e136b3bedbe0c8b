package readmodel

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/internal/testenv"
	"github.com/siyu-dev/siyu/kafka"
)

// gate is an ingest group that has committed everything once opened.
type gate struct{ open atomic.Bool }

func (g *gate) Passed(context.Context, []kafka.Position) (bool, error) { return g.open.Load(), nil }

// counted is a test model's tenant state: the events it folded and
// whether its snapshot was loaded, with the positions it was registered at.
type counted struct {
	at     []kafka.Position
	loaded atomic.Bool
	events atomic.Int64
}

// runningTail is a tail as Run leaves it, without a broker: at the
// next offsets pos, feeding followers from take.
func runningTail(t *testing.T, committed Committer, reg prometheus.Registerer, pos map[int32]int64) *Tail {
	tl := NewTail(nil, nil, committed, reg, testenv.Logger())
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	tl.running, tl.ctx, tl.pos = true, ctx, pos
	return tl
}

func testModel(dropped *[]string) Model[*counted] {
	return Model[*counted]{
		Name:       "test",
		Reads:      prometheus.CounterOpts{Name: "siyu_test_reads_total", Help: "test"},
		New:        func(at []kafka.Position) *counted { return &counted{at: at} },
		Load:       func(_ context.Context, _ string, c *counted) error { c.loaded.Store(true); return nil },
		Apply:      func(_ string, c *counted, _ *event.Event) { c.events.Add(1) },
		Bytes:      func(c *counted) int64 { return 1000 + c.events.Load() },
		Dropped:    func(tenant string) { *dropped = append(*dropped, tenant) },
		CommitPoll: time.Millisecond,
	}
}

// fetch is one fetch of records of tenants on partition 0 from offset.
func fetch(offset int64, tenants ...string) kgo.Fetches {
	var recs []*kgo.Record
	for i, tenant := range tenants {
		e := event.Event{ID: "e" + strings.Repeat("x", i+1), Source: "test", Type: event.ContactUpdated,
			Tenant: tenant, Subject: "c1", Time: time.Now().UTC()}
		e.Data.Set(event.FStaffID, "s1")
		recs = append(recs, &kgo.Record{Partition: 0, Offset: offset + int64(i), Key: []byte(e.Key()),
			Value: event.AppendJSON(nil, &e), Timestamp: time.Now()})
	}
	return kgo.Fetches{{Topics: []kgo.FetchTopic{{Topic: "events", Partitions: []kgo.FetchPartition{{Partition: 0, Records: recs}}}}}}
}

// TestRegistryLifecycle: a first read registers the tenant at the tail's
// positions; it loads only once the ingest group has committed past them;
// the tail feeds it (and no other tenant) from then on; its bytes are
// exported and the series goes with the tenant when it is idle.
func TestRegistryLifecycle(t *testing.T) {
	reg := prometheus.NewRegistry()
	var committed gate
	tail := runningTail(t, &committed, reg, map[int32]int64{0: 10})
	var dropped []string
	r := NewRegistry(testModel(&dropped), tail, reg, testenv.Logger())

	c, ready := r.Get("acme")
	require.False(t, ready)
	require.Equal(t, []kafka.Position{{Partition: 0, Offset: 9}}, c.at, "registered at the last record read")
	time.Sleep(20 * time.Millisecond)
	require.False(t, c.loaded.Load(), "no load before the ingest group commits past the registration")
	committed.open.Store(true)
	require.Eventually(t, func() bool { return r.Ready("acme") }, 5*time.Second, time.Millisecond)
	require.True(t, c.loaded.Load())
	require.Equal(t, 1000.0, value(t, reg, "siyu_readmodel_bytes", "acme"))

	dec := event.NewDecoder(time.Now)
	at := time.Now()
	tail.take(dec, &at, fetch(10, "acme", "other", "acme"))
	require.Equal(t, int64(2), c.events.Load(), "the tenant's events, not another's")
	require.True(t, tail.Passed([]kafka.Position{{Partition: 0, Offset: 12}}))
	require.False(t, tail.Passed([]kafka.Position{{Partition: 0, Offset: 13}}))
	require.True(t, tail.WaitPassed(context.Background(), []kafka.Position{{Partition: 0, Offset: 12}}))

	r.Served(true)
	r.Served(false)
	require.Equal(t, 1.0, value(t, reg, "siyu_test_reads_total", "memory"))
	require.Equal(t, 1.0, value(t, reg, "siyu_test_reads_total", "clickhouse"))

	tail.sweep(time.Now()) // measured again
	require.Equal(t, 1002.0, value(t, reg, "siyu_readmodel_bytes", "acme"))
	require.Zero(t, r.EvictIdle(time.Now(), time.Hour), "read just now: kept")
	require.Equal(t, 1, r.EvictIdle(time.Now().Add(2*time.Hour), time.Hour))
	require.Equal(t, []string{"acme"}, dropped)
	require.False(t, r.Ready("acme"))
	series := make(chan prometheus.Metric, 10)
	tail.bytes.Collect(series)
	require.Zero(t, len(series), "the dropped tenant's series is deleted")

	c2, _ := r.Get("acme")
	require.NotSame(t, c, c2, "a read after the eviction registers the tenant again")
	require.Equal(t, []kafka.Position{{Partition: 0, Offset: 12}}, c2.at)
}

// TestTailSkipsUnfollowedTenants: a record of a tenant no model follows
// is not decoded, and deciding so allocates nothing.
func TestTailSkipsUnfollowedTenants(t *testing.T) {
	tail := runningTail(t, &gate{}, nil, map[int32]int64{0: 0})
	var dropped []string
	r := NewRegistry(testModel(&dropped), tail, nil, testenv.Logger())
	_, _ = r.Get("acme")
	other := []byte("other")
	require.Zero(t, testing.AllocsPerRun(100, func() {
		tail.mu.Lock()
		_ = tail.follows(other)
		tail.mu.Unlock()
	}))
	require.True(t, r.Follows([]byte("acme")))
	require.False(t, r.Follows([]byte("other")))
}

// TestRegistryWithoutTail: without a tail nothing registers; Put makes a
// tenant ready (a load by a tool or test).
func TestRegistryWithoutTail(t *testing.T) {
	var dropped []string
	r := NewRegistry(testModel(&dropped), nil, nil, testenv.Logger())
	c, ready := r.Get("acme")
	require.Nil(t, c)
	require.False(t, ready)
	r.Put("acme", &counted{})
	require.True(t, r.Ready("acme"))
	require.NoError(t, r.WaitCommitted(context.Background(), []kafka.Position{{Partition: 0, Offset: 1}}))
	var nilTail *Tail
	require.False(t, nilTail.WaitPassed(context.Background(), []kafka.Position{{Partition: 0, Offset: 1}}))
	require.True(t, nilTail.WaitPassed(context.Background(), nil))
}

// value is the value of the gauge or counter name whose last label
// (tenant, source) is want in reg (0 when there is none).
func value(t *testing.T, reg prometheus.Gatherer, name, want string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if ls := m.GetLabel(); len(ls) > 0 && ls[len(ls)-1].GetValue() == want {
				return m.GetGauge().GetValue() + m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
