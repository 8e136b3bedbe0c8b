package adoption

import (
	"fmt"
	"time"

	"github.com/siyu-dev/siyu/internal/reporting"
)

// Day is a calendar day, counted from 1970-01-01 (day 0).
type Day int32

// DayLayout is how days are written: 2026-10-01.
const DayLayout = "2006-01-02"

// DayOf is the reporting day (in reporting.Zone) of an instant.
func DayOf(t time.Time) Day { return DateDay(t.In(reporting.Zone)) }

// DateDay is the day of t's calendar date in t's own location: the form in
// which ClickHouse Date values arrive.
func DateDay(t time.Time) Day {
	y, m, d := t.Date()
	return Day(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// ParseDay reads a YYYY-MM-DD day.
func ParseDay(s string) (Day, error) {
	t, err := time.Parse(DayLayout, s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a day (YYYY-MM-DD)", s)
	}
	return DateDay(t), nil
}

// Date is the day at midnight UTC, for formatting and date arithmetic.
func (d Day) Date() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// String is the YYYY-MM-DD form.
func (d Day) String() string { return d.Date().Format(DayLayout) }

// EndNs is the first instant after the day in the reporting zone, in Unix nanoseconds: an
// event is "on or before the end of d" when its time is below it.
func (d Day) EndNs() int64 {
	y, m, dd := d.Date().Date()
	return time.Date(y, m, dd+1, 0, 0, 0, 0, reporting.Zone).UnixNano()
}

// MarshalJSON writes "YYYY-MM-DD".
func (d Day) MarshalJSON() ([]byte, error) { return []byte(`"` + d.String() + `"`), nil }
