package ingest_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/ingest"
	"github.com/siyu-dev/siyu/internal/testenv"
	"github.com/siyu-dev/siyu/kafka"
)

// poisonEnv is a pipeline over one test broker and one test database, with
// a producer that can send anything the broker takes.
type poisonEnv struct {
	t      *testing.T
	ctx    context.Context
	conn   driver.Conn
	broker string
	cfg    ingest.Config
	prod   *kgo.Client
	adm    *kadm.Client
	done   chan error
	stop   context.CancelFunc
}

// newPoisonEnv creates the topics (the dead-letter one with dlqConfigs) on
// a one-partition events topic, so that the records after a poison are
// behind it in the log; start runs the pipeline.
func newPoisonEnv(t *testing.T, dlqConfigs map[string]*string) *poisonEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	conn, _ := testenv.Database(t)
	_, broker := testenv.Kafka(t)
	cfg := ingest.DefaultConfig()
	cfg.Brokers, cfg.Group = []string{broker}, "ingest"
	cfg.Topics.Partitions = 1
	cfg.BatchMaxWait = 50 * time.Millisecond
	prod, err := kgo.NewClient(append(kafka.ProducerOpts(cfg.Brokers), kgo.DefaultProduceTopic(cfg.Topics.Events))...)
	require.NoError(t, err)
	t.Cleanup(prod.Close)
	adm := kadm.NewClient(prod)
	resp, err := adm.CreateTopics(ctx, 1, -1, dlqConfigs, cfg.Topics.DeadLetter)
	require.NoError(t, err)
	require.NoError(t, resp.Error())
	require.NoError(t, kafka.EnsureTopics(ctx, prod, cfg.Topics))
	return &poisonEnv{t: t, ctx: ctx, conn: conn, broker: broker, cfg: cfg, prod: prod, adm: adm}
}

func (e *poisonEnv) start() {
	e.t.Helper()
	p, err := ingest.New(e.cfg, e.conn, nil, testenv.Logger())
	require.NoError(e.t, err)
	runCtx, stop := context.WithCancel(e.ctx)
	e.done, e.stop = make(chan error, 1), stop
	go func() { e.done <- p.Run(runCtx) }()
	e.t.Cleanup(func() {
		stop()
		<-e.done
		p.Close()
	})
}

// produce sends values in order; a value's key is its tenant's.
func (e *poisonEnv) produce(values ...[]byte) {
	e.t.Helper()
	for _, v := range values {
		rec := &kgo.Record{Key: []byte("acme/c1"), Value: v}
		require.NoError(e.t, e.prod.ProduceSync(e.ctx, rec).FirstErr())
	}
}

// waitStored waits until the events table holds want distinct events per
// tenant and the group has committed every record.
func (e *poisonEnv) waitStored(want map[string]int) {
	e.t.Helper()
	testenv.Eventually(e.t, 60*time.Second, func() error {
		got, err := e.storedPerTenant()
		if err != nil {
			return err
		}
		for tenant, n := range want {
			if got[tenant] != n {
				return fmt.Errorf("tenant %s: %d rows stored, want %d", tenant, got[tenant], n)
			}
		}
		return testenv.Committed(e.ctx, e.adm, e.cfg.Group)
	})
}

func (e *poisonEnv) storedPerTenant() (map[string]int, error) {
	rows, err := e.conn.Query(e.ctx, "SELECT tenant, uniqExact(id) FROM events GROUP BY tenant")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	got := map[string]int{}
	for rows.Next() {
		var tenant string
		var n uint64
		if err := rows.Scan(&tenant, &n); err != nil {
			return nil, err
		}
		got[tenant] = int(n)
	}
	return got, rows.Err()
}

func chatEvent(tenant, id string) []byte {
	return fmt.Appendf(nil, `{"specversion":"1.0","id":%q,"source":"wecom/x","type":"chat.message","time":"2026-11-01T10:05:00+08:00","tenant":%q,"subject":"c1","data":{"staff_id":"s1","direction":"in","msg_type":"text","chars":12}}`, id, tenant)
}

// validEvents are n chat messages of each of two tenants.
func validEvents(n int) [][]byte {
	var out [][]byte
	for i := range n {
		out = append(out, chatEvent("acme", "a"+strconv.Itoa(i)), chatEvent("beta", "b"+strconv.Itoa(i)))
	}
	return out
}

// notJSON is an invalid record of n bytes.
func notJSON(n int) []byte { return bytes.Repeat([]byte("x"), n) }

// noise is an invalid record of n bytes that does not compress, so that the
// broker measures it at its size.
func noise(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// TestPoisonBetweenClientAndBrokerLimits: an invalid record of 1,040,000
// bytes fits the broker's limit but not franz-go's default producer limit.
// Its dead letter must go out whole, and the events behind it must be
// stored and committed.
func TestPoisonBetweenClientAndBrokerLimits(t *testing.T) {
	e := newPoisonEnv(t, nil)
	poison := notJSON(1_040_000)
	e.produce(poison)
	e.produce(validEvents(5)...)
	e.start()
	e.waitStored(map[string]int{"acme": 5, "beta": 5})

	dead := testenv.Consume(t, e.broker, e.cfg.Topics.DeadLetter, 1, 10*time.Second, nil)
	require.Len(t, dead, 1)
	require.Equal(t, poison, dead[0].Value, "the dead letter carries the record intact")
	require.Equal(t, "acme/c1", string(dead[0].Key))
	require.Empty(t, testenv.Header(dead[0], ingest.HeaderTruncated))
	require.Contains(t, testenv.Header(dead[0], ingest.HeaderErrorReason), "not JSON")
	require.Equal(t, "0", testenv.Header(dead[0], ingest.HeaderSourceOffset))
}

// TestPoisonTooLargeForDeadLetterTopic: a dead letter that cannot go as it
// is goes truncated, with the original's size and hash; when even that is
// refused, it goes as headers alone. Nothing blocks the events behind.
func TestPoisonTooLargeForDeadLetterTopic(t *testing.T) {
	limit := "100000"
	e := newPoisonEnv(t, map[string]*string{"max.message.bytes": &limit})
	e.start()

	// Refused by the dead-letter topic's own limit.
	overTopic := noise(300_000)
	// Fits the events topic but not once the dead-letter headers are added.
	key := []byte("acme/c1")
	overAll := noise(kafka.MaxBatchBytes - kafka.RecordBytes(&kgo.Record{Key: key}) - 10)
	require.True(t, kafka.RecordFits(&kgo.Record{Key: key, Value: overAll}))
	e.produce(overTopic)
	e.produce(overAll)
	e.produce(validEvents(3)...)
	e.waitStored(map[string]int{"acme": 3, "beta": 3})

	dead := bySourceOffset(testenv.Consume(t, e.broker, e.cfg.Topics.DeadLetter, 2, 10*time.Second, nil))
	require.Len(t, dead, 2)
	for i, orig := range [][]byte{overTopic, overAll} {
		d := dead[strconv.Itoa(i)]
		require.NotNil(t, d, "dead letter of offset %d", i)
		requireTruncated(t, d, orig)
		require.Equal(t, orig[:ingest.TruncatedValueBytes], d.Value, "the first bytes of the value")
		require.Equal(t, key, d.Key)
	}

	// Now the topic takes less than a truncated dead letter: headers only.
	small := "20000"
	_, err := e.adm.AlterTopicConfigs(e.ctx, []kadm.AlterConfig{{Name: "max.message.bytes", Value: &small}}, e.cfg.Topics.DeadLetter)
	require.NoError(t, err)
	overSmall := noise(200_000)
	e.produce(overSmall)
	e.produce(chatEvent("acme", "late"))
	e.waitStored(map[string]int{"acme": 4, "beta": 3})
	dead = bySourceOffset(testenv.Consume(t, e.broker, e.cfg.Topics.DeadLetter, 3, 10*time.Second, nil))
	require.Len(t, dead, 3)
	d := dead["8"]
	require.NotNil(t, d)
	requireTruncated(t, d, overSmall)
	require.Empty(t, d.Value, "headers only")
}

// bySourceOffset keys dead letters by the offset of their source record:
// the letters of one batch that had to be sent again arrive later.
func bySourceOffset(dead []*kgo.Record) map[string]*kgo.Record {
	out := map[string]*kgo.Record{}
	for _, d := range dead {
		out[testenv.Header(d, ingest.HeaderSourceOffset)] = d
	}
	return out
}

func requireTruncated(t *testing.T, d *kgo.Record, orig []byte) {
	t.Helper()
	sum := sha256.Sum256(orig)
	require.Equal(t, "true", testenv.Header(d, ingest.HeaderTruncated))
	require.Equal(t, strconv.Itoa(len(orig)), testenv.Header(d, ingest.HeaderOriginalSize))
	require.Equal(t, hex.EncodeToString(sum[:]), testenv.Header(d, ingest.HeaderOriginalSHA256))
	require.Contains(t, testenv.Header(d, ingest.HeaderErrorReason), "UTF-8")
	require.Equal(t, "siyu.events", testenv.Header(d, ingest.HeaderSourceTopic))
	require.Equal(t, "0", testenv.Header(d, ingest.HeaderSourcePart))
}

// TestPoisonBurst: poison records of every invalid class the decoder knows,
// mixed with valid events: every valid event is stored once, every poison
// dead-lettered with its reason.
func TestPoisonBurst(t *testing.T) {
	e := newPoisonEnv(t, nil)
	valid := chatEvent("acme", "tmpl")
	poisons := []struct {
		value  []byte
		field  string
		reason string
	}{
		{[]byte("not json at all"), "", "not JSON"},
		{bytes.Replace(valid, []byte(`"s1"`), []byte("\"s\xff1\""), 1), "", "UTF-8"},
		{bytes.Replace(valid, []byte(`"s1"`), []byte(`"s\ud800"`), 1), "", "surrogate"},
		{bytes.Replace(valid, []byte(`"staff_id":"s1",`), nil, 1), "data.staff_id", "required"},
		{bytes.Replace(valid, []byte(`"tenant":"acme",`), nil, 1), "tenant", "required"},
		{bytes.Replace(valid, []byte(`chat.message`), []byte(`chat.deleted`), 1), "type", "unknown"},
		{bytes.Replace(valid, []byte(`2026-11-01T10:05:00+08:00`), []byte(`2026-11-01 10:05`), 1), "time", "RFC 3339"},
		{bytes.Replace(valid, []byte(`2026-11-01T10:05:00+08:00`), []byte(`2100-01-01T00:00:00+08:00`), 1), "time", "future"},
		{append(notJSON(1_040_000), '}'), "", "not JSON"},
	}
	var want []string
	for i, p := range poisons {
		e.produce(chatEvent("acme", "a"+strconv.Itoa(i)), p.value, chatEvent("beta", "b"+strconv.Itoa(i)))
		want = append(want, p.field+"|"+p.reason)
	}
	e.start()
	e.waitStored(map[string]int{"acme": len(poisons), "beta": len(poisons)})

	var rows uint64
	require.NoError(t, e.conn.QueryRow(e.ctx, "SELECT count() FROM events").Scan(&rows))
	require.EqualValues(t, 2*len(poisons), rows, "each valid event stored once")

	dead := testenv.Consume(t, e.broker, e.cfg.Topics.DeadLetter, len(poisons), 10*time.Second, nil)
	require.Len(t, dead, len(poisons))
	for i, d := range dead {
		p := poisons[i]
		require.Equal(t, p.value, d.Value, "poison %d", i)
		require.Equal(t, strconv.Itoa(3*i+1), testenv.Header(d, ingest.HeaderSourceOffset))
		require.Equal(t, p.field, testenv.Header(d, ingest.HeaderErrorField), "poison %d", i)
		require.Contains(t, testenv.Header(d, ingest.HeaderErrorReason), p.reason, "poison %d: want %s", i, want[i])
	}
}

// refuseView makes ClickHouse refuse, for good, every insert block that
// holds a row whose subject matches cond: toUInt64 of a word is a parse
// error (code 6), which store.IsRetryable calls permanent. The rows the
// view accepts land in refuse_seen.
func refuseView(t *testing.T, e *poisonEnv, cond string) {
	t.Helper()
	require.NoError(t, e.conn.Exec(e.ctx, "CREATE TABLE refuse_seen (tenant String, id String, n UInt64) ENGINE = Log"))
	require.NoError(t, e.conn.Exec(e.ctx, "CREATE MATERIALIZED VIEW refuse_mv TO refuse_seen AS "+
		"SELECT tenant, id, toUInt64(if("+cond+", 'refused', '1')) AS n FROM events"))
}

// TestInsertRefusesOneRow: ClickHouse refuses one row of a batch for good.
// The others are stored (each once in the view that refuses the one), the
// refused row is dead-lettered with ClickHouse's reason, and the offsets
// move past it.
func TestInsertRefusesOneRow(t *testing.T) {
	e := newPoisonEnv(t, nil)
	refuseView(t, e, "id = 'a7'")
	evs := validEvents(20)
	e.produce(evs...)
	e.start()
	e.waitStored(map[string]int{"beta": 20})

	var seen, distinct uint64
	var refusedSeen uint64
	require.NoError(t, e.conn.QueryRow(e.ctx, "SELECT count(), uniqExact(tenant, id), countIf(id = 'a7') FROM refuse_seen").
		Scan(&seen, &distinct, &refusedSeen))
	require.EqualValues(t, 39, seen, "every other row reached the view once")
	require.EqualValues(t, 39, distinct)
	require.Zero(t, refusedSeen)

	dead := testenv.Consume(t, e.broker, e.cfg.Topics.DeadLetter, 1, 10*time.Second, nil)
	require.Len(t, dead, 1)
	require.Equal(t, chatEvent("acme", "a7"), dead[0].Value)
	require.Equal(t, "acme/c1", string(dead[0].Key))
	require.Equal(t, "14", testenv.Header(dead[0], ingest.HeaderSourceOffset))
	require.Contains(t, testenv.Header(dead[0], ingest.HeaderErrorReason), "ClickHouse refused")
	require.Contains(t, strings.ToLower(testenv.Header(dead[0], ingest.HeaderErrorReason)), "parse")
}

// TestInsertRefusesEveryRow: when ClickHouse refuses every row for the same
// reason, the fault is the table, not the events: Run stops with an error
// that says so, and nothing is committed.
func TestInsertRefusesEveryRow(t *testing.T) {
	e := newPoisonEnv(t, nil)
	refuseView(t, e, "tenant != ''")
	e.produce(validEvents(10)...)
	e.start()
	var err error
	select {
	case err = <-e.done:
		e.done <- err // for the cleanup
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not stop")
	}
	require.ErrorIs(t, err, ingest.ErrInsertRefused)
	require.Contains(t, err.Error(), "siyu migrate")
	offsets, ferr := e.adm.FetchOffsets(e.ctx, e.cfg.Group)
	if ferr == nil {
		ferr = offsets.Error()
	}
	if !errors.Is(ferr, kerr.GroupIDNotFound) {
		require.NoError(t, ferr)
		o, ok := offsets.Lookup(e.cfg.Topics.Events, 0)
		require.True(t, !ok || o.At <= 0, "nothing committed, got %+v", o)
	}
	ends, err := e.adm.ListEndOffsets(e.ctx, e.cfg.Topics.DeadLetter)
	require.NoError(t, err)
	require.Zero(t, ends.Offsets()[e.cfg.Topics.DeadLetter][0].At, "valid events are not dead-lettered for a broken table")
}
