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
	"golang.org/x/sync/errgroup"

	"github.com/siyu-dev/siyu/internal/freshness"
	siyusql "github.com/siyu-dev/siyu/sql"
)

// Service reads metrics from ClickHouse.
type Service struct {
	conn   driver.Conn
	now    func() time.Time
	stored *freshness.Table[done, *batch] // metrics_results
	// What a tenant's reads found, kept while its inputs do not move
	// (freshness.Memo): a range's series inputs and cohorts.
	series  freshness.Memo[seriesInput]
	cohorts freshness.Memo[cohortInput]
}

// NewService returns a Service over conn; now is the clock that decides
// which days lie in the future (nil: time.Now).
func NewService(conn driver.Conn, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	s := &Service{conn: conn, now: now}
	s.stored = s.storedTable()
	s.series = freshness.Memo[seriesInput]{Conn: conn, Margin: DefaultMargin}
	s.cohorts = freshness.Memo[cohortInput]{Conn: conn, Margin: DefaultMargin}
	return s
}

var (
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
	days := q.PointDays()
	in, err := s.seriesInput(ctx, q.Tenant, days[0], days[len(days)-1])
	if err != nil {
		return Result{}, err
	}
	num, den := in.rows.counts(q.Metric, days)
	return assemble(q, in.plans, num, den, days), nil
}

// Series returns the daily series of q's metrics, in q's order, each
// equal to Active's answer for it alone: one read of the stored results
// and one freshness state answer them all (a page of series costs one
// query, not one per series).
func (s *Service) Series(ctx context.Context, q SeriesQuery) ([]Result, error) {
	if err := q.Validate(); err != nil {
		return nil, fmt.Errorf("metrics query: %w", err)
	}
	days := make([][]Day, len(q.Metrics))
	from, to := q.From, q.To
	for i, m := range q.Metrics {
		days[i] = q.of(m).PointDays()
		from = min(from, days[i][0]) // calendar_mau starts on its month's first day
	}
	in, err := s.seriesInput(ctx, q.Tenant, from, to)
	if err != nil {
		return nil, err
	}
	out := make([]Result, len(q.Metrics))
	for i, m := range q.Metrics {
		num, den := in.rows.counts(m, days[i])
		out[i] = assemble(q.of(m), in.plans, num, den, days[i])
	}
	return out, nil
}

// Retention returns the staff cohorts of q.
func (s *Service) Retention(ctx context.Context, q RetentionQuery) ([]Cohort, error) {
	if err := q.Validate(); err != nil {
		return nil, fmt.Errorf("retention query: %w", err)
	}
	query, who := qStaffBits, "staff"
	if q.Customers {
		query, who = qCustomerBits, "customers"
	}
	key := fmt.Sprintf("%s %d %d %d", who, q.From, q.To, q.maxN())
	var in cohortInput
	var last Day
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		in, err = s.cohorts.Get(gctx, q.Tenant, key, func(ctx context.Context) (cohortInput, error) {
			return s.readCohorts(ctx, query, q)
		})
		return err
	})
	g.Go(func() (err error) {
		last, err = s.lastDay(gctx)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return Retention(q, in.first, in.active, last), nil
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

// cohortInput is what the cohorts of a range are computed from.
type cohortInput struct {
	first  []FirstDay
	active []ActiveDays
}

// readCohorts reads every actor's days from the first up to q.To + max N
// and keeps those whose first day lies in [q.From, q.To], each under a
// made-up id that pairs its first day with its days.
func (s *Service) readCohorts(ctx context.Context, query string, q RetentionQuery) (cohortInput, error) {
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
	return cohortInput{first, active}, err
}

// seriesInput is what the series of a range are assembled from: the plan
// timeline and the stored rows.
type seriesInput struct {
	plans Timeline
	rows  storedRows
}

// seriesInput reads the series inputs of tenant ("" = all) on [from, to]:
// concurrent reads share one, and it is kept while the tenant's inputs do
// not move (a page asked again costs one read of metrics_inputs).
func (s *Service) seriesInput(ctx context.Context, tenant string, from, to Day) (seriesInput, error) {
	key := strconv.Itoa(int(from)) + " " + strconv.Itoa(int(to))
	return s.series.Get(ctx, tenant, key, func(ctx context.Context) (seriesInput, error) {
		plans, err := s.timeline(ctx, tenant)
		if err != nil {
			return seriesInput{}, err
		}
		rows, err := s.storedSet(ctx, tenant, from, to)
		return seriesInput{plans, rows}, err
	})
}

// timeline reads the subscription changes of tenant ("" = all).
func (s *Service) timeline(ctx context.Context, tenant string) (Timeline, error) {
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
