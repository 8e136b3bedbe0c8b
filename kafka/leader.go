package kafka

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// LeaderTopic names the topic whose consumer group elects one member of a
// deployment for a role (e.g. "pool-decider"): "<events topic>.<role>".
// Nothing is written to it; its one partition is the token the group's
// coordinator hands to exactly one live member at a time.
func LeaderTopic(events, role string) string { return events + "." + role }

// EnsureLeaderTopic creates an election topic with one partition when it
// is missing (replication -1: the broker's default).
func EnsureLeaderTopic(ctx context.Context, cl *kgo.Client, topic string, replication int16) error {
	resp, err := kadm.NewClient(cl).CreateTopics(ctx, 1, replication, nil, topic)
	if err != nil {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	for _, r := range resp.Sorted() {
		if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("create topic %s: %w", r.Topic, r.Err)
		}
	}
	return nil
}
