package followup_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/followup"
	"github.com/siyu-dev/siyu/internal/testenv"
	"github.com/siyu-dev/siyu/kafka"
)

// TestMemoryBoardProperty: boards served from memory list exactly the
// brute-force board's customers in its order, page by page, for every view,
// rep and stage filter, when half of the events (shuffled, redelivered) were
// in ClickHouse before the memory board was registered and the other half
// (redeliveries of the first half among them) came through the Kafka tail
// while and after it loaded; and they equal the ClickHouse board's pages.
func TestMemoryBoardProperty(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	conn, _ := testenv.Database(t)
	_, broker := testenv.Kafka(t)
	const topic = "siyu.memboard"
	p := testenv.StartPipeline(t, ctx, conn, broker, topic)
	var first, second []event.Event
	perTenant := map[string][]event.Event{}
	for seed := range uint64(4) {
		r := rand.New(rand.NewPCG(seed, 41))
		tenant := fmt.Sprintf("m%d", seed)
		evs := randomBoardEvents(r, tenant, 200)
		perTenant[tenant] = evs
		all := shuffledWithRepeats(r, evs)
		half := len(all) / 2
		first, second = append(first, all[:half]...), append(second, all[half:]...)
		second = append(second, all[r.IntN(half)]) // a redelivery of a snapshot event
	}
	p.Produce(ctx, first)
	p.WaitIngested(ctx, first)

	cl, err := kgo.NewClient(kafka.ProducerOpts([]string{broker})...)
	require.NoError(t, err)
	defer cl.Close()
	tail, start, err := kafka.Tail(ctx, cl, topic)
	require.NoError(t, err)
	defer tail.Close()
	reader := followup.NewReader(conn)
	boards := followup.NewBoards(conn, reader, kafka.NewCommitted(cl, topic, topic, 20*time.Millisecond), nil, testenv.Logger())
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { _ = boards.Run(runCtx, tail, start) }()
	testenv.Eventually(t, 10*time.Second, func() error {
		for tenant := range perTenant { // the first read registers the tenant
			if _, err := boards.Board(ctx, followup.BoardQuery{Tenant: tenant, StaffID: "s1", View: followup.ViewAll, Limit: 1, Now: boardNow}); err != nil {
				return err
			}
			if _, _, ok := boards.Assignee(tenant, "c00"); !ok {
				return fmt.Errorf("%s: memory board not registered yet", tenant)
			}
		}
		return nil
	})
	p.Produce(ctx, second)
	p.WaitIngested(ctx, append(first, second...))
	ends := endPositions(t, ctx, cl, topic)
	testenv.Eventually(t, 30*time.Second, func() error {
		for tenant := range perTenant {
			if !boards.Ready(tenant) {
				return fmt.Errorf("%s: memory board not loaded", tenant)
			}
		}
		if !boards.Passed(ends) {
			return fmt.Errorf("the tail has not read %v", ends)
		}
		return nil
	})

	for tenant, evs := range perTenant {
		for _, staff := range []string{"s1", "s2", "s3"} {
			for _, view := range followup.Views {
				for _, stage := range boardStages {
					q := followup.BoardQuery{Tenant: tenant, StaffID: staff, View: view, Stage: stage, Limit: 3, Now: boardNow}
					mem := readBoard(t, ctx, boards.Board, q)
					require.Equal(t, boardWant(evs, tenant, staff, view, stage), ids(mem), "%s %s %s %q", tenant, staff, view, stage)
					require.Equal(t, readBoard(t, ctx, reader.Board, q), mem, "%s %s %s %q: memory vs ClickHouse", tenant, staff, view, stage)
				}
			}
		}
		for c := range 30 {
			id := fmt.Sprintf("c%02d", c)
			want, err := reader.Assignee(ctx, tenant, id)
			require.NoError(t, err)
			got, _, ok := boards.Assignee(tenant, id)
			require.True(t, ok)
			require.Equal(t, want, got, "%s %s", tenant, id)
		}
	}
}

// readBoard reads every page of q's board.
func readBoard(t *testing.T, ctx context.Context, board func(context.Context, followup.BoardQuery) (*followup.BoardPage, error), q followup.BoardQuery) []followup.BoardEntry {
	t.Helper()
	var out []followup.BoardEntry
	for range 100 {
		page, err := board(ctx, q)
		require.NoError(t, err)
		out = append(out, page.Items...)
		if page.NextCursor == "" {
			return out
		}
		q.Cursor = page.NextCursor
	}
	t.Fatal("more than 100 pages")
	return nil
}

func ids(entries []followup.BoardEntry) []string {
	out := []string{}
	for _, e := range entries {
		out = append(out, e.ContactID)
	}
	return out
}

// endPositions are the positions of the last record of each non-empty
// partition of topic.
func endPositions(t *testing.T, ctx context.Context, cl *kgo.Client, topic string) []kafka.Position {
	t.Helper()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	require.NoError(t, err)
	var out []kafka.Position
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			out = append(out, kafka.Position{Partition: o.Partition, Offset: o.Offset - 1})
		}
	})
	return out
}
