package adoption

import (
	"errors"
	"fmt"
	"slices"
	"sort"
)

// Metric names a daily series (shared/spec/metrics.md).
type Metric string

// The series.
const (
	DAU         Metric = "dau"
	WAU         Metric = "wau"
	MAU         Metric = "mau"
	PaidDAU     Metric = "paid_dau"
	PaidMAU     Metric = "paid_mau"
	Stickiness  Metric = "stickiness"
	NewDAU      Metric = "new_dau"
	CustomerDAU Metric = "customer_dau"
	CustomerMAU Metric = "customer_mau"
	// CalendarMAU is one point per calendar month (see Compute).
	CalendarMAU Metric = "calendar_mau"
)

// Metrics lists every series, in documentation order.
func Metrics() []Metric {
	return []Metric{DAU, WAU, MAU, PaidDAU, PaidMAU, Stickiness, NewDAU, CustomerDAU, CustomerMAU, CalendarMAU}
}

// GroupBy names a breakdown of a series.
type GroupBy string

// The breakdowns; "" is none.
const (
	ByTenant GroupBy = "tenant"
	ByPlan   GroupBy = "plan"
)

// MaxDays bounds the length of a series or a cohort range.
const MaxDays = 400

// Query asks for one series over [From, To]. Tenant "" means every tenant;
// Plan "" every plan. A tenant's plan on a day is that of its latest
// subscription change up to the end of the day (NoPlan before any).
type Query struct {
	Metric  Metric
	From    Day
	To      Day
	Tenant  string
	Plan    string
	GroupBy GroupBy
}

// Validate reports the first problem with q.
func (q Query) Validate() error {
	switch {
	case !knownMetric(q.Metric):
		return fmt.Errorf("unknown metric %q", q.Metric)
	case q.From > q.To:
		return errors.New("from is after to")
	case int(q.To-q.From) >= MaxDays:
		return fmt.Errorf("a series spans at most %d days", MaxDays)
	case q.GroupBy != "" && q.GroupBy != ByTenant && q.GroupBy != ByPlan:
		return fmt.Errorf("unknown group_by %q", q.GroupBy)
	}
	return nil
}

// SeriesQuery asks for several series over one range [From, To], of one
// tenant ("" = every tenant) and plan ("" = every plan), without a
// breakdown: the series of one page, answered together.
type SeriesQuery struct {
	Metrics []Metric
	From    Day
	To      Day
	Tenant  string
	Plan    string
}

// Validate reports the first problem with q.
func (q SeriesQuery) Validate() error {
	if len(q.Metrics) == 0 {
		return errors.New("no metrics")
	}
	for i, m := range q.Metrics {
		if slices.Contains(q.Metrics[:i], m) {
			return fmt.Errorf("metric %q is asked twice", m)
		}
		if err := q.of(m).Validate(); err != nil {
			return err
		}
	}
	return nil
}

// of is q's query of the one series m.
func (q SeriesQuery) of(m Metric) Query {
	return Query{Metric: m, From: q.From, To: q.To, Tenant: q.Tenant, Plan: q.Plan}
}

func knownMetric(m Metric) bool {
	for _, k := range Metrics() {
		if k == m {
			return true
		}
	}
	return false
}

// window is how many days ending on D a metric looks at.
func (m Metric) window() int {
	switch m {
	case WAU:
		return 7
	case MAU, PaidMAU, Stickiness, CustomerMAU:
		return 30
	}
	return 1
}

// customers reports whether the metric counts customers rather than staff.
func (m Metric) customers() bool { return m == CustomerDAU || m == CustomerMAU }

// Point is one day of a series. Value is null where the metric is undefined
// (stickiness with no monthly actives).
type Point struct {
	Day   Day      `json:"day"`
	Value *float64 `json:"value"`
}

// Group is the series of one tenant or plan.
type Group struct {
	Key    string  `json:"key"`
	Series []Point `json:"series"`
}

// Result is a series, or one per group when the query has a GroupBy. Groups
// whose every value is zero or null are left out.
type Result struct {
	Metric Metric
	From   Day
	To     Day
	Series []Point
	Groups []Group
}

// Actor is a staff member or customer: ids are unique within a tenant only.
type Actor struct {
	Tenant string
	ID     string
}

// ActiveDays are the sorted days an actor was active.
type ActiveDays struct {
	Actor
	Days []Day
}

// FirstDay is the first-ever active day of an actor.
type FirstDay struct {
	Actor
	Day Day
}

// Input is what a series is computed from: the active days of the metric's
// actors in [From−window+1, To], their first days in [From, To] (new_dau),
// and the subscription changes.
type Input struct {
	Active []ActiveDays
	First  []FirstDay
	Plans  Timeline
}

// Compute assembles the series of q from in. Identities are (tenant, id)
// pairs, so a count over several tenants is the sum of theirs: every count
// is kept per (tenant, day) and summed into groups.
func Compute(q Query, in Input) Result {
	days := q.PointDays()
	num, den := tenantCounts(q.Metric, in, days)
	return assemble(q, in.Plans, num, den, days)
}

// tenantCounts are the per-tenant counts of metric m on days (the
// numerator, and the denominator for stickiness), each of len(days)+1.
func tenantCounts(m Metric, in Input, days []Day) (num, den map[string][]float64) {
	n := len(days)
	num, den = map[string][]float64{}, map[string][]float64{}
	if n == 0 {
		return num, den
	}
	from, to := days[0], days[n-1]
	switch m {
	case CalendarMAU:
		countMonths(num, in.Active, days)
	case NewDAU:
		countFirstDays(num, in.First, from, n)
	case Stickiness:
		countWindows(num, in.Active, 1, from, n, nil)
		countWindows(den, in.Active, 30, from, n, nil)
	case PaidDAU, PaidMAU:
		paid := newPaidDays(in.Plans, from-Day(m.window())+1, to)
		countWindows(num, in.Active, m.window(), from, n, paid)
	default:
		countWindows(num, in.Active, m.window(), from, n, nil)
	}
	return num, den
}

// assemble sums per-tenant counts into the result of q.
func assemble(q Query, tl Timeline, num, den map[string][]float64, days []Day) Result {
	n := len(days)
	groups := sumGroups(q, tl, num, den, days)
	res := Result{Metric: q.Metric, From: q.From, To: q.To}
	if q.GroupBy == "" {
		res.Series = groups[""]
		if res.Series == nil {
			res.Series = points(days, make([]float64, n), nil)
		}
		return res
	}
	res.Groups = []Group{}
	for key, s := range groups {
		if !allZero(s) {
			res.Groups = append(res.Groups, Group{Key: key, Series: s})
		}
	}
	sort.Slice(res.Groups, func(i, j int) bool { return res.Groups[i].Key < res.Groups[j].Key })
	return res
}

// countWindows adds, per tenant and target day D in [from, from+n), the
// actors active on at least one kept day in [D−w+1, D]. Each kept active day
// a_i covers the target days [a_i, min(a_{i+1}−1, a_i+w−1)]: the ranges of
// one actor are disjoint, so summing covered days counts distinct actors.
func countWindows(into map[string][]float64, active []ActiveDays, w int, from Day, n int, paid *paidDays) {
	to := from + Day(n) - 1
	var kept []Day
	for _, a := range active {
		diff := into[a.Tenant]
		if diff == nil {
			diff = make([]float64, n+1)
			into[a.Tenant] = diff
		}
		days := a.Days
		if paid != nil {
			kept = paid.keep(kept[:0], a.Tenant, a.Days)
			days = kept
		}
		for i, d := range days {
			end := d + Day(w) - 1
			if i+1 < len(days) {
				end = min(end, days[i+1]-1)
			}
			lo, hi := max(d, from), min(end, to)
			if lo <= hi {
				diff[lo-from]++
				diff[hi-from+1]--
			}
		}
	}
	for _, diff := range into {
		for i := 1; i <= n; i++ {
			diff[i] += diff[i-1]
		}
	}
}

func countFirstDays(into map[string][]float64, first []FirstDay, from Day, n int) {
	for _, f := range first {
		if f.Day < from || int(f.Day-from) >= n {
			continue
		}
		c := into[f.Tenant]
		if c == nil {
			c = make([]float64, n+1)
			into[f.Tenant] = c
		}
		c[f.Day-from]++
	}
}

// sumGroups sums per-tenant counts into the groups of q (key "" without a
// GroupBy), applying the tenant and plan filters, and divides num by den
// when den is given (stickiness).
func sumGroups(q Query, tl Timeline, num, den map[string][]float64, days []Day) map[string][]Point {
	n := len(days)
	ends := make([]int64, n)
	for i, d := range days {
		ends[i] = d.EndNs()
	}
	gnum, gden := map[string][]float64{}, map[string][]float64{}
	add := func(into map[string][]float64, key string, i int, v float64) {
		if into[key] == nil {
			into[key] = make([]float64, n)
		}
		into[key][i] += v
	}
	tenants := map[string]bool{}
	for t := range num {
		tenants[t] = true
	}
	for t := range den {
		tenants[t] = true
	}
	for t := range tenants {
		if q.Tenant != "" && t != q.Tenant {
			continue
		}
		for i := 0; i < n; i++ {
			plan, _ := tl.onEnd(t, ends[i])
			if q.Plan != "" && plan != q.Plan {
				continue
			}
			key := ""
			switch q.GroupBy {
			case ByTenant:
				key = t
			case ByPlan:
				key = plan
			}
			add(gnum, key, i, at(num[t], i))
			if q.Metric == Stickiness {
				add(gden, key, i, at(den[t], i))
			}
		}
	}
	out := map[string][]Point{}
	for key, v := range gnum {
		if q.Metric == Stickiness {
			out[key] = points(days, v, gden[key])
		} else {
			out[key] = points(days, v, nil)
		}
	}
	return out
}

func at(v []float64, i int) float64 {
	if v == nil {
		return 0
	}
	return v[i]
}

// points builds a series of v, or of v/den where den is given (null where
// den is 0).
func points(days []Day, v, den []float64) []Point {
	out := make([]Point, len(v))
	for i := range v {
		out[i].Day = days[i]
		x := v[i]
		if den != nil {
			if den[i] == 0 {
				continue
			}
			x /= den[i]
		}
		out[i].Value = &x
	}
	return out
}

func allZero(s []Point) bool {
	for _, p := range s {
		if p.Value != nil && *p.Value != 0 {
			return false
		}
	}
	return true
}
