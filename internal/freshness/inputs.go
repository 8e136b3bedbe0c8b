package freshness

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/siyu-dev/siyu/internal/flight"
	siyusql "github.com/siyu-dev/siyu/sql"
)

var (
	qInputs = siyusql.Query("metrics_inputs")
	qClock  = siyusql.Query("metrics_clock")
)

// Inputs is when each tenant's events were last inserted (metrics_inputs,
// server clock) and the server clock at the read: what decides whether a
// stored result may answer.
type Inputs struct {
	Inserted map[string]time.Time
	Now      time.Time
}

// inputs shares one read of metrics_inputs among the concurrent reads of
// one tenant's inputs, whichever table asks (the executive page's series
// and meters ask at once): in flight only, never kept, read only.
var inputs flight.Group[Inputs]

// ReadInputs reads the inputs of tenant ("" = all). A read already in
// flight for tenant on conn answers it too (the result is read only), and
// so do inputs a Memo read for the read it makes (withInputs).
func ReadInputs(ctx context.Context, conn driver.Conn, tenant string) (Inputs, error) {
	if in, ok := carried(ctx, conn, tenant); ok {
		return in, nil
	}
	return inputs.Do(ctx, fmt.Sprintf("%p/%s", conn, tenant), func(ctx context.Context) (Inputs, error) {
		return readInputs(ctx, conn, tenant)
	})
}

// inputsKey keys the inputs of a tenant on a connection in a context.
type inputsKey struct {
	conn   driver.Conn
	tenant string
}

// withInputs is ctx carrying in, tenant's inputs on conn: a read that
// follows the inputs read that decided it (Memo.Get) uses them rather than
// read them again; it is exact as of that read.
func withInputs(ctx context.Context, conn driver.Conn, tenant string, in Inputs) context.Context {
	return context.WithValue(ctx, inputsKey{conn, tenant}, in)
}

// carried are the inputs ctx carries for tenant on conn, if any.
func carried(ctx context.Context, conn driver.Conn, tenant string) (Inputs, bool) {
	in, ok := ctx.Value(inputsKey{conn, tenant}).(Inputs)
	return in, ok
}

func readInputs(ctx context.Context, conn driver.Conn, tenant string) (Inputs, error) {
	in := Inputs{Inserted: map[string]time.Time{}}
	rows, err := conn.Query(ctx, qInputs, clickhouse.Named("tenant", tenant))
	if err != nil {
		return in, fmt.Errorf("read metrics inputs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t string
		var at, now time.Time
		if err := rows.Scan(&t, &at, &now); err != nil {
			return in, fmt.Errorf("scan metrics inputs: %w", err)
		}
		in.Inserted[t], in.Now = at, now
	}
	if err := rows.Err(); err != nil {
		return in, fmt.Errorf("read metrics inputs: %w", err)
	}
	if in.Now.IsZero() {
		if in.Now, err = ServerClock(ctx, conn); err != nil {
			return in, err
		}
	}
	return in, nil
}

// ServerClock is ClickHouse's clock, which metrics_inputs is stamped with.
func ServerClock(ctx context.Context, conn driver.Conn) (time.Time, error) {
	var now time.Time
	if err := conn.QueryRow(ctx, qClock).Scan(&now); err != nil {
		return now, fmt.Errorf("read server clock: %w", err)
	}
	return now, nil
}

// Stale lists, sorted, the tenants whose stored rows may not answer: never
// computed (started has no entry), or computed before their latest insert
// plus margin.
func (in Inputs) Stale(started func(tenant string) (time.Time, bool), margin time.Duration) []string {
	var out []string
	for t, ins := range in.Inserted {
		s, ok := started(t)
		if !ok || !ins.Before(s.Add(-margin)) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}

// Due keeps the tenants of stale whose inputs have settled: those a
// refresh computes and stores now (the others wait for their margin).
func (in Inputs) Due(stale []string, margin time.Duration) []string {
	var due []string
	for _, t := range stale {
		if in.Settled(t, margin) {
			due = append(due, t)
		}
	}
	return due
}

// Settled reports whether tenant t's latest insert is older than margin, so
// that a computation starting now sees all of it.
func (in Inputs) Settled(t string, margin time.Duration) bool {
	return in.Inserted[t].Before(in.Now.Add(-margin))
}
