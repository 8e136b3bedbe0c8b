package metering

import "github.com/siyu-dev/siyu/adoption"

// Change is what ClickHouse folds the relation events of a tenant's day
// into (sql/queries/metering_daily_changes.sql): the net change of
// contacts_total at the end of Day, and the contacts lost, new and acquired
// through a link on Day. The changes before the first day asked for come as
// one Change on the day before it, whose TotalChange is the total then.
type Change struct {
	Tenant      string
	Day         adoption.Day
	TotalChange int64
	Lost        int64
	New         int64
	Linked      int64
}

// FromChanges returns the meters of each day of [from, to] for every tenant
// named in tenants or caps: the totals run forward from the changes, the
// caps apply as in Compute. Changes may come in any order.
func FromChanges(changes []Change, tenants []string, caps []Cap, from, to adoption.Day) map[string][]Daily {
	n := max(0, int(to-from)+1)
	byTenant := map[string][]Change{}
	for _, t := range tenants {
		byTenant[t] = byTenant[t][:0:0]
	}
	capsBy := map[string][]Cap{}
	for _, c := range caps {
		capsBy[c.Tenant] = append(capsBy[c.Tenant], c)
		if _, ok := byTenant[c.Tenant]; !ok {
			byTenant[c.Tenant] = nil
		}
	}
	for _, c := range changes {
		byTenant[c.Tenant] = append(byTenant[c.Tenant], c)
	}
	out := make(map[string][]Daily, len(byTenant))
	for tn, cs := range byTenant {
		days := make([]Daily, n)
		step := make([]int64, n)
		var base int64
		for _, c := range cs {
			switch {
			case c.Day < from:
				base += c.TotalChange
			case c.Day <= to:
				i := c.Day - from
				step[i] += c.TotalChange
				days[i].ContactsLost += c.Lost
				days[i].ContactsNew += c.New
				days[i].LinkAcquisitions += c.Linked
			}
		}
		total := base
		for i := range days {
			d := &days[i]
			d.Day = from + adoption.Day(i)
			total += step[i]
			d.ContactsTotal = total
			d.ContactCap = capOn(capsBy[tn], d.Day)
			if d.ContactCap > 0 {
				d.ContactsOverCap = max(0, d.ContactsTotal-d.ContactCap)
			}
		}
		out[tn] = days
	}
	return out
}
