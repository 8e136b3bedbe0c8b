package freshness

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/siyu-dev/siyu/internal/flight"
)

// Memo keeps what was read for a tenant (stored results, rollups, the plan
// timeline) for as long as the tenant's inputs have not moved, so that a
// page asked again costs one read of metrics_inputs instead of one read per
// table (docs/decisions.md, "Console and sidebar (#15)", executive page).
//
// The rule is freshness's: every input of these reads is an event (or a
// rebuild, which marks the inputs changed), metrics_inputs records the
// server time of each insert, and an insert's rows are visible within
// Margin of that time. A read made after an inputs read that found the
// tenant settled (its latest insert older than Margin) saw every insert up
// to that latest one; while a later inputs read finds the same latest
// insert, nothing was inserted since and the read would answer the same.
// Reads made while the tenant is not settled answer but are not kept.
//
// A value handed out is shared by every caller: callers only read it.
type Memo[V any] struct {
	Conn   driver.Conn
	Margin time.Duration // see DefaultMargin

	mu      sync.Mutex
	tenants map[string]*memoTenant[V]
	reads   flight.Group[V]
}

type memoTenant[V any] struct {
	mark string       // the tenant's inputs when its values were read
	kept map[string]V // per key
}

// Bounds on what a Memo keeps: a tenant's keys (one per range asked) and
// the tenants. Past either bound the tenant's (or every) entry is dropped
// and read again when asked.
const (
	memoKeysPerTenant = 32
	memoTenants       = 10000
)

// Get returns read's answer for tenant ("" = all) and key: kept while the
// tenant's inputs have not moved since it was read, else read now (and kept
// when the tenant's inputs had settled before the read). Concurrent callers
// with the same inputs share one read.
func (m *Memo[V]) Get(ctx context.Context, tenant, key string, read func(context.Context) (V, error)) (V, error) {
	in, err := ReadInputs(ctx, m.Conn, tenant)
	if err != nil {
		var zero V
		return zero, err
	}
	mark, settled := in.mark(tenant, m.Margin)
	if v, ok := m.lookup(tenant, key, mark); ok {
		return v, nil
	}
	// A read that began before the tenant settled may miss an insert still
	// committing: a settled caller never joins one.
	fk := tenant + "\x00" + key + "\x00" + mark + "\x00" + strconv.FormatBool(settled)
	v, err := m.reads.Do(withInputs(ctx, m.Conn, tenant, in), fk, read)
	if err == nil && settled {
		m.keep(tenant, key, mark, v)
	}
	return v, err
}

func (m *Memo[V]) lookup(tenant, key, mark string) (V, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var zero V
	mt := m.tenants[tenant]
	if mt == nil || mt.mark != mark {
		return zero, false
	}
	v, ok := mt.kept[key]
	return v, ok
}

func (m *Memo[V]) keep(tenant, key, mark string, v V) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tenants == nil || len(m.tenants) >= memoTenants {
		m.tenants = map[string]*memoTenant[V]{}
	}
	mt := m.tenants[tenant]
	if mt == nil || mt.mark != mark || len(mt.kept) >= memoKeysPerTenant {
		mt = &memoTenant[V]{mark: mark, kept: map[string]V{}}
		m.tenants[tenant] = mt
	}
	mt.kept[key] = v
}

// mark names the inputs of tenant ("" = every tenant) and says whether
// they have settled: the latest insert's time, or for every tenant each
// tenant's.
func (in Inputs) mark(tenant string, margin time.Duration) (string, bool) {
	if tenant != "" {
		at, ok := in.Inserted[tenant]
		if !ok {
			return "none", true
		}
		return strconv.FormatInt(at.UnixNano(), 10), in.Settled(tenant, margin)
	}
	names := make([]string, 0, len(in.Inserted))
	for t := range in.Inserted {
		names = append(names, t)
	}
	slices.Sort(names)
	var b []byte
	settled := true
	for _, t := range names {
		b = strconv.AppendInt(append(append(b, t...), 0), in.Inserted[t].UnixNano(), 10)
		b = append(b, 0)
		settled = settled && in.Settled(t, margin)
	}
	return string(b), settled
}
