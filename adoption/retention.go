package adoption

import (
	"errors"
	"fmt"
	"sort"
)

// RetentionDays are the N of day-N retention the API offers.
var RetentionDays = []int{1, 7, 30, 60, 90, 120}

// RetentionQuery asks for the cohorts whose first active day lies in
// [From, To]. Tenant "" means every tenant (cohorts of (tenant, staff) pairs).
// Customers asks for cohorts of customers (active: sent a message) instead
// of staff; the last day with data is still the last day of staff activity.
type RetentionQuery struct {
	From      Day
	To        Day
	Tenant    string
	Days      []int
	Customers bool
}

// Validate reports the first problem with q.
func (q RetentionQuery) Validate() error {
	switch {
	case q.From > q.To:
		return errors.New("cohort_from is after cohort_to")
	case int(q.To-q.From) >= MaxDays:
		return fmt.Errorf("a cohort range spans at most %d days", MaxDays)
	case len(q.Days) == 0:
		return errors.New("no retention days")
	}
	for _, n := range q.Days {
		if !validRetentionDay(n) {
			return fmt.Errorf("day %d is not one of %v", n, RetentionDays)
		}
	}
	return nil
}

func validRetentionDay(n int) bool {
	for _, k := range RetentionDays {
		if k == n {
			return true
		}
	}
	return false
}

// maxN is the largest N asked for.
func (q RetentionQuery) maxN() int {
	m := 0
	for _, n := range q.Days {
		m = max(m, n)
	}
	return m
}

// Cohort is the staff whose first active day is Day: how many, and the
// share of them active on Day+N for each N asked (in order). A share is null
// when Day+N lies after the last day with data, or the cohort is empty.
type Cohort struct {
	Day      Day        `json:"day"`
	Size     int        `json:"size"`
	Retained []*float64 `json:"retained"`
}

// Retention computes the cohorts of q from the first days of the staff (in
// [q.From, q.To]) and their active days (in [q.From, q.To+max N]); last is
// the last day with data (capped at today by the caller).
func Retention(q RetentionQuery, first []FirstDay, active []ActiveDays, last Day) []Cohort {
	days := make(map[Actor][]Day, len(active))
	for _, a := range active {
		days[a.Actor] = a.Days
	}
	n := int(q.To-q.From) + 1
	size := make([]int, n)
	hits := make([][]int, n)
	for i := range hits {
		hits[i] = make([]int, len(q.Days))
	}
	for _, f := range first {
		if f.Day < q.From || f.Day > q.To || (q.Tenant != "" && f.Tenant != q.Tenant) {
			continue
		}
		c := int(f.Day - q.From)
		size[c]++
		for j, dn := range q.Days {
			if activeOn(days[f.Actor], f.Day+Day(dn)) {
				hits[c][j]++
			}
		}
	}
	out := make([]Cohort, n)
	for c := range out {
		d0 := q.From + Day(c)
		out[c] = Cohort{Day: d0, Size: size[c], Retained: make([]*float64, len(q.Days))}
		for j, dn := range q.Days {
			if size[c] > 0 && d0+Day(dn) <= last {
				share := float64(hits[c][j]) / float64(size[c])
				out[c].Retained[j] = &share
			}
		}
	}
	return out
}

// activeOn reports whether sorted days holds d.
func activeOn(days []Day, d Day) bool {
	i := sort.Search(len(days), func(i int) bool { return days[i] >= d })
	return i < len(days) && days[i] == d
}
