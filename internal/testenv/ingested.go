package testenv

import (
	"context"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/loadgen"
)

// Ingest starts what an exactness test of folded events runs against: it
// skips the test under -short, and returns a context that ends after limit
// (or with the test), a database of the test's own and the real pipeline
// into it from topic of an in-process broker.
func Ingest(t *testing.T, limit time.Duration, topic string) (context.Context, driver.Conn, *Pipeline) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the pipeline against ClickHouse and Kafka")
	}
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	t.Cleanup(cancel)
	conn, _ := Database(t)
	_, broker := Kafka(t)
	return ctx, conn, StartPipeline(t, ctx, conn, broker, topic)
}

// RefreshSettled waits until the latest insert is older than margin (the
// server clock counts whole seconds), refreshes stored results, and checks
// that no tenant is left stale, so that the next reads answer from the
// table (a read in between may already have stored a settled tenant).
func RefreshSettled(t testing.TB, ctx context.Context, margin time.Duration, refresh func(context.Context) (int, error)) {
	t.Helper()
	time.Sleep(margin + 2*time.Second)
	if _, err := refresh(ctx); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	n, err := refresh(ctx)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if n != 0 {
		t.Fatalf("every tenant is fresh after a settled refresh: %d stored", n)
	}
}

// Generate is the whole stream of a loadgen configuration.
func Generate(t testing.TB, cfg loadgen.Config) []event.Event {
	t.Helper()
	g, err := loadgen.New(cfg)
	if err != nil {
		t.Fatalf("loadgen: %v", err)
	}
	var out []event.Event
	var e event.Event
	for g.Next(&e) {
		out = append(out, e.Clone())
	}
	return out
}
