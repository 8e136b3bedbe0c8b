package adoption

import (
	"fmt"
	"testing"
)

// BenchmarkComputeFullSize is the Go half of a platform-wide series at the
// size of issue 5: 2,000 tenants of 50 staff, each active on half of the
// 119 days a 90-day MAU reads, plans changing once per tenant.
func BenchmarkComputeFullSize(b *testing.B) {
	const tenants, staff = 2000, 50
	from, to := Day(20600), Day(20689)
	var active []ActiveDays
	var changes []Change
	for t := range tenants {
		tn := fmt.Sprintf("t%04d", t)
		changes = append(changes, Change{Tenant: tn, TimeNs: (from - 200).EndNs(), ID: "a", Plan: "pro", Paid: t%2 == 0},
			Change{Tenant: tn, TimeNs: (from + 40).EndNs(), ID: "b", Plan: "basic", Paid: t%3 == 0})
		for s := range staff {
			a := ActiveDays{Actor: Actor{Tenant: tn}}
			for d := from - 29; d <= to; d++ {
				if (int(d)+s)%2 == 0 {
					a.Days = append(a.Days, d)
				}
			}
			active = append(active, a)
		}
	}
	in := Input{Active: active, Plans: NewTimeline(changes)}
	for _, m := range []Metric{DAU, MAU, PaidMAU, CalendarMAU} {
		b.Run(string(m), func(b *testing.B) {
			for range b.N {
				Compute(Query{Metric: m, From: from, To: to}, in)
			}
		})
	}
}
