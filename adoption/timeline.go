package adoption

import "sort"

// Change is one subscription.changed event of a tenant.
type Change struct {
	Tenant string
	TimeNs int64
	ID     string
	Source string
	Plan   string
	Paid   bool
}

// after orders changes last-writer-wins: by time, then id, then source
// (docs/decisions.md, 5).
func (c Change) after(o Change) bool {
	if c.TimeNs != o.TimeNs {
		return c.TimeNs > o.TimeNs
	}
	if c.ID != o.ID {
		return c.ID > o.ID
	}
	return c.Source > o.Source
}

// Timeline is each tenant's subscription changes in last-writer-wins order:
// the state on a day is the latest change up to the end of that day.
type Timeline map[string][]Change

// NewTimeline sorts changes per tenant. Duplicates are harmless.
func NewTimeline(changes []Change) Timeline {
	tl := Timeline{}
	for _, c := range changes {
		tl[c.Tenant] = append(tl[c.Tenant], c)
	}
	for _, cs := range tl {
		sort.Slice(cs, func(i, j int) bool { return cs[j].after(cs[i]) })
	}
	return tl
}

// NoPlan is the plan of a tenant before its first subscription change.
const NoPlan = "none"

// On is the tenant's plan and paid flag on day d: those of its latest change
// with time at or before the end of d (NoPlan and unpaid before any).
func (tl Timeline) On(tenant string, d Day) (plan string, paid bool) {
	return tl.onEnd(tenant, d.EndNs())
}

// onEnd is On for the day whose end (Day.EndNs) is end: a series looks up
// each (tenant, day), and computing the end of a day in the zone costs more
// than the lookup itself.
func (tl Timeline) onEnd(tenant string, end int64) (plan string, paid bool) {
	cs := tl[tenant]
	i := sort.Search(len(cs), func(i int) bool { return cs[i].TimeNs >= end })
	if i == 0 {
		return NoPlan, false
	}
	return cs[i-1].Plan, cs[i-1].Paid
}

// paidDays answers "was the tenant paid on d" for the days of [lo, hi]
// from a table built once per tenant: paid metrics ask it for every active
// day of every staff member.
type paidDays struct {
	tl   Timeline
	lo   Day
	ends []int64
	paid map[string][]bool
}

func newPaidDays(tl Timeline, lo, hi Day) *paidDays {
	return &paidDays{tl: tl, lo: lo, ends: dayEnds(lo, hi), paid: map[string][]bool{}}
}

// keep appends to dst the days of days on which tenant was paid.
func (p *paidDays) keep(dst []Day, tenant string, days []Day) []Day {
	table, ok := p.paid[tenant]
	if !ok {
		table = make([]bool, len(p.ends))
		for j, end := range p.ends {
			_, table[j] = p.tl.onEnd(tenant, end)
		}
		p.paid[tenant] = table
	}
	for _, d := range days {
		i := int(d - p.lo)
		if i >= 0 && i < len(table) {
			if table[i] {
				dst = append(dst, d)
			}
		} else if _, paid := p.tl.On(tenant, d); paid {
			dst = append(dst, d)
		}
	}
	return dst
}

// dayEnds are the EndNs of each day of [lo, hi].
func dayEnds(lo, hi Day) []int64 {
	out := make([]int64, 0, max(0, int(hi-lo)+1))
	for d := lo; d <= hi; d++ {
		out = append(out, d.EndNs())
	}
	return out
}
