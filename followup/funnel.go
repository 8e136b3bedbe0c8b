package followup

import (
	"slices"
	"sort"
)

// StageChange is one followup.stage_changed event.
type StageChange struct {
	ContactID string
	TimeNs    int64
	ID        string
	Source    string
	StaffID   string
	Stage     string
}

// before orders changes for replay: (time, id, source), as last-writer-wins.
func (a StageChange) before(b StageChange) bool {
	if a.TimeNs != b.TimeNs {
		return a.TimeNs < b.TimeNs
	}
	if a.ID != b.ID {
		return a.ID < b.ID
	}
	return a.Source < b.Source
}

// StageCount is a number of customers at, or reaching, a stage.
type StageCount struct {
	Stage string `json:"stage"`
	Count int    `json:"count"`
}

// Conversion: of the customers that entered Stage in the period, how many
// later reached each later stage of the list before the period ended.
type Conversion struct {
	Stage   string       `json:"stage"`
	Entered int          `json:"entered"`
	Reached []StageCount `json:"reached"`
}

// Funnel is a rep's (or the tenant's) stage funnel over a period.
type Funnel struct {
	StaffID string   `json:"staff_id"`
	Team    []string `json:"team,omitempty"` // the reps covered, for a manager's team

	From        string       `json:"from"`
	To          string       `json:"to"`
	Stages      []string     `json:"stages"`
	Current     []StageCount `json:"current"`
	Conversions []Conversion `json:"conversions"`
}

// FunnelQuery is what ComputeFunnel needs besides the changes: the stage
// list, the period [FromNs, ToNs) and whose changes count (one rep, a
// team, or everyone).
type FunnelQuery struct {
	Stages []string
	FromNs int64
	ToNs   int64
	Scope
}

// ComputeFunnel replays stage changes (any order, duplicates allowed).
//
// Current: each customer's stage at the end of the period (its latest
// change before ToNs), counted for the rep who made that change; stages of
// the list first, in order (zeros included), then stages no longer listed.
//
// Conversions: for each listed stage S, Entered is the customers with a
// change into S in [FromNs, ToNs) made by a rep in scope;
// from each one's first such entry, Reached[T] counts those with a later
// change (by time, id, source) into T before ToNs, for every stage T after S
// in the list, whoever made it.
//
// The reader computes Current in SQL (followup_stage_current) and replays
// only the customers with a change in the period; this is the whole
// definition in one place, and the tests hold the reader to it.
func ComputeFunnel(q FunnelQuery, changes []StageChange) ([]StageCount, []Conversion) {
	current := map[string]int{}
	for _, cs := range replayOrder(q, changes) {
		if last := cs[len(cs)-1]; q.Covers(last.StaffID) {
			current[last.Stage]++
		}
	}
	return CurrentCounts(q.Stages, current), ComputeConversions(q, changes)
}

// ComputeConversions is the conversions part of ComputeFunnel; changes must
// hold the whole history (before q.ToNs) of every customer with a change in
// the period.
func ComputeConversions(q FunnelQuery, changes []StageChange) []Conversion {
	entered := make([]int, len(q.Stages))
	reached := make([][]int, len(q.Stages))
	for i := range reached {
		reached[i] = make([]int, len(q.Stages))
	}
	for _, cs := range replayOrder(q, changes) {
		countConversions(q, cs, entered, reached)
	}
	return conversions(q.Stages, entered, reached)
}

// replayOrder groups the changes before q.ToNs per customer, each sorted.
func replayOrder(q FunnelQuery, changes []StageChange) map[string][]StageChange {
	byContact := map[string][]StageChange{}
	for _, c := range changes {
		if c.TimeNs < q.ToNs {
			byContact[c.ContactID] = append(byContact[c.ContactID], c)
		}
	}
	for _, cs := range byContact {
		sort.Slice(cs, func(i, j int) bool { return cs[i].before(cs[j]) })
	}
	return byContact
}

// countConversions adds one customer's sorted changes to the tallies.
func countConversions(q FunnelQuery, cs []StageChange, entered []int, reached [][]int) {
	for s, stage := range q.Stages {
		first := slices.IndexFunc(cs, func(c StageChange) bool {
			return c.Stage == stage && c.TimeNs >= q.FromNs && q.Covers(c.StaffID)
		})
		if first < 0 {
			continue
		}
		entered[s]++
		for t := s + 1; t < len(q.Stages); t++ {
			if slices.ContainsFunc(cs[first+1:], func(c StageChange) bool { return c.Stage == q.Stages[t] }) {
				reached[s][t]++
			}
		}
	}
}

// CurrentCounts lists the customers per stage: the listed stages in order,
// zeros included, then the others by name.
func CurrentCounts(stages []string, current map[string]int) []StageCount {
	out := make([]StageCount, 0, len(stages)+len(current))
	for _, s := range stages {
		out = append(out, StageCount{Stage: s, Count: current[s]})
	}
	var extra []string
	for s := range current {
		if !slices.Contains(stages, s) {
			extra = append(extra, s)
		}
	}
	sort.Strings(extra)
	for _, s := range extra {
		out = append(out, StageCount{Stage: s, Count: current[s]})
	}
	return out
}

func conversions(stages []string, entered []int, reached [][]int) []Conversion {
	out := make([]Conversion, 0, len(stages))
	for s, stage := range stages {
		c := Conversion{Stage: stage, Entered: entered[s], Reached: []StageCount{}}
		for t := s + 1; t < len(stages); t++ {
			c.Reached = append(c.Reached, StageCount{Stage: stages[t], Count: reached[s][t]})
		}
		out = append(out, c)
	}
	return out
}
