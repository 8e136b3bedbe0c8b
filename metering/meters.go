package metering

import (
	"fmt"
	"time"

	"github.com/siyu-dev/siyu/adoption"
	"github.com/siyu-dev/siyu/event"
)

// Meter names a daily meter.
type Meter string

// The daily meters.
const (
	ContactsTotal    Meter = "contacts_total"
	ContactsNew      Meter = "contacts_new"
	ContactsLost     Meter = "contacts_lost"
	LinkAcquisitions Meter = "link_acquisitions"
	ContactCap       Meter = "contact_cap"
	ContactsOverCap  Meter = "contacts_over_cap"
)

// Meters lists every meter.
func Meters() []Meter {
	return []Meter{ContactsTotal, ContactsNew, ContactsLost, LinkAcquisitions, ContactCap, ContactsOverCap}
}

// Peak reports whether a window's value is the max of its days (a level)
// rather than their sum (a flow).
func (m Meter) Peak() bool { return m == ContactsTotal || m == ContactsOverCap || m == ContactCap }

// Of is the meter's value in d.
func (m Meter) Of(d Daily) int64 {
	switch m {
	case ContactsTotal:
		return d.ContactsTotal
	case ContactsNew:
		return d.ContactsNew
	case ContactsLost:
		return d.ContactsLost
	case LinkAcquisitions:
		return d.LinkAcquisitions
	case ContactCap:
		return d.ContactCap
	case ContactsOverCap:
		return d.ContactsOverCap
	}
	panic(fmt.Sprintf("metering: unknown meter %q", m))
}

// Window is how days are grouped in a series.
type Window string

// Windows.
const (
	Day   Window = "day"
	Month Window = "month"
)

// Point is one window of a series. Start and End are instants (End
// exclusive): midnights in the reporting zone, written in UTC.
type Point struct {
	Start time.Time `json:"windowStart"`
	End   time.Time `json:"windowEnd"`
	Value int64     `json:"value"`
}

// Aggregate folds daily meters (one slice per tenant, same days) into
// windows: the days are summed across tenants, then a window takes the
// max (Peak meters) or the sum of its days. A month window is clipped to
// the days given.
func Aggregate(m Meter, w Window, tenants [][]Daily, from, to adoption.Day) []Point {
	daily := make([]int64, int(to-from)+1)
	for _, ds := range tenants {
		for _, d := range ds {
			if d.Day >= from && d.Day <= to {
				daily[d.Day-from] += m.Of(d)
			}
		}
	}
	var out []Point
	for start := from; start <= to; {
		end := start
		if w == Month {
			end = min(to, lastOfMonth(start))
		}
		var v int64
		for d := start; d <= end; d++ {
			x := daily[d-from]
			if m.Peak() {
				v = max(v, x)
			} else {
				v += x
			}
		}
		out = append(out, Point{Start: time.Unix(0, (start - 1).EndNs()).UTC(), End: time.Unix(0, end.EndNs()).UTC(), Value: v})
		start = end + 1
	}
	return out
}

// lastOfMonth is the last day of d's calendar month.
func lastOfMonth(d adoption.Day) adoption.Day {
	t := d.Date()
	return adoption.DateDay(time.Date(t.Year(), t.Month()+1, 0, 0, 0, 0, 0, time.UTC))
}

// Period is a billing period: a calendar month in the reporting zone.
type Period struct{ From, To adoption.Day }

// ParsePeriod reads YYYY-MM, a month of the years event.FirstInputYear to
// event.LastInputYear: a period is recorded for good in billing_exports
// once closed, and the end of a month after 2262 is past int64 nanoseconds.
func ParsePeriod(s string) (Period, error) {
	t, err := time.Parse("2006-01", s)
	if err != nil {
		return Period{}, fmt.Errorf("%q is not a period (YYYY-MM)", s)
	}
	from := adoption.DateDay(t)
	p := Period{From: from, To: lastOfMonth(from)}
	return p, p.check()
}

// check refuses a period outside the input years (ParsePeriod), so that
// Usage records nothing for one that did not come from ParsePeriod either.
func (p Period) check() error {
	if event.CheckInputTime("period", p.From.Date()) != nil || event.CheckInputTime("period", p.To.Date()) != nil {
		return fmt.Errorf("period %s is out of range: a month of the years %d–%d", p, event.FirstInputYear, event.LastInputYear)
	}
	return nil
}

// String is YYYY-MM.
func (p Period) String() string { return p.From.Date().Format("2006-01") }

// Closed reports whether the period has ended at now.
func (p Period) Closed(now time.Time) bool { return now.UnixNano() >= p.To.EndNs() }
