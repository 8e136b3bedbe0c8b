package kafka

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Position is where a produced record landed: its partition and offset.
// It is the read-your-writes token of the API (`Siyu-Write-Token`).
type Position struct {
	Partition int32
	Offset    int64
}

// FormatPositions renders positions as a token: "partition:offset,...".
func FormatPositions(ps []Position) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = strconv.FormatInt(int64(p.Partition), 10) + ":" + strconv.FormatInt(p.Offset, 10)
	}
	return strings.Join(parts, ",")
}

// ErrBadToken means a token was not one FormatPositions made.
var ErrBadToken = errors.New(`a write token is "partition:offset[,partition:offset...]", as a write answered it`)

// maxTokenPositions bounds one token (a client may join the tokens of many writes).
const maxTokenPositions = 256

// ParsePositions parses a token of FormatPositions.
func ParsePositions(s string) ([]Position, error) {
	parts := strings.Split(s, ",")
	if len(parts) > maxTokenPositions {
		return nil, ErrBadToken
	}
	out := make([]Position, 0, len(parts))
	for _, part := range parts {
		ps, os, ok := strings.Cut(strings.TrimSpace(part), ":")
		p, err1 := strconv.ParseInt(ps, 10, 32)
		o, err2 := strconv.ParseInt(os, 10, 64)
		if !ok || err1 != nil || err2 != nil || p < 0 || o < 0 {
			return nil, ErrBadToken
		}
		out = append(out, Position{Partition: int32(p), Offset: o})
	}
	return out, nil
}

// Committed answers whether the ingest group has committed past a record:
// the pipeline commits an offset only after the record's batch is in
// ClickHouse (views included), so a committed offset beyond a write means
// reads see it. Offsets are fetched with kadm and shared for a short while,
// so that many waiting readers cost one request per interval.
type Committed struct {
	adm     *kadm.Client
	group   string
	topic   string
	fresh   time.Duration
	fetchMu sync.Mutex // one fetch at a time; waiters reuse its answer
	mu      sync.Mutex
	offsets map[int32]int64
	at      time.Time
}

// NewCommitted watches group's committed offsets on topic; fetched offsets
// are reused for fresh (e.g. 20 ms).
func NewCommitted(cl *kgo.Client, group, topic string, fresh time.Duration) *Committed {
	return &Committed{adm: kadm.NewClient(cl), group: group, topic: topic, fresh: fresh}
}

// Passed reports whether every position is committed (the group's next
// offset on its partition is beyond it).
func (c *Committed) Passed(ctx context.Context, ps []Position) (bool, error) {
	offsets, err := c.current(ctx)
	if err != nil {
		return false, err
	}
	for _, p := range ps {
		if offsets[p.Partition] <= p.Offset {
			return false, nil
		}
	}
	return true, nil
}

// Wait polls until every position is committed or ctx ends; it reports
// whether they were.
func (c *Committed) Wait(ctx context.Context, ps []Position) (bool, error) {
	for {
		ok, err := c.Passed(ctx, ps)
		if ok || ctx.Err() != nil {
			return ok, nil
		}
		if err != nil {
			return false, err
		}
		select {
		case <-ctx.Done():
			return false, nil
		case <-time.After(c.fresh):
		}
	}
}

func (c *Committed) current(ctx context.Context) (map[int32]int64, error) {
	if o, ok := c.cached(); ok {
		return o, nil
	}
	c.fetchMu.Lock()
	defer c.fetchMu.Unlock()
	if o, ok := c.cached(); ok {
		return o, nil
	}
	offsets, err := FetchCommitted(ctx, c.adm, c.group, c.topic)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.offsets, c.at = offsets, time.Now()
	c.mu.Unlock()
	return offsets, nil
}

// FetchCommitted returns group's committed (next) offsets on topic, by
// partition; a group that never committed has none.
func FetchCommitted(ctx context.Context, adm *kadm.Client, group, topic string) (map[int32]int64, error) {
	resp, err := adm.FetchOffsets(ctx, group)
	if err == nil {
		err = resp.Error()
	}
	if errors.Is(err, kerr.GroupIDNotFound) {
		err = nil // no commits yet (kfake says so; Kafka answers no offsets)
	}
	if err != nil {
		return nil, fmt.Errorf("fetch committed offsets of %s: %w", group, err)
	}
	offsets := map[int32]int64{}
	for p, r := range resp[topic] {
		offsets[p] = r.At
	}
	return offsets, nil
}

func (c *Committed) cached() (map[int32]int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offsets, c.offsets != nil && time.Since(c.at) < c.fresh
}

// Passer tells whether the ingest group has committed past positions:
// everything before them is then in ClickHouse (Committed is one).
type Passer interface {
	Passed(ctx context.Context, ps []Position) (bool, error)
}

// AwaitPassed polls c every poll until it has passed ps or ctx ends; slow is
// called every 10 s of waiting, so that a view loading behind a stalled
// pipeline says so.
func AwaitPassed(ctx context.Context, c Passer, ps []Position, poll time.Duration, slow func()) error {
	if len(ps) == 0 {
		return nil
	}
	warned := time.Now()
	for {
		ok, err := c.Passed(ctx, ps)
		if err != nil || ok {
			return err
		}
		if time.Since(warned) > 10*time.Second {
			slow()
			warned = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}

// EndOffsets returns topic's end offsets by partition: every record
// acknowledged so far is before them.
func EndOffsets(ctx context.Context, adm *kadm.Client, topic string) (map[int32]int64, error) {
	return listedOffsets(ctx, adm.ListEndOffsets, topic)
}

// listedOffsets returns the offsets list answers for topic, by partition.
func listedOffsets(ctx context.Context, list func(context.Context, ...string) (kadm.ListedOffsets, error),
	topic string) (map[int32]int64, error) {
	listed, err := list(ctx, topic)
	if err == nil {
		err = listed.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("list offsets of %s: %w", topic, err)
	}
	out := map[int32]int64{}
	listed.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out, nil
}
