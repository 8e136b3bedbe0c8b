package metering

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"slices"
	"sort"
	"strconv"
)

// The billed meters of a period (shared/spec/metrics.md).
const (
	PeakContacts = "peak_contacts"     // max of daily contacts_total
	PeakOverCap  = "peak_over_cap"     // max of daily contacts_over_cap
	LinkUsage    = "link_acquisitions" // sum of daily link_acquisitions
)

// UsageMeters lists the billed meters in export order.
func UsageMeters() []string { return []string{PeakContacts, PeakOverCap, LinkUsage} }

// Line is one usage line. Key is its idempotency key: tenant:period:meter
// for the original figure, tenant:period:meter:adjustment:n for the n-th
// correction of a closed period.
type Line struct {
	Key    string `json:"key"`
	Tenant string `json:"tenant"`
	Period string `json:"period"`
	Meter  string `json:"meter"`
	Value  int64  `json:"value"`
}

// Usage is the export of one period.
type Usage struct {
	Period string `json:"period"`
	Closed bool   `json:"closed"`
	Lines  []Line `json:"lines"`
}

// Record is a usage line as billing_exports stores it: seq 0 is the
// original figure, seq n > 0 the n-th adjustment (a difference).
type Record struct {
	Tenant, Meter string
	Seq           uint32
	Value         int64
}

// usageFigures folds a tenant's days of a period into its billed figures.
func usageFigures(days []Daily) map[string]int64 {
	f := map[string]int64{PeakContacts: 0, PeakOverCap: 0, LinkUsage: 0}
	for _, d := range days {
		f[PeakContacts] = max(f[PeakContacts], d.ContactsTotal)
		f[PeakOverCap] = max(f[PeakOverCap], d.ContactsOverCap)
		f[LinkUsage] += d.LinkAcquisitions
	}
	return f
}

// Reconcile builds the lines of a period from the recomputed figures
// (tenant → meter → value) and what earlier exports recorded, and returns
// the records to add. An open period is never recorded: its lines are the
// figures so far. A closed period repeats every recorded line as it was and
// adds an adjustment (new − recorded total) when the figure moved, so an
// exported figure never changes silently.
func Reconcile(period string, closed bool, figures map[string]map[string]int64, recorded []Record) (Usage, []Record) {
	u := Usage{Period: period, Closed: closed, Lines: []Line{}}
	rec := map[[2]string][]Record{}
	tenants := map[string]bool{}
	for tn := range figures {
		tenants[tn] = true
	}
	if closed {
		for _, r := range recorded {
			k := [2]string{r.Tenant, r.Meter}
			rec[k] = append(rec[k], r)
			tenants[r.Tenant] = true
		}
	}
	names := make([]string, 0, len(tenants))
	for tn := range tenants {
		names = append(names, tn)
	}
	sort.Strings(names)
	var add []Record
	for _, tn := range names {
		for _, m := range UsageMeters() {
			v := figures[tn][m]
			if !closed {
				u.Lines = append(u.Lines, lineOf(period, Record{Tenant: tn, Meter: m, Value: v}))
				continue
			}
			rs := rec[[2]string{tn, m}]
			slices.SortFunc(rs, func(a, b Record) int { return int(a.Seq) - int(b.Seq) })
			var total int64
			for _, r := range rs {
				u.Lines = append(u.Lines, lineOf(period, r))
				total += r.Value
			}
			if len(rs) == 0 || v != total {
				r := Record{Tenant: tn, Meter: m, Seq: uint32(len(rs)), Value: v - total}
				add = append(add, r)
				u.Lines = append(u.Lines, lineOf(period, r))
			}
		}
	}
	return u, add
}

func lineOf(period string, r Record) Line {
	l := Line{Tenant: r.Tenant, Period: period, Meter: r.Meter, Value: r.Value,
		Key: r.Tenant + ":" + period + ":" + r.Meter}
	if r.Seq > 0 {
		l.Meter += "_adjustment"
		l.Key += ":adjustment:" + strconv.Itoa(int(r.Seq))
	}
	return l
}

// WriteCSV writes the lines with a header: key,tenant,period,meter,value.
func WriteCSV(w io.Writer, u Usage) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"key", "tenant", "period", "meter", "value"}); err != nil {
		return err
	}
	for _, l := range u.Lines {
		if err := cw.Write([]string{l.Key, l.Tenant, l.Period, l.Meter, strconv.FormatInt(l.Value, 10)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes the usage as one JSON document and a newline.
func WriteJSON(w io.Writer, u Usage) error {
	b, err := json.Marshal(u)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
