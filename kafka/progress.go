package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Progress watches the ingest consumer group from outside, the way any
// process can (ingest itself, a serving process answering /readyz): how
// many records of the events topic the group has not committed yet, and
// how long its commits have stood still. The pipeline commits only what
// ClickHouse holds, so records waiting with commits standing still mean
// that nothing new becomes readable — a stuck insert, a dead-letter topic
// refusing writes, no ingest process at all — whatever the reason, which
// the ingest process's own log and metrics give.
type Progress struct {
	adm   *kadm.Client
	group string
	topic string
	cfg   ProgressConfig

	mu        sync.Mutex
	polled    bool            // committed holds an answer
	committed map[int32]int64 // the group's offsets at the last answer
	lag       int64
	advanced  time.Time // when the committed offsets last moved (started if never)
	waiting   time.Time // when lag turned positive; zero while it is 0
	answered  time.Time // when the brokers last answered (started if never)
	lastErr   error     // why the last poll failed; nil after an answer
}

// ProgressConfig tunes a Progress.
type ProgressConfig struct {
	// Interval is how often the offsets are asked for.
	Interval time.Duration
	// StallAfter is how long commits may stand still while records wait,
	// or the brokers may go unanswered, before Stalled says so. It must
	// exceed what one batch takes (the pipeline's batch wait plus a large
	// insert, a few seconds), or a busy pipeline would look stalled.
	StallAfter time.Duration
}

// DefaultProgressConfig asks every second and calls 30 s without progress a
// stall: ten times a slow 100,000-row insert, and soon enough for a
// readiness probe to act on.
func DefaultProgressConfig() ProgressConfig {
	return ProgressConfig{Interval: time.Second, StallAfter: 30 * time.Second}
}

// Validate checks the config.
func (c ProgressConfig) Validate() error {
	switch {
	case c.Interval <= 0:
		return errors.New("kafka: progress interval must be positive")
	case c.StallAfter < c.Interval:
		return fmt.Errorf("kafka: stall-after (%s) must be at least the progress interval (%s)", c.StallAfter, c.Interval)
	}
	return nil
}

// ErrStalled is wrapped by Progress.Stalled's errors.
var ErrStalled = errors.New("ingest is stalled")

// NewProgress watches group's commits on topic through cl's brokers, and
// registers siyu_ingest_lag_records, siyu_ingest_last_commit_age_seconds
// and siyu_ingest_stalled with reg (nil registers nothing; one Progress
// per registry). Run polls.
func NewProgress(cl *kgo.Client, group, topic string, cfg ProgressConfig, reg prometheus.Registerer) (*Progress, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	now := time.Now()
	p := &Progress{adm: kadm.NewClient(cl), group: group, topic: topic, cfg: cfg, advanced: now, answered: now}
	if reg != nil {
		reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "siyu_ingest_lag_records",
				Help: "Records of the events topic the ingest group has not committed, at the last poll.",
			}, func() float64 { return float64(p.Lag()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "siyu_ingest_last_commit_age_seconds",
				Help: "Seconds since the ingest group's committed offsets last advanced (or since the watcher started).",
			}, func() float64 { return p.LastCommitAge().Seconds() }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "siyu_ingest_stalled",
				Help: "1 when records wait and the ingest group has not committed for the stall time, or the brokers do not answer.",
			}, func() float64 {
				if p.Stalled() != nil {
					return 1
				}
				return 0
			}),
		)
	}
	return p, nil
}

// Run polls every Interval until ctx ends, and returns nil then. A failed
// poll is not an error of Run's: Stalled reports it once it has lasted.
func (p *Progress) Run(ctx context.Context) error {
	t := time.NewTicker(p.cfg.Interval)
	defer t.Stop()
	for {
		_ = p.Poll(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Poll asks the brokers once for the group's committed offsets and the
// topic's start and end offsets.
func (p *Progress) Poll(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, p.cfg.StallAfter)
	defer cancel()
	committed, err := FetchCommitted(pctx, p.adm, p.group, p.topic)
	var starts, ends map[int32]int64
	if err == nil {
		starts, err = listedOffsets(pctx, p.adm.ListStartOffsets, p.topic)
	}
	if err == nil {
		ends, err = EndOffsets(pctx, p.adm, p.topic)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.lastErr = err
		return err
	}
	p.observe(time.Now(), committed, starts, ends)
	return nil
}

// observe takes one answer in.
func (p *Progress) observe(now time.Time, committed, starts, ends map[int32]int64) {
	p.lag = 0
	for part, end := range ends {
		from, ok := committed[part]
		if !ok || from < starts[part] {
			from = starts[part] // nothing committed, or committed before what retention kept
		}
		p.lag += max(end-from, 0)
	}
	if p.polled && moved(p.committed, committed) {
		p.advanced = now
	}
	switch {
	case p.lag == 0:
		p.waiting = time.Time{}
	case p.waiting.IsZero():
		p.waiting = now
	}
	p.polled, p.committed = true, committed
	p.answered, p.lastErr = now, nil
}

// moved reports whether any partition's committed offset changed.
func moved(before, after map[int32]int64) bool {
	if len(before) != len(after) {
		return true
	}
	for part, o := range after {
		if b, ok := before[part]; !ok || b != o {
			return true
		}
	}
	return false
}

// Lag is how many records of the topic the group had not committed at the
// last answer, summed over partitions (0 before the first).
func (p *Progress) Lag() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lag
}

// LastCommitAge is the time since the group's committed offsets last
// advanced, or since the watcher started if they never did.
func (p *Progress) LastCommitAge() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return time.Since(p.advanced)
}

// Stalled returns an error wrapping ErrStalled when records have waited
// StallAfter with no commit (counted from when they began to wait, so that
// a first record after a quiet hour is not a stall), or when the brokers
// have not answered for StallAfter; nil otherwise.
func (p *Progress) Stalled() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if silent := now.Sub(p.answered); silent >= p.cfg.StallAfter {
		cause := p.lastErr
		if cause == nil {
			cause = errors.New("no answer yet")
		}
		return fmt.Errorf("%w: the brokers have not said how far ingest group %s is on %s for %s: %w",
			ErrStalled, p.group, p.topic, silent.Round(100*time.Millisecond), cause)
	}
	if p.lag == 0 || p.waiting.IsZero() {
		return nil
	}
	since := p.advanced
	if p.waiting.After(since) {
		since = p.waiting
	}
	if stood := now.Sub(since); stood >= p.cfg.StallAfter {
		return fmt.Errorf("%w: ingest group %s has committed nothing on %s for %s while %d records wait; "+
			"is `siyu ingest` running? Its log and metrics say why (a failing insert, a dead-letter topic refusing writes)",
			ErrStalled, p.group, p.topic, stood.Round(100*time.Millisecond), p.lag)
	}
	return nil
}
