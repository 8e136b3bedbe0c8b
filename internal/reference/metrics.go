package reference

import (
	"sort"
	"time"

	"github.com/siyu-dev/siyu/adoption"
	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/internal/reporting"
)

// Metrics is the brute-force truth for shared/spec/metrics.md: every value
// is recomputed from its definition, day by day and actor by actor, with no
// rollups, windows tricks or timelines.
type Metrics struct {
	zone      *time.Location
	staff     map[[2]string]map[adoption.Day]bool // (tenant, staff) → active days
	customers map[[2]string]map[adoption.Day]bool // (tenant, contact) → active days
	subs      map[string][]*event.Event           // tenant → subscription changes
	tenants   map[string]bool
	last      adoption.Day
}

// NewMetrics folds events (any order, duplicates allowed: they are dropped
// by (tenant, source, id)).
func NewMetrics(events []event.Event) *Metrics {
	zone := reporting.Zone
	m := &Metrics{zone: zone, staff: map[[2]string]map[adoption.Day]bool{},
		customers: map[[2]string]map[adoption.Day]bool{}, subs: map[string][]*event.Event{}, tenants: map[string]bool{}}
	seen := map[[3]string]bool{}
	for i := range events {
		e := &events[i]
		id := [3]string{e.Tenant, e.Source, e.ID}
		if seen[id] {
			continue
		}
		seen[id] = true
		m.fold(e)
	}
	return m
}

func (m *Metrics) day(t time.Time) adoption.Day {
	d, err := adoption.ParseDay(t.In(m.zone).Format("2006-01-02"))
	if err != nil {
		panic(err)
	}
	return d
}

func (m *Metrics) fold(e *event.Event) {
	mark := func(staff bool, id string) {
		set := m.customers
		if staff {
			set = m.staff
		}
		k := [2]string{e.Tenant, id}
		if set[k] == nil {
			set[k] = map[adoption.Day]bool{}
		}
		d := m.day(e.Time)
		set[k][d] = true
		m.tenants[e.Tenant] = true
		if staff {
			m.last = max(m.last, d)
		}
	}
	d := &e.Data
	switch e.Type {
	case event.StaffActive:
		mark(true, e.Subject)
	case event.ContactAdded, event.ContactUpdated, event.FollowupLogged, event.FollowupStageChange:
		mark(true, d.StaffID)
	case event.ContactRemoved:
		if d.By == "staff" {
			mark(true, d.StaffID)
		}
	case event.ChatMessage:
		if d.Direction == "out" {
			mark(true, d.StaffID)
		} else {
			mark(false, e.Subject)
		}
	case event.TagAdded, event.TagRemoved:
		if d.StaffID != "" {
			mark(true, d.StaffID)
		}
	case event.SubscriptionChanged:
		m.subs[e.Tenant] = append(m.subs[e.Tenant], e)
		m.tenants[e.Tenant] = true
	}
}

// subscription is the tenant's latest change with time ≤ the end of day d.
func (m *Metrics) subscription(tenant string, d adoption.Day) (plan string, paid bool) {
	y, mo, dd := d.Date().Date()
	end := time.Date(y, mo, dd+1, 0, 0, 0, 0, m.zone)
	var best *event.Event
	for _, e := range m.subs[tenant] {
		if !e.Time.Before(end) {
			continue
		}
		if best == nil || keyOf(best).less(keyOf(e)) {
			best = e
		}
	}
	if best == nil {
		return adoption.NoPlan, false
	}
	return best.Data.Plan, best.Data.Paid
}

// count is the number of actors of tenant with an active day in [d−w+1, d]
// for which ok holds.
func count(set map[[2]string]map[adoption.Day]bool, tenant string, d adoption.Day, w int, ok func(adoption.Day) bool) int {
	n := 0
	for k, days := range set {
		if k[0] != tenant {
			continue
		}
		for x := d - adoption.Day(w) + 1; x <= d; x++ {
			if days[x] && ok(x) {
				n++
				break
			}
		}
	}
	return n
}

func (m *Metrics) firstDay(days map[adoption.Day]bool) adoption.Day {
	first := adoption.Day(1 << 30)
	for d := range days {
		first = min(first, d)
	}
	return first
}

// value is the (numerator, denominator) of metric for one tenant on day d.
func (m *Metrics) value(metric adoption.Metric, tenant string, d adoption.Day) (float64, float64) {
	all := func(adoption.Day) bool { return true }
	paid := func(x adoption.Day) bool { _, p := m.subscription(tenant, x); return p }
	switch metric {
	case adoption.DAU:
		return float64(count(m.staff, tenant, d, 1, all)), 0
	case adoption.WAU:
		return float64(count(m.staff, tenant, d, 7, all)), 0
	case adoption.MAU:
		return float64(count(m.staff, tenant, d, 30, all)), 0
	case adoption.PaidDAU:
		return float64(count(m.staff, tenant, d, 1, paid)), 0
	case adoption.PaidMAU:
		return float64(count(m.staff, tenant, d, 30, paid)), 0
	case adoption.Stickiness:
		return float64(count(m.staff, tenant, d, 1, all)), float64(count(m.staff, tenant, d, 30, all))
	case adoption.CustomerDAU:
		return float64(count(m.customers, tenant, d, 1, all)), 0
	case adoption.CustomerMAU:
		return float64(count(m.customers, tenant, d, 30, all)), 0
	case adoption.NewDAU:
		n := 0
		for k, days := range m.staff {
			if k[0] == tenant && m.firstDay(days) == d {
				n++
			}
		}
		return float64(n), 0
	}
	panic("unknown metric " + metric)
}

// Series is the brute-force answer to q, in the shape adoption.Compute gives.
func (m *Metrics) Series(q adoption.Query) adoption.Result {
	if q.Metric == adoption.CalendarMAU {
		return m.calendarSeries(q)
	}
	n := int(q.To-q.From) + 1
	num, den := map[string][]float64{}, map[string][]float64{}
	for t := range m.tenants {
		if q.Tenant != "" && t != q.Tenant {
			continue
		}
		for i := 0; i < n; i++ {
			d := q.From + adoption.Day(i)
			plan, _ := m.subscription(t, d)
			if q.Plan != "" && plan != q.Plan {
				continue
			}
			key := map[adoption.GroupBy]string{"": "", adoption.ByTenant: t, adoption.ByPlan: plan}[q.GroupBy]
			if num[key] == nil {
				num[key], den[key] = make([]float64, n), make([]float64, n)
			}
			a, b := m.value(q.Metric, t, d)
			num[key][i] += a
			den[key][i] += b
		}
	}
	res := adoption.Result{Metric: q.Metric, From: q.From, To: q.To}
	series := func(key string) []adoption.Point {
		out := make([]adoption.Point, n)
		for i := range out {
			out[i].Day = q.From + adoption.Day(i)
			v := 0.0
			if num[key] != nil {
				v = num[key][i]
			}
			if q.Metric == adoption.Stickiness {
				if num[key] == nil || den[key][i] == 0 {
					continue
				}
				v /= den[key][i]
			}
			out[i].Value = &v
		}
		return out
	}
	if q.GroupBy == "" {
		res.Series = series("")
		return res
	}
	res.Groups = []adoption.Group{}
	for key := range num {
		s := series(key)
		for _, p := range s {
			if p.Value != nil && *p.Value != 0 {
				res.Groups = append(res.Groups, adoption.Group{Key: key, Series: s})
				break
			}
		}
	}
	sort.Slice(res.Groups, func(i, j int) bool { return res.Groups[i].Key < res.Groups[j].Key })
	return res
}

// Retention is the brute-force cohort table of q; today caps the last day
// with data.
func (m *Metrics) Retention(q adoption.RetentionQuery, today adoption.Day) []adoption.Cohort {
	last := min(m.last, today)
	var out []adoption.Cohort
	for d0 := q.From; d0 <= q.To; d0++ {
		c := adoption.Cohort{Day: d0, Retained: make([]*float64, len(q.Days))}
		hits := make([]int, len(q.Days))
		actors := m.staff
		if q.Customers {
			actors = m.customers
		}
		for k, days := range actors {
			if (q.Tenant != "" && k[0] != q.Tenant) || m.firstDay(days) != d0 {
				continue
			}
			c.Size++
			for j, dn := range q.Days {
				if days[d0+adoption.Day(dn)] {
					hits[j]++
				}
			}
		}
		for j, dn := range q.Days {
			if c.Size > 0 && d0+adoption.Day(dn) <= last {
				share := float64(hits[j]) / float64(c.Size)
				c.Retained[j] = &share
			}
		}
		out = append(out, c)
	}
	return out
}

// calendarSeries is calendar MAU(M) for every calendar month M holding a day
// of [q.From, q.To], on the month's first day; the plan filter and
// breakdown take the tenant's plan on that day.
func (m *Metrics) calendarSeries(q adoption.Query) adoption.Result {
	var months []adoption.Day
	for d := q.From; d <= q.To; d++ {
		if first := adoption.MonthStart(d); len(months) == 0 || months[len(months)-1] != first {
			months = append(months, first)
		}
	}
	num := map[string][]float64{}
	for t := range m.tenants {
		if q.Tenant != "" && t != q.Tenant {
			continue
		}
		for i, first := range months {
			plan, _ := m.subscription(t, first)
			if q.Plan != "" && plan != q.Plan {
				continue
			}
			key := map[adoption.GroupBy]string{"": "", adoption.ByTenant: t, adoption.ByPlan: plan}[q.GroupBy]
			if num[key] == nil {
				num[key] = make([]float64, len(months))
			}
			for k, days := range m.staff {
				if k[0] != t {
					continue
				}
				for d := first; d <= adoption.MonthEnd(first); d++ {
					if days[d] {
						num[key][i]++
						break
					}
				}
			}
		}
	}
	series := func(key string) []adoption.Point {
		out := make([]adoption.Point, len(months))
		for i := range out {
			v := 0.0
			if num[key] != nil {
				v = num[key][i]
			}
			out[i] = adoption.Point{Day: months[i], Value: &v}
		}
		return out
	}
	res := adoption.Result{Metric: q.Metric, From: q.From, To: q.To}
	if q.GroupBy == "" {
		res.Series = series("")
		return res
	}
	res.Groups = []adoption.Group{}
	for key := range num {
		s := series(key)
		for _, p := range s {
			if *p.Value != 0 {
				res.Groups = append(res.Groups, adoption.Group{Key: key, Series: s})
				break
			}
		}
	}
	sort.Slice(res.Groups, func(i, j int) bool { return res.Groups[i].Key < res.Groups[j].Key })
	return res
}
