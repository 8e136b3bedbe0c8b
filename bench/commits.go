package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// waitCommitted waits until the ingest group has committed every partition
// of topic up to its end. `siyu ingest` commits only after ClickHouse has
// accepted a batch, materialized views included, so this is the moment it
// is idle with nothing in flight: stopping it earlier would cancel an
// insert (the rows of events are visible before the views have run).
func waitCommitted(ctx context.Context, cl *kgo.Client, topic string, limit time.Duration) error {
	return waitGroupCommitted(ctx, cl, ingestGroup, topic, limit)
}

// waitGroupCommitted is waitCommitted for another consumer group.
func waitGroupCommitted(ctx context.Context, cl *kgo.Client, group, topic string, limit time.Duration) error {
	adm := kadm.NewClient(cl)
	deadline := time.Now().Add(limit)
	return pollEvery(ctx, 100*time.Millisecond, func() (bool, error) {
		behind, err := uncommitted(ctx, adm, group, topic)
		if err != nil || behind == 0 {
			return behind == 0, err
		}
		if time.Now().After(deadline) {
			return false, fmt.Errorf("group %s still has %d records of %s uncommitted after %s", group, behind, topic, limit)
		}
		return false, nil
	})
}

// uncommitted counts the records of topic past the group's commits.
func uncommitted(ctx context.Context, adm *kadm.Client, group, topic string) (int64, error) {
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return 0, fmt.Errorf("list end offsets of %s: %w", topic, err)
	}
	committed, err := adm.FetchOffsets(ctx, group)
	if errors.Is(err, kerr.GroupIDNotFound) { // not joined yet: nothing committed
		committed, err = kadm.OffsetResponses{}, nil
	}
	if err != nil {
		return 0, fmt.Errorf("fetch offsets of group %s: %w", group, err)
	}
	var behind int64
	var lookupErr error
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			lookupErr = fmt.Errorf("end offset of %s/%d: %w", o.Topic, o.Partition, o.Err)
			return
		}
		at := int64(0)
		if c, ok := committed.Lookup(o.Topic, o.Partition); ok && c.Err == nil && c.At > 0 {
			at = c.At
		}
		behind += max(0, o.Offset-at)
	})
	return behind, lookupErr
}
