// Package adoption serves the adoption (staff) and engagement (customer)
// metrics of shared/spec/metrics.md (MAU, DAU, paid DAU, retention...):
// daily series and retention cohorts. Not to be confused with Prometheus
// instruments (each package's instruments.go) nor with contact metering
// for billing (metering/).
//
// ClickHouse folds events as they arrive into small, idempotent rollups: the
// days each staff member and customer was active, as bits per block of 64
// days (sql/migrations/0012_active_bits.sql; first days are the lowest bits),
// and the subscription changes (0005). Reads fetch those rollups only, never
// raw events, and the pure functions here (Compute, Retention, Timeline) turn
// them into exact distinct counts: a window count is a sum of disjoint
// covered days per (tenant, actor) pair.
package adoption

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/siyu-dev/siyu/internal/flight"
	"github.com/siyu-dev/siyu/internal/freshness"
	siyusql "github.com/siyu-dev/siyu/sql"
)

// Service reads metrics from ClickHouse.
type Service struct {
	conn      driver.Conn
	now       func() time.Time
	stored    *freshness.Table[done, *batch] // metrics_results
	timelines flight.Group[Timeline]
}

// NewService returns a Service over conn; now is the clock that decides
// which days lie in the future (nil: time.Now).
func NewService(conn driver.Conn, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	s := &Service{conn: conn, now: now}
	s.stored = s.storedTable()
	return s
}

var (
	qStaffFirst    = siyusql.Query("metrics_staff_first_bits")
	qStaffBits     = siyusql.Query("metrics_staff_bits_by_tenant")
	qCustomerBits  = siyusql.Query("metrics_customer_bits_by_tenant")
	qSubscriptions = siyusql.Query("metrics_subscription_changes")
	qLastDay       = siyusql.Query("metrics_last_day")
)

// Active returns the daily series of q.
func (s *Service) Active(ctx context.Context, q Query) (Result, error) {
	if err := q.Validate(); err != nil {
		return Result{}, fmt.Errorf("metrics query: %w", err)
	}
	var in Input
	var err error
	if in.Plans, err = s.timeline(ctx, q.Tenant); err != nil {
		return Result{}, err
	}
	days := q.PointDays()
	num, den, stored, err := s.storedCounts(ctx, q, days)
	if err != nil {
		return Result{}, err
	}
	if stored {
		return assemble(q, in.Plans, num, den, days), nil
	}
	from, to := q.activeRange()
	switch {
	case q.Metric == NewDAU:
		in.First, err = s.firstDays(ctx, qStaffFirst, q.Tenant, q.From, q.To)
	case q.Metric.customers():
		in.Active, err = s.tenantDays(ctx, qCustomerBits, q.Tenant, from, to)
	default:
		in.Active, err = s.tenantDays(ctx, qStaffBits, q.Tenant, from, to)
	}
	if err != nil {
		return Result{}, err
	}
	return Compute(q, in), nil
}

// Series returns the daily series of q's metrics, in q's order, each
// equal to Active's answer for it alone: one read of the stored results
// and one freshness state answer them all (a page of series costs one
// query, not one per series).
func (s *Service) Series(ctx context.Context, q SeriesQuery) ([]Result, error) {
	if err := q.Validate(); err != nil {
		return nil, fmt.Errorf("metrics query: %w", err)
	}
	plans, err := s.timeline(ctx, q.Tenant)
	if err != nil {
		return nil, err
	}
	days := make([][]Day, len(q.Metrics))
	from, to := q.From, q.To
	for i, m := range q.Metrics {
		days[i] = q.of(m).PointDays()
		from = min(from, days[i][0]) // calendar_mau starts on its month's first day
	}
	rows, err := s.storedSet(ctx, q.Tenant, q.Metrics, from, to)
	if err != nil {
		return nil, err
	}
	out := make([]Result, len(q.Metrics))
	for i, m := range q.Metrics {
		num, den := rows.counts(m, days[i])
		out[i] = assemble(q.of(m), plans, num, den, days[i])
	}
	return out, nil
}

// Retention returns the staff cohorts of q.
func (s *Service) Retention(ctx context.Context, q RetentionQuery) ([]Cohort, error) {
	if err := q.Validate(); err != nil {
		return nil, fmt.Errorf("retention query: %w", err)
	}
	query := qStaffBits
	if q.Customers {
		query = qCustomerBits
	}
	first, active, err := s.cohorts(ctx, query, q)
	if err != nil {
		return nil, err
	}
	last, err := s.lastDay(ctx)
	if err != nil {
		return nil, err
	}
	return Retention(q, first, active, last), nil
}

// lastDay is the last day with data, but never after today.
func (s *Service) lastDay(ctx context.Context) (Day, error) {
	var t time.Time
	if err := s.conn.QueryRow(ctx, qLastDay).Scan(&t); err != nil {
		return 0, fmt.Errorf("read last metrics day: %w", err)
	}
	return min(DateDay(t), DayOf(s.now())), nil
}

// eachActor reads the active-bits rollup of query (staff or customers,
// migration 0012) in the blocks holding [from, to], one row per tenant
// (actor ids never travel: a series counts and a cohort table joins an
// actor's first day with its own days), and calls fn per actor.
func (s *Service) eachActor(ctx context.Context, query, tenant string, from, to Day, fn func(tenant string, blocks []uint16, masks []uint64)) error {
	rows, err := s.conn.Query(ctx, query, clickhouse.Named("tenant", tenant),
		clickhouse.Named("from_block", blockOf(from)), clickhouse.Named("to_block", blockOf(to)))
	if err != nil {
		return fmt.Errorf("read active days: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var tn string
		var blocks [][]uint16
		var masks [][]uint64
		if err := rows.Scan(&tn, &blocks, &masks); err != nil {
			return fmt.Errorf("scan active days: %w", err)
		}
		for i := range blocks {
			fn(tn, blocks[i], masks[i])
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read active days: %w", err)
	}
	return nil
}

// tenantDays are the active days in [from, to] of every actor.
func (s *Service) tenantDays(ctx context.Context, query, tenant string, from, to Day) ([]ActiveDays, error) {
	var out []ActiveDays
	err := s.eachActor(ctx, query, tenant, from, to, func(tn string, blocks []uint16, masks []uint64) {
		if days := DaysOfBits(blocks, masks, from, to); len(days) > 0 {
			out = append(out, ActiveDays{Actor: Actor{Tenant: tn}, Days: days})
		}
	})
	return out, err
}

// cohorts reads every actor's days from the first up to q.To + max N and
// keeps those whose first day lies in [q.From, q.To], each under a made-up
// id that pairs its first day with its days.
func (s *Service) cohorts(ctx context.Context, query string, q RetentionQuery) ([]FirstDay, []ActiveDays, error) {
	var first []FirstDay
	var active []ActiveDays
	end := q.To + Day(q.maxN())
	err := s.eachActor(ctx, query, q.Tenant, 0, end, func(tn string, blocks []uint16, masks []uint64) {
		f, ok := FirstOfBits(blocks, masks)
		if !ok || f < q.From || f > q.To {
			return
		}
		a := Actor{Tenant: tn, ID: strconv.Itoa(len(first))}
		first = append(first, FirstDay{Actor: a, Day: f})
		active = append(active, ActiveDays{Actor: a, Days: DaysOfBits(blocks, masks, f, end)})
	})
	return first, active, err
}

func (s *Service) firstDays(ctx context.Context, query, tenant string, from, to Day) ([]FirstDay, error) {
	rows, err := s.conn.Query(ctx, query, clickhouse.Named("tenant", tenant),
		clickhouse.Named("from", int64(from)), clickhouse.Named("to", int64(to)))
	if err != nil {
		return nil, fmt.Errorf("read first days: %w", err)
	}
	defer rows.Close()
	var out []FirstDay
	for rows.Next() {
		var f FirstDay
		var d uint32
		if err := rows.Scan(&f.Tenant, &f.ID, &d); err != nil {
			return nil, fmt.Errorf("scan first days: %w", err)
		}
		f.Day = Day(d)
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read first days: %w", err)
	}
	return out, nil
}

// timeline reads the subscription changes of tenant ("" = all); concurrent
// reads of one tenant share one (the series of one page).
func (s *Service) timeline(ctx context.Context, tenant string) (Timeline, error) {
	return s.timelines.Do(ctx, tenant, func(ctx context.Context) (Timeline, error) { return s.readTimeline(ctx, tenant) })
}

func (s *Service) readTimeline(ctx context.Context, tenant string) (Timeline, error) {
	rows, err := s.conn.Query(ctx, qSubscriptions, clickhouse.Named("tenant", tenant))
	if err != nil {
		return nil, fmt.Errorf("read subscription changes: %w", err)
	}
	defer rows.Close()
	var out []Change
	for rows.Next() {
		var c Change
		var paid uint8
		if err := rows.Scan(&c.Tenant, &c.TimeNs, &c.ID, &c.Source, &c.Plan, &paid); err != nil {
			return nil, fmt.Errorf("scan subscription changes: %w", err)
		}
		c.Paid = paid != 0
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read subscription changes: %w", err)
	}
	return NewTimeline(out), nil
}
