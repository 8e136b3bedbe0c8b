package metrics

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
	cs := tl[tenant]
	end := d.EndNs()
	i := sort.Search(len(cs), func(i int) bool { return cs[i].TimeNs >= end })
	if i == 0 {
		return NoPlan, false
	}
	return cs[i-1].Plan, cs[i-1].Paid
}
