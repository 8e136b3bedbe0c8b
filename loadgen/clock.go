package loadgen

import (
	"time"

	"github.com/siyu-dev/siyu/internal/reporting"
)

// hourWeights is the relative activity of each hour of a working day in CST:
// quiet nights, a dip at lunch, a long tail into the evening.
var hourWeights = [24]float64{
	0.03, 0.02, 0.01, 0.01, 0.01, 0.02, 0.05, 0.15, 0.50, 0.95, 1.00, 0.95,
	0.55, 0.70, 0.95, 1.00, 0.95, 0.85, 0.60, 0.50, 0.50, 0.40, 0.25, 0.10,
}

// weekendFactor scales Saturday and Sunday.
const weekendFactor = 0.3

// clock spreads n slots over [start, end) in time order, dense in office
// hours. Slot i lands at quantile (i+r)/n of the activity curve for a random
// r in [0, 1): the quantiles never decrease, so neither do the times, and the
// clock walks the curve with a cursor instead of searching it.
type clock struct {
	startNs int64
	endNs   int64
	cum     []float64 // cumulative activity at the end of each hour, ending at 1
	cursor  int
	n       int
}

func newClock(start, end time.Time, n int) clock {
	c := clock{startNs: start.UnixNano(), endNs: end.UnixNano(), n: n}
	var sum float64
	for t := start; t.Before(end); t = t.Add(time.Hour) {
		w := activity(t.In(reporting.Zone))
		if rest := end.Sub(t); rest < time.Hour {
			w *= float64(rest) / float64(time.Hour)
		}
		sum += w
		c.cum = append(c.cum, sum)
	}
	for i := range c.cum {
		c.cum[i] /= sum
	}
	return c
}

func activity(t time.Time) float64 {
	w := hourWeights[t.Hour()]
	if d := t.Weekday(); d == time.Saturday || d == time.Sunday {
		w *= weekendFactor
	}
	return w
}

// at returns the time of slot i, truncated to the millisecond. Calls must
// come in non-decreasing order of i.
func (c *clock) at(i int, r float64) time.Time {
	u := (float64(i) + r) / float64(c.n)
	for c.cursor < len(c.cum)-1 && c.cum[c.cursor] <= u {
		c.cursor++
	}
	lo := 0.0
	if c.cursor > 0 {
		lo = c.cum[c.cursor-1]
	}
	frac := 0.0
	if hi := c.cum[c.cursor]; hi > lo {
		frac = (u - lo) / (hi - lo)
	}
	frac = min(max(frac, 0), 1)
	from := c.startNs + int64(c.cursor)*int64(time.Hour)
	span := min(int64(time.Hour), c.endNs-from)
	ns := min(from+int64(frac*float64(span)), c.endNs-1)
	ns -= ns % int64(time.Millisecond)
	return time.Unix(0, ns).In(reporting.Zone)
}
