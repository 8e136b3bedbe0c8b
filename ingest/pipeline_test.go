package ingest_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/cdp"
	"github.com/siyu-dev/siyu/ingest"
	"github.com/siyu-dev/siyu/internal/testenv"
	"github.com/siyu-dev/siyu/kafka"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestPipelineEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, _ := testenv.Database(t)
	_, broker := testenv.Kafka(t)

	cfg := ingest.DefaultConfig()
	cfg.Brokers = []string{broker}
	cfg.Topics.Partitions = 3
	cfg.BatchMaxWait = 50 * time.Millisecond
	prod, err := kgo.NewClient(kafka.ProducerOpts(cfg.Brokers)...)
	require.NoError(t, err)
	defer prod.Close()
	require.NoError(t, kafka.EnsureTopics(ctx, prod, cfg.Topics))

	records := []string{
		`{"specversion":"1.0","id":"e1","source":"wecom/x","type":"contact.added","time":"2026-11-01T10:00:00+08:00","tenant":"acme","subject":"c1","data":{"staff_id":"s1","name":"王小明","unionid":"u1","add_way":16,"state":"spring"}}`,
		`{"specversion":"1.0","id":"e2","source":"wecom/x","type":"chat.message","time":"2026-11-01T10:05:00+08:00","tenant":"acme","subject":"c1","data":{"staff_id":"s1","direction":"in","msg_type":"text","chars":12}}`,
		`{"specversion":"1.0","id":"e3","source":"wecom/x","type":"chat.message","time":"2026-11-01T10:06:00+08:00","tenant":"acme","subject":"c1","data":{"staff_id":"s1","direction":"out"}}`,
		`{"specversion":"1.0","id":"e4","source":"wecom/x","type":"contact.updated","time":"2026-11-01T09:00:00+08:00","tenant":"acme","subject":"c1","data":{"staff_id":"s1","name":"older name"}}`,
		`{"specversion":"1.0","id":"e5","source":"wecom/x","type":"tag.added","time":"2026-11-01T11:00:00+08:00","tenant":"acme","subject":"c1","data":{"tag_id":"vip","staff_id":"s1"}}`,
		`{"specversion":"1.0","id":"e6","source":"wecom/x","type":"contact.transferred","time":"2026-11-02T11:00:00+08:00","tenant":"acme","subject":"c1","data":{"from_staff_id":"s1","to_staff_id":"s2"}}`,
		`{"specversion":"1.0","id":"e7","source":"wecom/x","type":"followup.logged","time":"2026-11-02T12:00:00+08:00","tenant":"acme","subject":"c1","data":{"staff_id":"s2","channel":"call","next_at":"2026-11-05T10:00:00+08:00"}}`,
		`{"specversion":"1.0","id":"e2","source":"wecom/x","type":"chat.message","time":"2026-11-01T10:05:00+08:00","tenant":"acme","subject":"c1","data":{"staff_id":"s1","direction":"in","msg_type":"text","chars":12}}`,
		`{"specversion":"1.0","id":"bad","source":"wecom/x","type":"chat.message","time":"2026-11-01T10:05:00+08:00","tenant":"acme","subject":"c1","data":{"direction":"in"}}`,
		`not json at all`,
	}
	for _, r := range records {
		require.NoError(t, prod.ProduceSync(ctx, &kgo.Record{Topic: cfg.Topics.Events, Key: []byte("acme/c1"), Value: []byte(r)}).FirstErr())
	}

	p, err := ingest.New(cfg, conn, nil, testenv.Logger())
	require.NoError(t, err)
	defer p.Close()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx) }()

	profiles := cdp.NewProfiles(conn, nil)
	testenv.Eventually(t, 20*time.Second, func() error {
		pr, err := profiles.Get(ctx, "acme", "c1")
		if err != nil {
			return err
		}
		if pr.Followup.NextAt == nil {
			return context.DeadlineExceeded
		}
		return nil
	})
	stop()
	require.NoError(t, <-done)

	pr, err := profiles.Get(ctx, "acme", "c1")
	require.NoError(t, err)
	require.Equal(t, "王小明", pr.Name, "the later contact.added wins over the earlier update")
	require.Equal(t, "u1", pr.UnionID)
	require.EqualValues(t, 1, pr.Chat.MessagesIn, "a redelivered message counts once")
	require.EqualValues(t, 1, pr.Chat.MessagesOut)
	require.Len(t, pr.Relations, 1)
	require.Equal(t, "s2", pr.Relations[0].StaffID, "the transfer moved the relation")
	require.Len(t, pr.Tags, 1)
	require.Equal(t, "2026-11-05T02:00:00Z", pr.Followup.NextAt.Format(time.RFC3339))
	_, err = profiles.Get(ctx, "other", "c1")
	require.ErrorIs(t, err, cdp.ErrNotFound)

	dead := testenv.Consume(t, broker, cfg.Topics.DeadLetter, 2, 10*time.Second, nil)
	require.Len(t, dead, 2)
	require.Equal(t, "data.staff_id", testenv.Header(dead[0], ingest.HeaderErrorField))
	require.Contains(t, testenv.Header(dead[1], ingest.HeaderErrorReason), "not JSON")
	b, _ := json.Marshal(pr)
	t.Logf("profile: %s", b)
}
