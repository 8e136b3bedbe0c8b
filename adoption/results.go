package adoption

import (
	"context"
	"fmt"
	"slices"
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
	qResultsDone    = siyusql.Query("metrics_results_done")
	qResultsReadAll = siyusql.Query("metrics_results_read_all")
)

const (
	insertResults = "INSERT INTO metrics_results (tenant, day, computed_ns, dau, wau, mau, paid_dau, paid_mau, new_dau, customer_dau, customer_mau, calendar_mau)"
	insertDone    = "INSERT INTO metrics_results_done (tenant, computed_ns, started, from_day, horizon)"
)

// storedMetrics are the series metrics_results holds, in its column order.
var storedMetrics = []Metric{DAU, WAU, MAU, PaidDAU, PaidMAU, NewDAU, CustomerDAU, CustomerMAU, CalendarMAU}

// storedColumns are the columns that answer m: its own, or for
// stickiness DAU over MAU (den −1 for every other series).
func storedColumns(m Metric) (num, den int) {
	if m == Stickiness {
		return slices.Index(storedMetrics, DAU), slices.Index(storedMetrics, MAU)
	}
	return slices.Index(storedMetrics, m), -1
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

// storedRows are the counts of the stored series, per tenant, on the
// consecutive days [from, to]: what the series of one range are picked
// from (storedSet), read with one query and one freshness state. Shared by
// every reader of the range: read only.
type storedRows struct {
	from, to Day
	tenants  map[string]*tenantRows
}

// tenantRows are one tenant's counts, per column of storedMetrics and
// day − from. has
// marks the days the table holds a row for; nil for a tenant computed for
// the read, which every day answers.
type tenantRows struct {
	has    []bool
	counts [][]uint32
}

// storedSet reads the stored counts of every series on [from, to] for
// tenant ("" = all): the fresh tenants from one read of the table, the
// stale ones from one computation of them (stored when settled).
func (s *Service) storedSet(ctx context.Context, tenant string, from, to Day) (storedRows, error) {
	r := storedRows{from: from, to: to, tenants: map[string]*tenantRows{}}
	n := int(to-from) + 1
	err := s.stored.Answer(ctx, tenant, func(_ freshness.State[done], stale map[string]bool) error {
		return s.readStoredRows(ctx, tenant, stale, &r)
	}, func(b *batch, stale []string) {
		for _, t := range stale {
			tr := &tenantRows{counts: make([][]uint32, len(storedMetrics))}
			for k, m := range storedMetrics {
				tr.counts[k] = make([]uint32, n)
				c := b.counts[m][t]
				for j := range n {
					if d := from + Day(j); d >= b.from && int(d-b.from) < len(c) {
						tr.counts[k][j] = uint32(c[d-b.from])
					}
				}
			}
			r.tenants[t] = tr
		}
	})
	return r, err
}

// readStoredRows reads the stored rows of every column on [r.from, r.to]
// of tenant ("" = all) into r, skipping the tenants in skip.
func (s *Service) readStoredRows(ctx context.Context, tenant string, skip map[string]bool, r *storedRows) error {
	rows, err := s.conn.Query(ctx, qResultsReadAll, clickhouse.Named("tenant", tenant),
		clickhouse.Named("from", int64(r.from)), clickhouse.Named("to", int64(r.to)))
	if err != nil {
		return fmt.Errorf("read metrics results: %w", err)
	}
	defer rows.Close()
	n := int(r.to-r.from) + 1
	cols := make([][]uint32, len(storedMetrics))
	dest := make([]any, 0, 2+len(cols))
	var t string
	var days []uint32
	dest = append(dest, &t, &days)
	for i := range cols {
		dest = append(dest, &cols[i])
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("scan metrics results: %w", err)
		}
		if skip[t] {
			continue
		}
		tr := &tenantRows{has: make([]bool, n), counts: make([][]uint32, len(cols))}
		for k := range cols {
			tr.counts[k] = make([]uint32, n)
		}
		for j, d := range days {
			if Day(d) < r.from || Day(d) > r.to {
				continue
			}
			at := int(Day(d) - r.from)
			tr.has[at] = true
			for k := range cols {
				tr.counts[k][at] = cols[k][j]
			}
		}
		r.tenants[t] = tr
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read metrics results: %w", err)
	}
	return nil
}

// counts are the per-tenant counts of m on days (within [r.from, r.to]),
// each with one extra zero past the last day (what assemble sums into): a
// tenant read from the table counts when it has a row within [days[0],
// days[len−1]].
func (r storedRows) counts(m Metric, days []Day) (num, den map[string][]float64) {
	numCol, denCol := storedColumns(m)
	num, den = map[string][]float64{}, map[string][]float64{}
	lo, hi := int(days[0]-r.from), int(days[len(days)-1]-r.from)
	for t, tr := range r.tenants {
		if tr.has != nil && !slices.Contains(tr.has[lo:hi+1], true) {
			continue
		}
		num[t] = r.pick(tr, numCol, days)
		if denCol >= 0 {
			den[t] = r.pick(tr, denCol, days)
		}
	}
	return num, den
}

// pick is column col of tr on days, with the extra zero of counts.
func (r storedRows) pick(tr *tenantRows, col int, days []Day) []float64 {
	c := tr.counts[col]
	out := make([]float64, len(days)+1)
	for i, d := range days {
		out[i] = float64(c[d-r.from])
	}
	return out
}
