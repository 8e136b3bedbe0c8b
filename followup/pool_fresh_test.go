package followup_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/followup"
	"github.com/siyu-dev/siyu/ingest"
	"github.com/siyu-dev/siyu/internal/testenv"
	"github.com/siyu-dev/siyu/kafka"
	"github.com/siyu-dev/siyu/publish"
	"github.com/siyu-dev/siyu/readmodel"
)

// poolEvents are contact.added events of customers first added by staff,
// released to the pool when pooled.
func poolEvents(tenant, staff string, pooled bool, at time.Time, ids ...string) []event.Event {
	var evs []event.Event
	for _, id := range ids {
		add := event.Event{ID: "add-" + id, Source: "test", Type: event.ContactAdded, Tenant: tenant, Subject: id, Time: at}
		add.Data.Set(event.FStaffID, staff)
		evs = append(evs, add)
		if pooled {
			rel := event.Event{ID: "rel-" + id, Source: "test", Type: event.AssigneeChanged, Tenant: tenant, Subject: id, Time: at.Add(time.Second)}
			rel.Data.Set(event.FReason, "release")
			rel.Data.Set(event.FFromStaffID, staff)
			evs = append(evs, rel)
		}
	}
	return evs
}

func seq(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%06d", prefix, i)
	}
	return out
}

// producer is a Kafka client for the test's broker.
func producer(t testing.TB, broker string) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kafka.ProducerOpts([]string{broker})...)
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return cl
}

// followTail runs memory boards over topic's Kafka tail until the test
// ends, and returns the tail: the one the pool follows in `siyu serve`.
func followTail(t testing.TB, ctx context.Context, conn driver.Conn, broker, topic string) *readmodel.Tail {
	t.Helper()
	cl := producer(t, broker)
	tail, start, err := kafka.Tail(ctx, cl, topic)
	require.NoError(t, err)
	t.Cleanup(tail.Close)
	rmTail := readmodel.NewTail(tail, start, kafka.NewCommitted(cl, topic, topic, 20*time.Millisecond), nil, testenv.Logger())
	followup.NewBoards(conn, followup.NewReader(conn), rmTail, nil, testenv.Logger())
	runTail(t, ctx, rmTail)
	return rmTail
}

// runTail runs tail until the test ends, and fails the test if it ends
// with an error.
func runTail(t testing.TB, ctx context.Context, tail *readmodel.Tail) {
	t.Helper()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- tail.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("read model tail: %v", err)
		}
	})
}

// bookLoads is how often the pool read a tenant's state from ClickHouse.
func bookLoads(t *testing.T, reg prometheus.Gatherer) float64 {
	t.Helper()
	n := 0.0
	for _, reason := range []string{"none", "age", "asked", "behind"} {
		n += counterOr0(t, reg, "siyu_pool_book_loads_total", "reason", reason)
	}
	return n
}

func counterOr0(t *testing.T, reg prometheus.Gatherer, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if mf.GetName() == name && l.GetName() == label && l.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// TestPoolBadRequestFailsAlone: requests whose events the contract refuses
// (ids that are not UTF-8, which no event may carry), decided in the same
// batches as other reps' claims, each get their own field error; every
// claim is written, and the tenant's state is not read again because of
// them.
func TestPoolBadRequestFailsAlone(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, _ := testenv.Database(t)
	_, broker := testenv.Kafka(t)
	const topic = "siyu.poolbad"
	pipe := testenv.StartPipeline(t, ctx, conn, broker, topic)
	ids := seq("c", 240)
	seed := append(poolEvents("acme", "s0", true, time.Now().Add(-time.Hour), ids...),
		poolEvents("acme", "s1", false, time.Now().Add(-time.Hour), "h1", "h2")...)
	pipe.Produce(ctx, seed)
	pipe.WaitIngested(ctx, seed)

	reg := prometheus.NewRegistry()
	pool := followup.NewPool(conn, publish.New(producer(t, broker), topic, 0), followup.DefaultPoolConfig(),
		testenv.Logger(), followup.PoolMetrics(reg))
	defer pool.Close()
	_, err := pool.Rules(ctx, "acme") // reads the tenant's state once
	require.NoError(t, err)
	require.Equal(t, 1.0, bookLoads(t, reg))

	type bad struct {
		field string
		call  func() error
	}
	bads := []bad{
		{"id", func() error { _, err := pool.Depart(ctx, "acme", "\xff", ""); return err }},
		{"successor", func() error { _, err := pool.Depart(ctx, "acme", "s1", "s\xff"); return err }},
		{"staff_id", func() error { _, err := pool.Assign(ctx, "acme", "h1", "\xffs"); return err }},
		{"reason", func() error { _, err := pool.Release(ctx, "acme", "", false, "h2", "gone \xff"); return err }},
		{"to", func() error {
			_, err := pool.Transfer(ctx, "acme", "s1", "\xff", []string{"h1"})
			return err
		}},
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(ids)+10*len(bads))
	start := make(chan struct{})
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out, err := pool.Claim(ctx, "acme", fmt.Sprintf("r%02d", i%40), []string{id})
			if err == nil && len(out.Accepted) != 1 {
				err = fmt.Errorf("claim of %s: %+v", id, out)
			}
			if err != nil {
				err = fmt.Errorf("a good claim of %s failed: %w", id, err)
			}
			errs <- err
		}()
	}
	for i := range 10 * len(bads) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			b := bads[i%len(bads)]
			err := b.call()
			fe, ok := followup.AsFieldError(err)
			switch {
			case !ok:
				err = fmt.Errorf("bad %s: want a field error, got %v", b.field, err)
			case fe.Field != b.field:
				err = fmt.Errorf("bad %s: the error names %q (%v)", b.field, fe.Field, fe)
			default:
				err = nil
			}
			errs <- err
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, 1.0, bookLoads(t, reg), "a refused request makes no reread")
	// The bad requests changed nothing: h1 and h2 are still s1's.
	out, err := pool.Claim(ctx, "acme", "r99", []string{"h1", "h2"})
	require.NoError(t, err)
	require.Equal(t, []followup.Refusal{
		{ContactID: "h1", Rule: followup.RuleNotInPool, Reason: "the customer is assigned to s1"},
		{ContactID: "h2", Rule: followup.RuleNotInPool, Reason: "the customer is assigned to s1"},
	}, out.Refused)
}

// TestPoolDecidesOnCommittedState: contacts added through Kafka and
// committed by the ingest pipeline after the decider read the tenant are
// all handed over by a departure sent right after; with the memory boards'
// tail the decider takes them from it, without reading ClickHouse again.
func TestPoolDecidesOnCommittedState(t *testing.T) {
	for _, withTail := range []bool{false, true} {
		t.Run(map[bool]string{false: "reread", true: "tail"}[withTail], func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			conn, _ := testenv.Database(t)
			_, broker := testenv.Kafka(t)
			const topic = "siyu.poolfresh"
			pipe := testenv.StartPipeline(t, ctx, conn, broker, topic)
			first := poolEvents("acme", "s1", false, time.Now().Add(-time.Hour), "c0")
			pipe.Produce(ctx, first)
			pipe.WaitIngested(ctx, first)

			cl := producer(t, broker)
			var tail *readmodel.Tail
			if withTail {
				tail = followTail(t, ctx, conn, broker, topic)
			}
			reg := prometheus.NewRegistry()
			pool := followup.NewPool(conn, publish.New(cl, topic, 0), followup.DefaultPoolConfig(), testenv.Logger(),
				followup.FreshFrom(followup.NewKafkaOffsets(cl, topic, topic), tail), followup.PoolMetrics(reg))
			defer pool.Close()
			_, err := pool.Rules(ctx, "acme") // the decider reads the tenant now
			require.NoError(t, err)
			loads := bookLoads(t, reg)

			added := poolEvents("acme", "s1", false, time.Now().Add(-time.Minute), seq("n", 20)...)
			pipe.Produce(ctx, added)
			pipe.WaitIngested(ctx, added)
			out, err := pool.Depart(ctx, "acme", "s1", "s2")
			require.NoError(t, err)
			require.ElementsMatch(t, append([]string{"c0"}, seq("n", 20)...), out.Accepted)
			if withTail {
				require.Equal(t, loads, bookLoads(t, reg), "the tail brought the adds: no reread")
			}
		})
	}
}

// waitRole waits until pool has the role.
func waitRole(t *testing.T, pool *followup.Pool, role string) {
	t.Helper()
	testenv.Eventually(t, 30*time.Second, func() error {
		if r := pool.Role(); r != role {
			return fmt.Errorf("role %s, want %s", r, role)
		}
		return nil
	})
}

// electedPool is a pool of one process of a deployment, and its election.
type electedPool struct {
	pool *followup.Pool
	stop context.CancelFunc
	done chan error
}

func startElected(t *testing.T, conn driver.Conn, broker, topic string) *electedPool {
	t.Helper()
	cl := producer(t, broker)
	cfg := followup.DefaultElectionConfig(kafka.Topics{Events: topic, ReplicationFactor: -1}) // as siyu serve's
	e := followup.NewElection(cl, cfg, testenv.Logger())
	pool := followup.NewPool(conn, publish.New(cl, topic, 0), followup.DefaultPoolConfig(), testenv.Logger(),
		followup.FreshFrom(followup.NewKafkaOffsets(cl, topic, topic), nil), followup.ElectedBy(e))
	ctx, stop := context.WithCancel(context.Background())
	ep := &electedPool{pool: pool, stop: stop, done: make(chan error, 1)}
	go func() { ep.done <- e.Run(ctx) }()
	t.Cleanup(ep.close)
	return ep
}

// close leaves the election and stops the pool (again: a no-op).
func (ep *electedPool) close() {
	if ep.stop == nil {
		return
	}
	ep.stop()
	<-ep.done
	ep.pool.Close()
	ep.stop = nil
}

// pipeline runs the ingest pipeline of topic (group: topic) until stop
// or the end of the test; a new one continues from its commits.
func pipeline(t *testing.T, ctx context.Context, conn driver.Conn, broker, topic string) (stop func()) {
	t.Helper()
	cfg := ingest.DefaultConfig()
	cfg.Brokers, cfg.Group = []string{broker}, topic
	cfg.Topics.Events, cfg.Topics.DeadLetter, cfg.Topics.Partitions = topic, topic+".dlq", 4
	cfg.BatchMaxWait = 50 * time.Millisecond
	require.NoError(t, kafka.EnsureTopics(ctx, producer(t, broker), cfg.Topics))
	p, err := ingest.New(cfg, conn, nil, testenv.Logger())
	require.NoError(t, err)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			require.NoError(t, <-done)
			p.Close()
		})
	}
	t.Cleanup(stop)
	return stop
}

// produceIngested produces evs to topic and waits until the pipeline has
// committed them.
func produceIngested(t *testing.T, ctx context.Context, cl *kgo.Client, topic string, evs []event.Event) {
	t.Helper()
	for i := range evs {
		rec := &kgo.Record{Topic: topic, Key: []byte(evs[i].Key()), Value: event.AppendJSON(nil, &evs[i])}
		require.NoError(t, cl.ProduceSync(ctx, rec).FirstErr())
	}
	adm := kadm.NewClient(cl)
	testenv.Eventually(t, time.Minute, func() error { return testenv.Committed(ctx, adm, topic) })
}

// contest has every customer claimed by four reps, two through each pool,
// and returns who was granted what; a refusal must be ErrNotDecider.
func contest(t *testing.T, ctx context.Context, pools []*followup.Pool, ids []string) map[string][]string {
	t.Helper()
	grants := map[string][]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, 4*len(ids))
	for _, id := range ids {
		for i, p := range []*followup.Pool{pools[0], pools[0], pools[1], pools[1]} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rep := fmt.Sprintf("rep%d", i)
				out, err := p.Claim(ctx, "acme", rep, []string{id})
				if err != nil {
					if !errors.Is(err, followup.ErrNotDecider) {
						errs <- fmt.Errorf("claim of %s by %s: %w", id, rep, err)
					}
					return
				}
				mu.Lock()
				defer mu.Unlock()
				for _, c := range out.Accepted {
					grants[c] = append(grants[c], rep)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	return grants
}

// TestPoolElection: two processes' pools over one broker: exactly one
// decides, the other refuses pool writes; contested claims sent to both
// grant each customer once; when the decider leaves, the other takes over
// within a few heartbeats, and does not decide until the pipeline has
// stored every grant of the first (it was stopped before the last ones).
func TestPoolElection(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	conn, _ := testenv.Database(t)
	_, broker := testenv.Kafka(t)
	const topic = "siyu.poolelect"
	stopPipeline := pipeline(t, ctx, conn, broker, topic)
	ids := seq("c", 20)
	produceIngested(t, ctx, producer(t, broker), topic, poolEvents("acme", "s0", true, time.Now().Add(-time.Hour), append(ids, "late")...))

	a, b := startElected(t, conn, broker, topic), startElected(t, conn, broker, topic)
	testenv.Eventually(t, 30*time.Second, func() error {
		if roles := []string{a.pool.Role(), b.pool.Role()}; roles[0] == roles[1] {
			return fmt.Errorf("roles %v", roles)
		}
		return errors.Join(a.pool.Ready(), b.pool.Ready())
	})
	decider, standby := a, b
	if b.pool.Role() == "decider" {
		decider, standby = b, a
	}
	_, err := standby.pool.Claim(ctx, "acme", "x", ids[:1])
	require.ErrorIs(t, err, followup.ErrNotDecider)
	require.ErrorIs(t, standby.pool.Sweep(ctx), followup.ErrNotDecider)
	_, err = standby.pool.Rules(ctx, "acme")
	require.NoError(t, err, "a standby reads the rules from ClickHouse")

	grants := contest(t, ctx, []*followup.Pool{a.pool, b.pool}, ids[:10])
	stopPipeline() // the next grants are in Kafka only
	for c, reps := range contest(t, ctx, []*followup.Pool{a.pool, b.pool}, ids[10:]) {
		grants[c] = reps
	}
	require.Len(t, grants, len(ids))
	for c, reps := range grants {
		require.Len(t, reps, 1, "%s granted to %v", c, reps)
	}

	left := time.Now()
	decider.close()
	waitRole(t, standby.pool, "decider")
	took := time.Since(left)
	t.Logf("takeover: the standby was elected %v after the decider began to leave", took.Round(time.Millisecond))
	require.Less(t, took, 10*time.Second)
	_, err = standby.pool.Claim(ctx, "acme", "rep9", ids[10:])
	require.ErrorIs(t, err, followup.ErrUnavailable, "the pipeline has not stored the last grants: no decision")
	require.Error(t, standby.pool.Ready())

	pipeline(t, ctx, conn, broker, topic)
	testenv.Eventually(t, 30*time.Second, func() error {
		out, err := standby.pool.Claim(ctx, "acme", "rep9", append(append([]string{}, ids...), "late"))
		if err != nil {
			return err
		}
		require.Equal(t, []string{"late"}, out.Accepted)
		require.Len(t, out.Refused, len(ids))
		for _, r := range out.Refused {
			require.Equal(t, followup.RuleNotInPool, r.Rule, "%+v", r)
		}
		return nil
	})
	require.Equal(t, "decider", standby.pool.Role())
	require.NoError(t, standby.pool.Ready())
}
