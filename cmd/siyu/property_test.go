package main

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/adoption"
	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/ingest"
	"github.com/siyu-dev/siyu/internal/reference"
	"github.com/siyu-dev/siyu/internal/testenv"
	"github.com/siyu-dev/siyu/kafka"
	"github.com/siyu-dev/siyu/loadgen"
	"github.com/siyu-dev/siyu/metering"
)

// TestProfilesExactUnderChaos is the at-least-once property: the same event
// set delivered (a) once, in time order, and (b) shuffled, with 20%
// duplicates, through a `siyu ingest` process SIGKILLed twice mid-stream,
// (the rest shared by two of them in one consumer group) yields
// byte-identical derived state — and both equal a brute-force fold of
// the events in Go (internal/reference).
func TestProfilesExactUnderChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary against ClickHouse and Kafka")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	_, broker := testenv.Kafka(t)
	cfg := loadgen.Config{Seed: 42, Tenants: 3, StaffPerTenant: 12, ContactsPerTenant: 1500, Events: 60_000, PaidShare: 0.5}
	distinct := collect(t, cfg)
	truth := reference.Profiles(distinct)

	cleanConn, _ := testenv.Database(t)
	produceTopic(t, ctx, broker, "clean", cfg)
	runInProcess(t, ctx, cleanConn, broker, "clean", len(distinct))
	clean, err := reference.DumpDB(ctx, cleanConn)
	require.NoError(t, err)
	require.Empty(t, reference.Diff(truth, clean), "the clean run differs from the brute-force truth")

	chaos := cfg
	chaos.Shuffle, chaos.DuplicateShare = true, 0.2
	chaosConn, chaosDSN := testenv.Database(t)
	produceTopic(t, ctx, broker, "chaos", chaos)
	args := []string{"ingest", "--clickhouse-dsn", chaosDSN, "--kafka-brokers", broker, "--topic", "chaos",
		"--dlq-topic", "chaos.dlq", "--group", "chaos", "--batch-max-rows", "1000", "--batch-max-wait", "50ms",
		"--kafka-session-timeout", "6s", "--metrics-addr", "", "--partitions", "4", "--insert-workers", "2"}
	for _, share := range []int{3, 3 * 2} { // kill at a third, and at two thirds
		p := startIngest(t, args)
		waitDistinct(t, ctx, chaosConn, len(distinct)*share/9)
		require.NoError(t, p.Process.Signal(syscall.SIGKILL))
		_ = p.Wait()
		stored := countDistinct(t, ctx, chaosConn)
		require.Less(t, stored, len(distinct), "the kill must land mid-stream")
		t.Logf("killed siyu ingest with %d of %d distinct events stored", stored, len(distinct))
	}
	// The rest is shared by two processes of one consumer group.
	procs := []*exec.Cmd{startIngest(t, args), startIngest(t, args)}
	waitDistinct(t, ctx, chaosConn, len(distinct))
	waitCommitted(t, ctx, broker, "chaos")
	for _, p := range procs {
		require.NoError(t, p.Process.Signal(syscall.SIGTERM))
		require.NoError(t, p.Wait())
	}

	got, err := reference.DumpDB(ctx, chaosConn)
	require.NoError(t, err)
	require.Empty(t, reference.Diff(clean, got), "the chaotic run differs from the clean one")
	require.Equal(t, strings.Join(clean, "\n"), strings.Join(got, "\n"))
	t.Logf("%d events (%d deliveries in the chaotic run), %d state lines identical", len(distinct),
		len(distinct)+int(float64(len(distinct))*0.2+0.5), len(got))
	checkMetricsAndMeters(t, ctx, chaosConn, distinct)
}

// collect returns the distinct events of cfg, cloned.
// checkMetricsAndMeters compares every series (platform-wide and per
// tenant) and every daily meter that conn answers with the brute-force
// reference over evs: the metrics and meters, too, are exact across kills.
func checkMetricsAndMeters(t *testing.T, ctx context.Context, conn driver.Conn, evs []event.Event) {
	t.Helper()
	from, to := adoption.DayOf(evs[0].Time), adoption.DayOf(evs[0].Time)
	tenants := map[string]bool{}
	for _, e := range evs {
		from, to = min(from, adoption.DayOf(e.Time)), max(to, adoption.DayOf(e.Time))
		tenants[e.Tenant] = true
	}
	ref, svc := reference.NewMetrics(evs), adoption.NewService(conn, nil)
	nonZero := 0
	for _, m := range adoption.Metrics() {
		for _, tn := range append([]string{""}, slices.Sorted(maps.Keys(tenants))...) {
			q := adoption.Query{Metric: m, From: from, To: to, Tenant: tn}
			got, err := svc.Active(ctx, q)
			require.NoError(t, err)
			require.Equal(t, ref.Series(q), got, "%+v", q)
			for _, p := range got.Series {
				if p.Value != nil && *p.Value != 0 {
					nonZero++
				}
			}
		}
	}
	require.Greater(t, nonZero, 100, "the metrics comparison must not be vacuous")
	meters := reference.NewMetering(evs)
	daily, err := metering.NewService(conn, nil).Daily(ctx, "", from, to)
	require.NoError(t, err)
	require.Len(t, daily, len(meters.Tenants()))
	for tn, days := range daily {
		for _, d := range days {
			require.Equal(t, meters.Day(tn, d.Day), d, "tenant %s day %s", tn, d.Day)
		}
	}
}

func collect(t *testing.T, cfg loadgen.Config) []event.Event {
	g, err := loadgen.New(cfg)
	require.NoError(t, err)
	var out []event.Event
	var e event.Event
	for g.Next(&e) {
		out = append(out, e.Clone())
	}
	return out
}

func produceTopic(t *testing.T, ctx context.Context, broker, topic string, cfg loadgen.Config) {
	t.Helper()
	cl, err := kgo.NewClient(kafka.ProducerOpts([]string{broker})...)
	require.NoError(t, err)
	defer cl.Close()
	topics := kafka.Topics{Events: topic, DeadLetter: topic + ".dlq", Partitions: 4, ReplicationFactor: -1}
	require.NoError(t, kafka.EnsureTopics(ctx, cl, topics))
	g, err := loadgen.New(cfg)
	require.NoError(t, err)
	_, err = produceStream(ctx, cl, topic, g, 0, func(int) {})
	require.NoError(t, err)
}

func runInProcess(t *testing.T, ctx context.Context, conn driver.Conn, broker, topic string, want int) {
	t.Helper()
	cfg := ingest.DefaultConfig()
	cfg.Brokers, cfg.Group = []string{broker}, topic
	cfg.Topics.Events, cfg.Topics.DeadLetter = topic, topic+".dlq"
	cfg.BatchMaxWait = 50 * time.Millisecond
	p, err := ingest.New(cfg, conn, nil, testenv.Logger())
	require.NoError(t, err)
	defer p.Close()
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(rctx) }()
	waitDistinct(t, ctx, conn, want)
	waitCommitted(t, ctx, broker, topic)
	stop()
	require.NoError(t, <-done)
}

func startIngest(t *testing.T, args []string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(siyuBin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() {
			t.Logf("siyu ingest output:\n%s", out.String())
		}
	})
	return cmd
}

// waitDistinct waits until the events table holds at least n distinct events.
func waitDistinct(t *testing.T, ctx context.Context, conn driver.Conn, n int) {
	t.Helper()
	testenv.Eventually(t, 3*time.Minute, func() error {
		if got := countDistinct(t, ctx, conn); got < n {
			return fmt.Errorf("%d of %d distinct events stored", got, n)
		}
		return nil
	})
}

// waitCommitted waits until group has committed every record: each insert,
// its materialized views included, has returned. Stored events alone are not
// enough: ClickHouse writes an insert's raw part before its views' parts.
func waitCommitted(t *testing.T, ctx context.Context, broker, group string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker))
	require.NoError(t, err)
	defer cl.Close()
	adm := kadm.NewClient(cl)
	testenv.Eventually(t, 3*time.Minute, func() error { return testenv.Committed(ctx, adm, group) })
}

func countDistinct(t *testing.T, ctx context.Context, conn driver.Conn) int {
	t.Helper()
	var got uint64
	require.NoError(t, conn.QueryRow(ctx, "SELECT uniqExact(tenant, source, id) FROM events").Scan(&got))
	return int(got)
}
