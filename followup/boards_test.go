package followup_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/followup"
	"github.com/siyu-dev/siyu/internal/reference"
	"github.com/siyu-dev/siyu/internal/testenv"
	"github.com/siyu-dev/siyu/kafka"
	"github.com/siyu-dev/siyu/readmodel"
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
		evs := append(randomBoardEvents(r, tenant, 200), randomRelationEvents(r, tenant, 60)...)
		perTenant[tenant] = evs
		all := shuffledWithRepeats(r, evs)
		half := len(all) / 2
		first, second = append(first, all[:half]...), append(second, all[half:]...)
		second = append(second, all[r.IntN(half)]) // a redelivery of a snapshot event
	}
	p.Produce(ctx, first)
	p.WaitIngested(ctx, first)

	boards, cl := startBoards(t, ctx, conn, broker, topic, nil)
	reader := followup.NewReader(conn)
	testenv.Eventually(t, 10*time.Second, func() error {
		for tenant := range perTenant { // the first read registers the tenant
			if _, err := boards.Board(ctx, followup.BoardQuery{Tenant: tenant, StaffID: "s1", View: followup.ViewAll, Limit: 1, Now: boardNow}); err != nil {
				return err
			}
			if _, ok := boards.Assignee(tenant, "c00"); !ok {
				return fmt.Errorf("%s: memory board not registered yet", tenant)
			}
		}
		return nil
	})
	p.Produce(ctx, second)
	p.WaitIngested(ctx, append(first, second...))
	ends := testenv.EndPositions(t, ctx, cl, topic)
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

	dueSeen := 0
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
			got, ok := boards.Assignee(tenant, id)
			require.True(t, ok)
			require.Equal(t, want, got, "%s %s", tenant, id)
			for _, staff := range []string{"", "s1", "s2", "s3", "s9"} {
				require.Equal(t, mayReadWant(evs, tenant, id, staff), boards.MayRead(tenant, id, staff), "%s %s %q", tenant, id, staff)
			}
		}
		// Reminders and the digest: memory equals ClickHouse for every rep
		// and the whole tenant, at several horizons.
		for _, staff := range []string{"", "s1", "s2", "s3", "s9"} {
			for _, before := range []time.Time{boardNow.Add(-time.Hour), boardNow, boardNow.Add(24 * time.Hour), boardNow.AddDate(1, 0, 0)} {
				want, err := reader.Due(ctx, tenant, staff, before, boardNow)
				require.NoError(t, err)
				got, err := boards.Due(ctx, tenant, staff, before, boardNow, nil)
				require.NoError(t, err)
				require.Equal(t, want, got, "%s due of %q before %s: memory vs ClickHouse", tenant, staff, before)
				dueSeen += len(want)
			}
			scope := followup.Scope{StaffID: staff}
			want, err := reader.DailyDigest(ctx, tenant, scope, boardNow)
			require.NoError(t, err)
			got, err := boards.DailyDigest(ctx, tenant, scope, boardNow, nil)
			require.NoError(t, err)
			require.Equal(t, want, got, "%s digest of %q", tenant, staff)
		}
		require.False(t, boards.MayRead(tenant, "nobody", ""))
		require.False(t, boards.MayRead("m9", "c00", ""), "a tenant without events")
	}
	require.Greater(t, dueSeen, 20, "the due comparisons are not vacuous")
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

// randomRelationEvents: relations ended by removals and moved by transfers
// (to the same staff member too), on the customers of randomBoardEvents.
func randomRelationEvents(r *rand.Rand, tenant string, n int) []event.Event {
	staff := []string{"s1", "s2", "s3"}
	evs := make([]event.Event, n)
	for i := range evs {
		e := event.Event{ID: fmt.Sprintf("r%03d", r.IntN(1000)), Source: "wecom/x", Tenant: tenant,
			Subject: fmt.Sprintf("c%02d", r.IntN(30)), Time: boardNow.Add(-time.Hour + time.Duration(r.IntN(20))*time.Second)}
		if r.IntN(2) == 0 {
			e.Type = event.ContactRemoved
			e.Data.Set(event.FStaffID, staff[r.IntN(3)])
			e.Data.Set(event.FBy, "customer")
		} else {
			e.Type = event.ContactTransferred
			e.Data.Set(event.FFromStaffID, staff[r.IntN(3)])
			e.Data.Set(event.FToStaffID, staff[r.IntN(3)])
		}
		evs[i] = e
	}
	return dedupeIdentity(evs)
}

// mayReadWant is the brute-force answer of Boards.MayRead: the customer has
// a profile event and staff ("" = any role but rep) is its assignee or holds
// a live relation by the latest relation event of the pair.
func mayReadWant(evs []event.Event, tenant, contact, staff string) bool {
	exists := false
	latest := map[string]event.Event{}
	live := map[string]bool{}
	relate := func(e event.Event, s string, l bool) {
		if prev, ok := latest[s]; !ok || eventLess(prev, e) {
			latest[s], live[s] = e, l
		}
	}
	for _, e := range evs {
		if e.Tenant != tenant || e.Subject != contact {
			continue
		}
		exists = exists || e.Type != event.AssigneeChanged
		switch e.Type {
		case event.ContactAdded:
			relate(e, e.Data.StaffID, true)
		case event.ContactRemoved:
			relate(e, e.Data.StaffID, false)
		case event.ContactTransferred:
			relate(e, e.Data.ToStaffID, true)
			if e.Data.FromStaffID != e.Data.ToStaffID {
				relate(e, e.Data.FromStaffID, false)
			}
		}
	}
	if !exists {
		return false
	}
	return staff == "" || reference.Assignees(evs)[tenant+"/"+contact] == staff || live[staff]
}

// startBoards runs memory boards over topic until the test ends.
func startBoards(t *testing.T, ctx context.Context, conn driver.Conn, broker, topic string, reg prometheus.Registerer) (*followup.Boards, *kgo.Client) {
	t.Helper()
	tail, cl := startTail(t, ctx, broker, topic, reg)
	return followup.NewBoards(conn, followup.NewReader(conn), tail, reg, testenv.Logger()), cl
}

// startTail runs a read-model tail of topic, its commits those of the
// group named after the topic (testenv.StartPipeline's); the models on it
// follow it from their construction.
func startTail(t *testing.T, ctx context.Context, broker, topic string, reg prometheus.Registerer) (*readmodel.Tail, *kgo.Client) {
	t.Helper()
	cl, err := kgo.NewClient(kafka.ProducerOpts([]string{broker})...)
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	tailCl, start, err := kafka.Tail(ctx, cl, topic)
	require.NoError(t, err)
	t.Cleanup(tailCl.Close)
	tail := readmodel.NewTail(tailCl, start, kafka.NewCommitted(cl, topic, topic, 20*time.Millisecond), reg, testenv.Logger())
	runTail(t, ctx, tail)
	return tail, cl
}

// TestTimelineCache: while events of a customer keep arriving and clients
// keep reading its first page (cached), every page equals what ClickHouse
// held at some point, and once the events are ingested and tailed, the
// cached page equals ClickHouse's; a bypass reads ClickHouse.
func TestTimelineCache(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, _ := testenv.Database(t)
	_, broker := testenv.Kafka(t)
	const topic = "siyu.timelinecache"
	p := testenv.StartPipeline(t, ctx, conn, broker, topic)
	msg := func(i int) event.Event {
		e := event.Event{ID: fmt.Sprintf("m%04d", i), Source: "wecom/x", Type: event.ChatMessage, Tenant: "tc", Subject: "c1",
			Time: boardNow.Add(time.Duration(i%40) * time.Second)} // later events sort among earlier ones
		e.Data.Set(event.FStaffID, "s1")
		e.Data.Set(event.FDirection, "in")
		return e
	}
	first := []event.Event{msg(0), msg(1)}
	p.Produce(ctx, first)
	p.WaitIngested(ctx, first)
	reg := prometheus.NewRegistry()
	boards, _ := startBoards(t, ctx, conn, broker, topic, reg)
	reader := followup.NewReader(conn)
	testenv.Eventually(t, 20*time.Second, func() error {
		if !boards.MayRead("tc", "c1", "") || !boards.Ready("tc") {
			return fmt.Errorf("memory board of tc not loaded")
		}
		return nil
	})

	readers, done := 4, make(chan struct{})
	errs := make(chan error, readers)
	for range readers {
		go func() {
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				page, err := boards.Timeline(ctx, "tc", "c1", "", 10, false, nil)
				if err != nil {
					errs <- err
					return
				}
				if len(page.Items) < 2 {
					errs <- fmt.Errorf("a page of %d items, want at least the 2 ingested", len(page.Items))
					return
				}
			}
		}()
	}
	var all []event.Event
	for i := range 120 {
		e := msg(2 + i)
		all = append(all, e)
		p.Produce(ctx, []event.Event{e})
	}
	close(done)
	for range readers {
		require.NoError(t, <-errs)
	}
	p.WaitIngested(ctx, append(first, all...))
	ends := testenv.EndPositions(t, ctx, mustClient(t, broker), topic)
	testenv.Eventually(t, 20*time.Second, func() error {
		if !boards.Passed(ends) {
			return fmt.Errorf("tail behind %v", ends)
		}
		return nil
	})
	for _, limit := range []int{10, 50, 100, 7} {
		want, err := reader.Timeline(ctx, "tc", "c1", "", limit)
		require.NoError(t, err)
		for range 2 { // a miss then a hit
			got, err := boards.Timeline(ctx, "tc", "c1", "", limit, false, nil)
			require.NoError(t, err)
			require.Equal(t, want, got, "limit %d", limit)
		}
	}
	require.Positive(t, testenv.Counter(t, reg, "siyu_timeline_first_pages_total", "result", "hit"))
	bypass := testenv.Counter(t, reg, "siyu_timeline_first_pages_total", "result", "bypass")
	_, err := boards.Timeline(ctx, "tc", "c1", "", 10, true, nil)
	require.NoError(t, err)
	require.Equal(t, bypass+1, testenv.Counter(t, reg, "siyu_timeline_first_pages_total", "result", "bypass"))

	// An idle memory board is dropped with its cached pages; the next read
	// loads it again and the pages are ClickHouse's.
	require.Zero(t, boards.EvictIdle(time.Now(), time.Hour), "read just now: kept")
	require.Equal(t, 1, boards.EvictIdle(time.Now().Add(2*time.Hour), time.Hour))
	late := msg(500)
	late.Time = boardNow.Add(time.Hour) // the newest: the first item of a fresh page
	p.Produce(ctx, []event.Event{late}) // while no memory board follows the tenant
	p.WaitIngested(ctx, append(append(first, all...), late))
	want, err := reader.Timeline(ctx, "tc", "c1", "", 10)
	require.NoError(t, err)
	testenv.Eventually(t, 20*time.Second, func() error {
		got, err := boards.Timeline(ctx, "tc", "c1", "", 10, false, nil)
		if err != nil {
			return err
		}
		if !boards.Ready("tc") {
			return fmt.Errorf("memory board of tc loading again")
		}
		if len(got.Items) != len(want.Items) || got.Items[0].ID != want.Items[0].ID {
			return fmt.Errorf("page starts %s, want %s", got.Items[0].ID, want.Items[0].ID)
		}
		return nil
	})
	got, err := boards.Timeline(ctx, "tc", "c1", "", 10, false, nil)
	require.NoError(t, err)
	require.Equal(t, want, got, "after the reload")
	require.Equal(t, late.ID, got.Items[0].ID, "the event that arrived while no memory board followed the tenant")
}

func mustClient(t *testing.T, broker string) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker))
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return cl
}

// TestBoardsBytes: a loaded memory board's bytes are exported per tenant
// (siyu_readmodel_bytes{model="boards"}), about 700 bytes a customer, and
// the series goes with the board when it is dropped.
func TestBoardsBytes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, _ := testenv.Database(t)
	_, broker := testenv.Kafka(t)
	const topic = "siyu.boardsbytes"
	p := testenv.StartPipeline(t, ctx, conn, broker, topic)
	var evs []event.Event
	for i := range 200 {
		e := event.Event{ID: fmt.Sprintf("add%04d", i), Source: "wecom/x", Type: event.ContactAdded, Tenant: "tb",
			Subject: fmt.Sprintf("c%04d", i), Time: boardNow}
		e.Data.Set(event.FStaffID, "s1")
		evs = append(evs, e)
	}
	p.Produce(ctx, evs)
	p.WaitIngested(ctx, evs)
	reg := prometheus.NewRegistry()
	boards, _ := startBoards(t, ctx, conn, broker, topic, reg)
	testenv.Eventually(t, 20*time.Second, func() error {
		if !boards.Ready("tb") {
			return fmt.Errorf("memory board of tb not loaded")
		}
		return nil
	})
	n, ok := boardBytes(t, reg, "tb")
	require.True(t, ok, "the loaded board's series")
	require.InDelta(t, 700*len(evs), n, 500*float64(len(evs)))
	require.Equal(t, 1, boards.EvictIdle(time.Now().Add(2*time.Hour), time.Hour))
	_, ok = boardBytes(t, reg, "tb")
	require.False(t, ok, "the dropped board's series")
}

// boardBytes is siyu_readmodel_bytes{model="boards",tenant=tenant} in reg,
// and whether the series exists.
func boardBytes(t *testing.T, reg prometheus.Gatherer, tenant string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "siyu_readmodel_bytes" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["model"] == "boards" && labels["tenant"] == tenant {
				return m.GetGauge().GetValue(), true
			}
		}
	}
	return 0, false
}
