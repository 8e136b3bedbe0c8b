package followup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/siyu-dev/siyu/kafka"
)

// ElectionConfig says how a deployment's `siyu serve` processes elect the
// one that decides pool changes.
type ElectionConfig struct {
	// Group is the consumer group the processes join; every process of a
	// deployment uses the same.
	Group string
	// Topic is the one-partition topic the group hands to exactly one live
	// member: that member decides. Nothing is written to it.
	Topic string
	// Replication of Topic when it is created (-1: the broker's default).
	Replication int16
	// SessionTimeout is how long the group waits for a silent member before
	// it hands the role on: the longest a crashed decider leaves the
	// deployment without one. A decider stops deciding half of it after
	// its last answered heartbeat, so that one cut off from Kafka has
	// stopped, and its last write has landed or failed, before another is
	// elected.
	SessionTimeout time.Duration
	// Heartbeat is how often members tell the group they live; a member
	// learns at its next heartbeat that the decider left, so a graceful
	// hand-over takes about one.
	Heartbeat time.Duration
	// Wait bounds how long a pool write waits for an election still being
	// held (at start-up) before it is refused.
	Wait time.Duration
}

// DefaultElectionConfig elects over topics' "<events>.pool-decider".
func DefaultElectionConfig(topics kafka.Topics) ElectionConfig {
	return ElectionConfig{Group: "siyu-pool-decider", Topic: kafka.LeaderTopic(topics.Events, "pool-decider"),
		Replication: topics.ReplicationFactor, SessionTimeout: 10 * time.Second, Heartbeat: time.Second, Wait: 5 * time.Second}
}

// errNoDecider: no member holds the role (an election is being held, or
// every process is cut off from Kafka).
var errNoDecider = fmt.Errorf("%w: no siyu serve is elected to decide pool changes right now", ErrUnavailable)

// Election elects one decider per deployment through Kafka: every process
// joins one consumer group on a one-partition topic, and the member the
// group gives the partition decides; the others are standbys. The group's
// coordinator hands the partition on when the decider leaves (at once) or
// falls silent (after SessionTimeout); the cooperative balancer revokes it
// from the old member, which first finishes and writes its batch in
// flight, before it assigns it to the new one.
type Election struct {
	cfg  ElectionConfig
	cl   *kgo.Client // for the topic and describing the group
	log  *slog.Logger
	pool *Pool

	mu      sync.Mutex
	holding bool          // the group gave this member the partition
	lease   time.Time     // holding counts until then
	elected bool          // the last look at the group found a member holding it
	err     error         // of the last look at the group
	changed chan struct{} // closed and replaced at every change
}

// NewElection returns an election among the processes of a deployment,
// reaching the brokers cl was seeded with. Give it to one Pool with
// ElectedBy, and Run it.
func NewElection(cl *kgo.Client, cfg ElectionConfig, log *slog.Logger) *Election {
	return &Election{cfg: cfg, cl: cl, log: log, changed: make(chan struct{})}
}

// Run takes part in the election until ctx ends, then leaves the group:
// a decider finishes its batch in flight and another member takes over.
func (e *Election) Run(ctx context.Context) error {
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err := kafka.EnsureLeaderTopic(tctx, e.cl, e.cfg.Topic, e.cfg.Replication)
	cancel()
	if err != nil {
		e.update(func() { e.err = err })
		return fmt.Errorf("pool election: %w", err)
	}
	seeds, _ := e.cl.OptValue(kgo.SeedBrokers).([]string)
	member, err := kgo.NewClient(kgo.SeedBrokers(seeds...),
		kgo.ConsumerGroup(e.cfg.Group), kgo.ConsumeTopics(e.cfg.Topic), kgo.DisableAutoCommit(),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.SessionTimeout(e.cfg.SessionTimeout), kgo.HeartbeatInterval(e.cfg.Heartbeat),
		kgo.OnPartitionsAssigned(e.assigned), kgo.OnPartitionsRevoked(e.revoked), kgo.OnPartitionsLost(e.revoked),
		kgo.WithHooks(leaseHook{e}))
	if err != nil {
		return fmt.Errorf("pool election client: %w", err)
	}
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		e.watch(ctx)
	}()
	for ctx.Err() == nil {
		fetches := member.PollFetches(ctx)
		fetches.EachError(func(_ string, _ int32, err error) {
			if ctx.Err() == nil && !errors.Is(err, context.Canceled) {
				e.log.Warn("pool election: group error", "err", err)
			}
		})
	}
	member.Close() // leaves the group: revoked runs first
	<-watched
	return nil
}

// assigned makes this process the decider: a new term, whose tenants'
// state is read again up to the log's end (the previous decider's last
// writes included).
func (e *Election) assigned(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	if !slices.Contains(m[e.cfg.Topic], 0) {
		return
	}
	e.pool.term.Lock()
	e.pool.epoch.Add(1)
	e.update(func() { e.holding, e.elected = true, true })
	e.pool.term.Unlock()
	e.log.Info("this process decides pool changes now", "group", e.cfg.Group)
}

// revoked ends the term: new batches are refused, and the one in flight
// is written (or refused) before the group may elect another member.
func (e *Election) revoked(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	if !slices.Contains(m[e.cfg.Topic], 0) {
		return
	}
	e.update(func() { e.holding, e.elected = false, false })
	e.pool.term.Lock()
	e.pool.term.Unlock() //nolint:staticcheck // waits for the batch in flight
	e.log.Info("this process no longer decides pool changes", "group", e.cfg.Group)
}

// watch looks at the group every two heartbeats: whether any member
// decides (for a standby's readiness and refusals).
func (e *Election) watch(ctx context.Context) {
	adm := kadm.NewClient(e.cl)
	t := time.NewTicker(2 * e.cfg.Heartbeat)
	defer t.Stop()
	for {
		e.look(ctx, adm)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (e *Election) look(ctx context.Context, adm *kadm.Client) {
	groups, err := adm.DescribeGroups(ctx, e.cfg.Group)
	if ctx.Err() != nil {
		return
	}
	if err == nil {
		err = groups.Error()
	}
	elected := false
	if err == nil {
		g := groups[e.cfg.Group]
		_, elected = g.AssignedPartitions()[e.cfg.Topic][0]
	}
	e.update(func() {
		e.err = err
		if err == nil && !e.holding {
			e.elected = elected
		}
	})
}

// update changes the state under the lock and wakes its waiters.
func (e *Election) update(f func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f()
	close(e.changed)
	e.changed = make(chan struct{})
}

// renew extends the lease from a request the coordinator answered: sent is
// when it was written, before the coordinator could have heard it.
func (e *Election) renew(sent time.Time) {
	end := sent.Add(e.cfg.SessionTimeout / 2)
	e.mu.Lock()
	if end.After(e.lease) {
		e.lease = end
	}
	e.mu.Unlock()
}

// leaseEnd is when this process stops deciding unless the group answers.
func (e *Election) leaseEnd() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lease
}

// deciding reports whether this process decides now.
func (e *Election) deciding() bool { return e.decides() == nil }

// decides is nil when this process decides now, else why not.
func (e *Election) decides() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.decidesLocked()
}

func (e *Election) decidesLocked() error {
	switch {
	case e.holding && time.Now().Before(e.lease):
		return nil
	case e.holding:
		return fmt.Errorf("%w: this process is the pool decider but has not heard from Kafka's group coordinator for %s",
			ErrUnavailable, (e.cfg.SessionTimeout / 2).String())
	case e.elected:
		return ErrNotDecider
	}
	return errNoDecider
}

// await is decides, after waiting (at most Wait) for an election being
// held when no member decides yet.
func (e *Election) await(ctx context.Context) error {
	deadline := time.NewTimer(e.cfg.Wait)
	defer deadline.Stop()
	for {
		e.mu.Lock()
		err, settled, changed := e.decidesLocked(), e.holding || e.elected, e.changed
		e.mu.Unlock()
		if err == nil || settled {
			return err
		}
		select {
		case <-changed:
		case <-deadline.C:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// ready is nil when this process decides, or another member does.
func (e *Election) ready() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	err := e.decidesLocked()
	switch {
	case err == nil, errors.Is(err, ErrNotDecider) && e.err == nil:
		return nil
	case e.err != nil && !e.holding:
		return fmt.Errorf("pool decider election (group %s): %w", e.cfg.Group, e.err)
	}
	return err
}

// leaseHook renews the lease from every answered heartbeat, join and sync
// of the election's member.
type leaseHook struct{ e *Election }

// OnBrokerE2E implements kgo.HookBrokerE2E.
func (h leaseHook) OnBrokerE2E(_ kgo.BrokerMetadata, key int16, e2e kgo.BrokerE2E) {
	switch kmsg.Key(key) {
	case kmsg.Heartbeat, kmsg.JoinGroup, kmsg.SyncGroup:
	default:
		return
	}
	if e2e.Err() == nil {
		h.e.renew(time.Now().Add(-e2e.DurationE2E()))
	}
}
