package freshness_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/internal/freshness"
	"github.com/siyu-dev/siyu/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// inserted records an insert of tenant's events `ago` before the server's
// now, as the view on events does.
func inserted(t *testing.T, conn driver.Conn, tenant string, ago time.Duration) {
	t.Helper()
	require.NoError(t, conn.Exec(context.Background(),
		"INSERT INTO metrics_inputs (tenant, inserted_at) SELECT ?, now() - ?", tenant, int(ago.Seconds())))
}

// TestMemoKeepsWhileInputsStill: a value read for a tenant whose inputs
// have settled is kept until the tenant's (or, for every tenant, any
// tenant's) inputs move; reads while the inputs settle are never kept;
// concurrent callers share one read.
func TestMemoKeepsWhileInputsStill(t *testing.T) {
	ctx := context.Background()
	conn, _ := testenv.Database(t)
	const margin = 2 * time.Second
	inserted(t, conn, "a", time.Hour)
	inserted(t, conn, "b", time.Hour)

	m := &freshness.Memo[int]{Conn: conn, Margin: margin}
	var reads atomic.Int32
	get := func(tenant, key string) int {
		t.Helper()
		v, err := m.Get(ctx, tenant, key, func(context.Context) (int, error) { return int(reads.Add(1)), nil })
		require.NoError(t, err)
		return v
	}
	read := func(tenant, key string) {
		t.Helper()
		before := reads.Load()
		get(tenant, key)
		require.Equal(t, before+1, reads.Load(), "%q %q is read", tenant, key)
	}
	kept := func(tenant, key string) {
		t.Helper()
		before := reads.Load()
		get(tenant, key)
		require.Equal(t, before, reads.Load(), "%q %q is kept", tenant, key)
	}

	read("a", "k")
	kept("a", "k")
	read("a", "k2")
	read("", "k")
	kept("", "k")
	read("never", "k") // no events yet: kept until its first insert
	kept("never", "k")

	t.Run("another tenant's insert", func(t *testing.T) {
		inserted(t, conn, "b", 0)
		kept("a", "k")
		kept("a", "k2")
		read("", "k") // every tenant's inputs moved, and have not settled:
		read("", "k") // not kept
	})

	t.Run("the tenant's insert", func(t *testing.T) {
		inserted(t, conn, "a", 0)
		inserted(t, conn, "never", 0)
		read("a", "k")
		read("a", "k")
		read("never", "k")
		time.Sleep(margin + 1100*time.Millisecond) // inserted_at has whole seconds
		read("a", "k")
		kept("a", "k")
		read("a", "k2") // dropped with the old inputs
		read("", "k")
		kept("", "k")
	})

	t.Run("concurrent callers share a read", func(t *testing.T) {
		release := make(chan struct{})
		var n atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v, err := m.Get(ctx, "b", "slow", func(context.Context) (int, error) {
					n.Add(1)
					<-release
					return 7, nil
				})
				require.NoError(t, err)
				require.Equal(t, 7, v)
			}()
		}
		time.Sleep(200 * time.Millisecond)
		close(release)
		wg.Wait()
		require.Equal(t, int32(1), n.Load())
	})
}
