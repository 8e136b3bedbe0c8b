package adoption

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/siyu-dev/siyu/internal/freshness"
	siyusql "github.com/siyu-dev/siyu/sql"
)

// Stored results (docs/decisions.md, Metrics 32): the per-(tenant, day)
// counts of every series live in metrics_results
// (migration 0013), recomputed per tenant when its events change. A read
// answers a tenant from the table only when the tenant is fresh: its latest
// finished computation started after its latest insert plus Margin, and
// covers the days asked for. Every other tenant is recomputed before the
// answer (and stored when its inputs have settled), so no read answers from
// a stale row. The rule and the refresher are internal/freshness's.

// DefaultMargin covers an insert that is still committing; see
// freshness.DefaultMargin.
const DefaultMargin = freshness.DefaultMargin

// horizonDays is how far past the last active day (or today) a computation
// stores counts: windows ending there still count earlier activity.
const horizonDays = 31

var (
	qResultsDone = siyusql.Query("metrics_results_done")
	qResultsRead = siyusql.Query("metrics_results_read")
)

const (
	insertResults = "INSERT INTO metrics_results (tenant, day, computed_ns, dau, wau, mau, paid_dau, paid_mau, new_dau, customer_dau, customer_mau, calendar_mau)"
	insertDone    = "INSERT INTO metrics_results_done (tenant, computed_ns, started, from_day, horizon)"
)

// storedMetrics are the series metrics_results holds, in its column order.
var storedMetrics = []Metric{DAU, WAU, MAU, PaidDAU, PaidMAU, NewDAU, CustomerDAU, CustomerMAU, CalendarMAU}

// storedColumns names the columns that answer m (den only for
// stickiness); ok is false for a series that is not stored.
func storedColumns(m Metric) (num, den string, ok bool) {
	if m == Stickiness {
		return string(DAU), string(MAU), true
	}
	return string(m), "", true
}

// done is a tenant's latest finished computation. A fresh tenant's rows
// answer any day: before its first active day and after its horizon (the
// last active day + 31) every count is zero, which is what a missing row
// reads as.
type done struct {
	started  time.Time
	from, to Day
	ns       uint64
}

// StartedAt is when the computation started (freshness.Done).
func (d done) StartedAt() time.Time { return d.started }

func scanDone(rows driver.Rows) (string, done, error) {
	var t string
	var d done
	var from, to time.Time
	if err := rows.Scan(&t, &d.started, &from, &to, &d.ns); err != nil {
		return "", d, err
	}
	d.from, d.to = DateDay(from), DateDay(to)
	return t, d, nil
}

// storedTable is the table of stored series, computed by s.
func (s *Service) storedTable() *freshness.Table[done, *batch] {
	return &freshness.Table[done, *batch]{
		Conn: s.conn, Margin: DefaultMargin, Name: "metrics",
		DoneQuery: qResultsDone, ScanDone: scanDone,
		Compute: s.compute, WriteResults: s.writeResults,
		InsertDone: insertDone, DoneRow: doneRow,
	}
}

// batch is one computation of every stored series for some tenants.
type batch struct {
	freshness.Stamp
	from   Day // first day of the counts
	to     Day // horizon
	first  map[string]Day
	counts map[Metric]map[string][]float64 // per metric and tenant, index day − from
}

// compute reads the rollups of tenants (nil: all) and counts every stored
// series from each tenant's first active day to the horizon. Many tenants
// are read with one query over all tenants, filtered here; one tenant with
// a tenant-filtered query.
func (s *Service) compute(ctx context.Context, tenants []string) (*batch, error) {
	stamp, err := freshness.Begin(ctx, s.conn)
	if err != nil {
		return nil, err
	}
	b := &batch{Stamp: stamp, first: map[string]Day{}, counts: map[Metric]map[string][]float64{}}
	filter, keep := freshness.Scope(tenants)
	var in Input
	var customers []ActiveDays
	if in.Plans, err = s.timeline(ctx, filter); err != nil {
		return nil, err
	}
	last := DayOf(s.now())
	read := func(query string, into *[]ActiveDays, firsts bool) error {
		return s.eachActor(ctx, query, filter, 0, Day(1<<16-1), func(tn string, blocks []uint16, masks []uint64) {
			if !keep(tn) {
				return
			}
			days := DaysOfBits(blocks, masks, 0, Day(1<<16-1))
			if len(days) == 0 {
				return
			}
			a := Actor{Tenant: tn}
			*into = append(*into, ActiveDays{Actor: a, Days: days})
			if firsts {
				in.First = append(in.First, FirstDay{Actor: a, Day: days[0]})
			}
			if f, ok := b.first[tn]; !ok || days[0] < f {
				b.first[tn] = days[0]
			}
			last = max(last, days[len(days)-1])
		})
	}
	if err := read(qStaffBits, &in.Active, true); err != nil {
		return nil, err
	}
	if err := read(qCustomerBits, &customers, false); err != nil {
		return nil, err
	}
	b.to = last + horizonDays
	b.from = b.to
	for _, f := range b.first {
		b.from = min(b.from, MonthStart(f))
	}
	var days []Day
	for d := b.from; d <= b.to; d++ {
		days = append(days, d)
	}
	for _, m := range storedMetrics {
		src := in
		if m.customers() {
			src.Active = customers
		}
		if m == CalendarMAU {
			b.counts[m] = monthsByDay(src.Active, days)
			continue
		}
		b.counts[m], _ = tenantCounts(m, src, days)
	}
	return b, nil
}

// monthsByDay is calendar MAU per tenant on each of days (consecutive): on
// every day, the count of that day's whole calendar month, so that a row of
// any day of a month answers the month.
func monthsByDay(active []ActiveDays, days []Day) map[string][]float64 {
	var months []Day
	for d := MonthStart(days[0]); d <= days[len(days)-1]; d = MonthEnd(d) + 1 {
		months = append(months, d)
	}
	perMonth := map[string][]float64{}
	countMonths(perMonth, active, months)
	out := make(map[string][]float64, len(perMonth))
	for t, c := range perMonth {
		v, m := make([]float64, len(days)), 0
		for i, d := range days {
			for d > MonthEnd(months[m]) {
				m++
			}
			v[i] = c[m]
		}
		out[t] = v
	}
	return out
}

// writeResults writes the rows of tenants from b (their finished
// computations follow: freshness.Table.Store).
func (s *Service) writeResults(ctx context.Context, b *batch, tenants []string) error {
	batch, err := s.conn.PrepareBatch(ctx, insertResults)
	if err != nil {
		return fmt.Errorf("prepare metrics results: %w", err)
	}
	defer batch.Abort() //nolint:errcheck // no-op after Send
	var (
		tn   []string
		day  []time.Time
		ns   []uint64
		cols = make([][]uint32, len(storedMetrics))
	)
	for _, t := range tenants {
		first, ok := b.first[t]
		if !ok {
			continue
		}
		for d := MonthStart(first); d <= b.to; d++ {
			tn, day, ns = append(tn, t), append(day, d.Date()), append(ns, b.NS)
			for i, m := range storedMetrics {
				cols[i] = append(cols[i], uint32(at(b.counts[m][t], int(d-b.from))))
			}
		}
	}
	if len(tn) > 0 {
		for i, col := range []any{tn, day, ns} {
			if err := batch.Column(i).Append(col); err != nil {
				return fmt.Errorf("append metrics results: %w", err)
			}
		}
		for i := range cols {
			if err := batch.Column(3 + i).Append(cols[i]); err != nil {
				return fmt.Errorf("append metrics results: %w", err)
			}
		}
		if err := batch.Send(); err != nil {
			return fmt.Errorf("write metrics results: %w", err)
		}
	}
	return nil
}

// doneRow is t's finished-computation row of b.
func doneRow(b *batch, t string) []any {
	from := b.to
	if f, ok := b.first[t]; ok {
		from = MonthStart(f)
	}
	return []any{t, b.NS, b.Started, from.Date(), b.to.Date()}
}

// Refresh recomputes and stores the stale tenants whose inputs have
// settled, in one batch; it returns how many it stored.
func (s *Service) Refresh(ctx context.Context) (int, error) { return s.stored.Refresh(ctx) }

// RunRefresher refreshes every interval until ctx ends; errors are passed
// to report (nil: ignored) and retried on the next round.
func (s *Service) RunRefresher(ctx context.Context, every time.Duration, report func(error)) {
	s.stored.RunRefresher(ctx, every, report)
}

// storedCounts answers the per-tenant counts of q (days = its point days)
// from the table for fresh tenants and from a computation for the others.
// ok is false when q's metric is not stored.
func (s *Service) storedCounts(ctx context.Context, q Query, days []Day) (num, den map[string][]float64, ok bool, err error) {
	numCol, denCol, ok := storedColumns(q.Metric)
	if !ok {
		return nil, nil, false, nil
	}
	num, den = map[string][]float64{}, map[string][]float64{}
	err = s.stored.Answer(ctx, q.Tenant, func(_ freshness.State[done], stale map[string]bool) error {
		return s.readStored(ctx, q.Tenant, days, numCol, denCol, stale, num, den)
	}, func(b *batch, stale []string) {
		for _, t := range stale {
			num[t] = b.slice(Metric(numCol), t, days)
			if denCol != "" {
				den[t] = b.slice(Metric(denCol), t, days)
			}
		}
	})
	if err != nil {
		return nil, nil, true, err
	}
	return num, den, true, nil
}

// slice is t's counts of m on days (zero outside the batch's range).
func (b *batch) slice(m Metric, t string, days []Day) []float64 {
	out := make([]float64, len(days)+1)
	c := b.counts[m][t]
	for i, d := range days {
		if j := int(d - b.from); d >= b.from && j < len(c) {
			out[i] = c[j]
		}
	}
	return out
}

// readStored reads the stored counts of tenant ("" = all) on days (in
// order), skipping the tenants in skip.
func (s *Service) readStored(ctx context.Context, tenant string, days []Day, numCol, denCol string, skip map[string]bool, num, den map[string][]float64) error {
	if len(days) == 0 {
		return nil
	}
	index := make(map[Day]int, len(days))
	for i, d := range days {
		index[d] = i
	}
	rows, err := s.conn.Query(ctx, qResultsRead, clickhouse.Named("tenant", tenant),
		clickhouse.Named("num", numCol), clickhouse.Named("den", denCol),
		clickhouse.Named("from", int64(days[0])), clickhouse.Named("to", int64(days[len(days)-1])))
	if err != nil {
		return fmt.Errorf("read metrics results: %w", err)
	}
	defer rows.Close()
	n := len(days)
	for rows.Next() {
		var t string
		var ds, ns, ms []uint32
		if err := rows.Scan(&t, &ds, &ns, &ms); err != nil {
			return fmt.Errorf("scan metrics results: %w", err)
		}
		if skip[t] {
			continue
		}
		nv := make([]float64, n+1)
		var dv []float64
		if denCol != "" {
			dv = make([]float64, n+1)
			den[t] = dv
		}
		for i, d := range ds {
			j, ok := index[Day(d)]
			if !ok {
				continue
			}
			nv[j] = float64(ns[i])
			if dv != nil {
				dv[j] = float64(ms[i])
			}
		}
		num[t] = nv
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read metrics results: %w", err)
	}
	return nil
}
