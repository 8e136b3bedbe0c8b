package adoption

import "time"

// MonthStart is the first day of d's calendar month.
func MonthStart(d Day) Day {
	y, m, _ := d.Date().Date()
	return DateDay(time.Date(y, m, 1, 0, 0, 0, 0, time.UTC))
}

// MonthEnd is the last day of d's calendar month.
func MonthEnd(d Day) Day {
	y, m, _ := d.Date().Date()
	return DateDay(time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC))
}

// PointDays are the days a series of q has points on: every day of
// [From, To], or for calendar_mau the first day of every calendar month
// that holds a day of [From, To].
func (q Query) PointDays() []Day {
	var out []Day
	if q.Metric == CalendarMAU {
		for d := MonthStart(q.From); d <= q.To; d = MonthEnd(d) + 1 {
			out = append(out, d)
		}
		return out
	}
	for d := q.From; d <= q.To; d++ {
		out = append(out, d)
	}
	return out
}

// countMonths adds, per tenant and month starting on months[i], the actors
// active on at least one day of that whole calendar month.
func countMonths(into map[string][]float64, active []ActiveDays, months []Day) {
	ends := make([]Day, len(months))
	for i, m := range months {
		ends[i] = MonthEnd(m)
	}
	for _, a := range active {
		c := into[a.Tenant]
		if c == nil {
			c = make([]float64, len(months))
			into[a.Tenant] = c
		}
		last := -1
		for _, d := range a.Days {
			i := monthIndex(months, ends, d)
			if i >= 0 && i != last {
				c[i]++
				last = i
			}
		}
	}
}

// monthIndex is the index of the month [months[i], ends[i]] holding d
// (-1: none); a series has at most 14 months.
func monthIndex(months, ends []Day, d Day) int {
	for i := len(months) - 1; i >= 0; i-- {
		if d >= months[i] {
			if d <= ends[i] {
				return i
			}
			return -1
		}
	}
	return -1
}
