package followup

import (
	"maps"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testBook is a tenant whose customers c1..c4 start in the pool and h1, h2
// are held by s9.
func testBook(rules Rules) *book {
	b := newBook("acme")
	b.rules = rules
	pool := Holding{FirstStaff: "s0", LastKey: EventKey{TimeNs: 1, ID: "rel", Source: "x"}}
	for _, c := range []string{"c1", "c2", "c3", "c4"} {
		b.setCustomer(c, pool, 0)
	}
	for _, c := range []string{"h1", "h2"} {
		b.setCustomer(c, Holding{FirstStaff: "s9", FirstKey: EventKey{TimeNs: 1, ID: "a"}}, 0)
	}
	return b
}

// noon is 12:00 in Shanghai.
var noon = time.Date(2026, 3, 2, 4, 0, 0, 0, time.UTC)

func decide(b *book, at time.Time, f func(*decision)) Outcome {
	d := &decision{b: b, now: at, source: "siyu-api"}
	f(d)
	return d.out
}

func rules(o Outcome) []string {
	out := []string{}
	for _, r := range o.Refused {
		out = append(out, r.ContactID+":"+r.Rule)
	}
	return out
}

func TestClaimRules(t *testing.T) {
	tests := []struct {
		name     string
		rules    Rules
		before   func(*decision)
		claim    []string
		accepted []string
		refused  []string
	}{
		{name: "no rules", claim: []string{"c1", "c2"}, accepted: []string{"c1", "c2"}, refused: []string{}},
		{name: "unknown and held customers", claim: []string{"zz", "h1", "c1"}, accepted: []string{"c1"},
			refused: []string{"zz:" + RuleUnknownCustomer, "h1:" + RuleNotInPool}},
		{name: "max hold counts what the rep already holds", rules: Rules{MaxHold: 3},
			before: func(d *decision) { d.accept("c4", "", "s1", "assign", "", "", noon) },
			claim:  []string{"c1", "c2", "c3"}, accepted: []string{"c1", "c2"}, refused: []string{"c3:" + RuleMaxHold}},
		{name: "max claims per day", rules: Rules{MaxClaimsPerDay: 2},
			claim: []string{"c1", "c2", "c3"}, accepted: []string{"c1", "c2"}, refused: []string{"c3:" + RuleMaxClaimsPerDay}},
		{name: "yesterday's claims do not count", rules: Rules{MaxClaimsPerDay: 1},
			before: func(d *decision) { d.claimAt("s1", "c4", noon.Add(-24*time.Hour)) },
			claim:  []string{"c1"}, accepted: []string{"c1"}, refused: []string{}},
		{name: "cool-down after the rep's own release", rules: Rules{CooldownDays: 2},
			before: func(d *decision) {
				d.claimAt("s1", "c1", noon.Add(-time.Hour))
				d.accept("c1", "s1", "", "release", "", "", noon.Add(-time.Minute))
				d.claimAt("s2", "c2", noon.Add(-time.Hour))
				d.accept("c2", "s2", "", "release", "", "", noon.Add(-time.Minute))
			},
			claim: []string{"c1", "c2"}, accepted: []string{"c2"}, refused: []string{"c1:" + RuleCooldown}},
		{name: "cool-down over", rules: Rules{CooldownDays: 1},
			before: func(d *decision) {
				d.claimAt("s1", "c1", noon.Add(-50*time.Hour))
				d.accept("c1", "s1", "", "release", "", "", noon.Add(-49*time.Hour))
			},
			claim: []string{"c1"}, accepted: []string{"c1"}, refused: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := testBook(tt.rules)
			if tt.before != nil {
				decide(b, noon, tt.before)
			}
			out := decide(b, noon, func(d *decision) { d.claim("s1", tt.claim) })
			require.Equal(t, tt.accepted, out.Accepted)
			require.Equal(t, tt.refused, rules(out))
			for _, c := range tt.accepted {
				require.Equal(t, "s1", b.customers[c].holding.Assignee())
			}
		})
	}
}

// claimAt records a claim at a given time, bypassing the rules.
func (d *decision) claimAt(staff, contact string, at time.Time) {
	d.accept(contact, "", staff, "claim", "", "", at)
}

func TestClaimsPerDayFollowShanghaiDays(t *testing.T) {
	b := testBook(Rules{MaxClaimsPerDay: 1})
	// 23:30 in Shanghai on 1 March, then 00:30 on 2 March: two days.
	late := time.Date(2026, 3, 1, 15, 30, 0, 0, time.UTC)
	require.Equal(t, []string{"c1"}, decide(b, late, func(d *decision) { d.claim("s1", []string{"c1"}) }).Accepted)
	require.Equal(t, []string{"c2"}, decide(b, late.Add(time.Hour), func(d *decision) { d.claim("s1", []string{"c2"}) }).Accepted)
	require.Equal(t, []string{"c3:" + RuleMaxClaimsPerDay},
		rules(decide(b, late.Add(2*time.Hour), func(d *decision) { d.claim("s1", []string{"c3"}) })))
}

func TestTransferLimit(t *testing.T) {
	b := testBook(Rules{})
	day := 24 * time.Hour
	decide(b, noon.Add(-200*day), func(d *decision) { d.transfer("s9", "s1", []string{"h1"}) }) // long ago
	decide(b, noon.Add(-80*day), func(d *decision) { d.transfer("s1", "s2", []string{"h1"}) })
	decide(b, noon.Add(-10*day), func(d *decision) { d.transfer("s2", "s1", []string{"h1"}) })
	out := decide(b, noon, func(d *decision) { d.transfer("s1", "s3", []string{"h1", "h2", "c1", "zz"}) })
	require.Empty(t, out.Accepted)
	require.Equal(t, []string{"h1:" + RuleMaxTransfers, "h2:" + RuleNotAssignedFrom, "c1:" + RuleNotAssignedFrom, "zz:" + RuleUnknownCustomer}, rules(out))
	out = decide(b, noon.Add(-10*day+90*day), func(d *decision) { d.transfer("s1", "s3", []string{"h1"}) })
	require.Equal(t, []string{"h1"}, out.Accepted, "the transfer 80 days ago left the window")
}

func TestDepartAndRecycle(t *testing.T) {
	b := testBook(Rules{RecycleDays: 15})
	out := decide(b, noon, func(d *decision) { d.depart("s9", "s2", func(c string) string { return "dep-" + c }) })
	require.ElementsMatch(t, []string{"h1", "h2"}, out.Accepted)
	require.Equal(t, 2, b.held["s2"])
	require.Equal(t, 0, b.held["s9"])

	// h1, h2 were handed over at noon: due 15 days later.
	d := &decision{b: b, now: noon.Add(15*24*time.Hour - time.Second), source: "siyu-api"}
	d.recycle()
	require.Empty(t, d.out.Accepted, "not due yet")
	b.customers["h2"].lastFollowupNs = noon.Add(24 * time.Hour).UnixNano()
	d = &decision{b: b, now: noon.Add(15 * 24 * time.Hour), source: "siyu-api"}
	d.recycle()
	require.Equal(t, []string{"h1"}, d.out.Accepted, "h2 had a follow-up a day later")
	ev := d.events[0]
	require.Equal(t, noon.Add(15*24*time.Hour), ev.Time, "the recycle is dated when it fell due")
	require.Equal(t, stableID("recycle", "acme", "h1", "2026-03-17"), ev.ID)
	require.Equal(t, "s2", ev.Data.FromStaffID)
	require.Equal(t, "", b.customers["h1"].holding.Assignee())

	// Deciding again (another sweep) finds nothing more to do.
	d = &decision{b: b, now: noon.Add(15 * 24 * time.Hour), source: "siyu-api"}
	d.recycle()
	require.Empty(t, d.out.Accepted)
}

// A change read back from ClickHouse after the decider made it changes
// nothing; an older one loses.
func TestBookIsIdempotent(t *testing.T) {
	b := testBook(Rules{})
	out := decide(b, noon, func(d *decision) { d.claim("s1", []string{"c1"}) })
	require.Equal(t, []string{"c1"}, out.Accepted)
	h := b.customers["c1"].holding
	b.setCustomer("c1", Holding{FirstStaff: "s0", LastTo: "", LastKey: EventKey{TimeNs: 1, ID: "rel", Source: "x"}}, 0)
	require.Equal(t, h, b.customers["c1"].holding, "ClickHouse's older state does not undo a pending claim")
	b.setCustomer("c1", h, 0)
	require.Equal(t, 1, b.held["s1"])
	require.Equal(t, 3, b.held[""])
	require.Equal(t, int64(1), b.claimsOn("s1", noon))
}

// TestRollback: a decision taken back leaves the book exactly as before:
// holdings, counts by rep, claims, releases and transfers, new customers
// and the rules.
func TestRollback(t *testing.T) {
	b := testBook(Rules{CooldownDays: 1})
	decide(b, noon.Add(-time.Hour), func(d *decision) { d.claim("s1", []string{"c1"}) })
	before := snapshot(b)

	d := &decision{b: b, now: noon, source: "siyu-api", rules0: b.rules, rulesKey0: b.rulesKey}
	d.claim("s1", []string{"c2", "c3"})
	d.accept("c1", "s1", "", "release", "", "", noon)
	d.transfer("s9", "s2", []string{"h1"})
	d.accept("new", "", "s3", "assign", "", "", noon)
	d.depart("s2", "s4", func(c string) string { return "dep-" + c })
	d.b.rules = Rules{MaxHold: 1}
	require.Len(t, d.events, 6)
	require.NotEqual(t, before, snapshot(b))
	d.rollback()
	require.Empty(t, d.events)
	require.Empty(t, d.out.Accepted)
	require.Equal(t, before, snapshot(b))
}

// bookState is a book's contents, copied, without empty entries.
type bookState struct {
	rules     Rules
	customers map[string]customer
	held      map[string]int
	claims    map[string]map[string]int64
	releases  map[[2]string]int64
	transfers map[string]map[string]int64
}

func snapshot(b *book) bookState {
	s := bookState{rules: b.rules, customers: map[string]customer{}, held: map[string]int{},
		claims: map[string]map[string]int64{}, releases: map[[2]string]int64{}, transfers: map[string]map[string]int64{}}
	for id, c := range b.customers {
		s.customers[id] = *c
	}
	for staff, n := range b.held {
		if n != 0 {
			s.held[staff] = n
		}
	}
	for _, m := range [][2]map[string]map[string]int64{{b.claims, s.claims}, {b.transfers, s.transfers}} {
		for k, ids := range m[0] {
			if len(ids) > 0 {
				m[1][k] = maps.Clone(ids)
			}
		}
	}
	maps.Copy(s.releases, b.releases)
	return s
}

// TestTailFacts: events read from the tail fold into the book as
// ClickHouse folds them, whatever their order and however often.
func TestTailFacts(t *testing.T) {
	key := func(ns int64, id string) EventKey { return EventKey{TimeNs: ns, ID: id, Source: "x"} }
	facts := []poolFact{
		{kind: poolAdded, ch: change{contact: "n1", to: "s2", key: key(20, "a2")}},
		{kind: poolAdded, ch: change{contact: "n1", to: "s1", key: key(10, "a1")}},
		{kind: poolChanged, ch: change{contact: "n1", from: "s1", to: "", reason: "release", key: key(30, "r1")}},
		{kind: poolChanged, ch: change{contact: "n2", to: "s5", reason: "claim", key: key(40, "k1")}},
		{kind: poolFollowedUp, ch: change{contact: "n2", key: key(50, "f1")}},
		{kind: poolRules, ch: change{key: key(60, "rules2")}, rules: Rules{MaxHold: 2}},
		{kind: poolRules, ch: change{key: key(55, "rules1")}, rules: Rules{MaxHold: 1}},
	}
	for _, order := range [][]int{{0, 1, 2, 3, 4, 5, 6}, {6, 4, 3, 2, 1, 0, 5}, {2, 2, 0, 1, 1, 5, 6, 3, 4, 4}} {
		b := newBook("acme")
		for _, i := range order {
			b.take(facts[i])
		}
		require.Equal(t, "", b.customers["n1"].holding.Assignee(), "released after the first add")
		require.Equal(t, "s1", b.customers["n1"].holding.FirstStaff, "the first adder by time")
		require.Equal(t, "s5", b.customers["n2"].holding.Assignee())
		require.Equal(t, int64(50), b.customers["n2"].lastFollowupNs)
		require.Equal(t, int64(1), int64(len(b.claims["s5"])))
		require.Equal(t, Rules{MaxHold: 2}, b.rules, "the latest rules")
		require.Equal(t, 1, b.held[""])
		require.Equal(t, 1, b.held["s5"])
	}
}

func TestOffsets(t *testing.T) {
	a, b := offsets{0: 5, 1: 7}, offsets{0: 6, 2: 1}
	require.False(t, a.covers(b))
	require.True(t, a.union(b).covers(a))
	require.True(t, a.union(b).covers(b))
	require.True(t, a.covers(nil))
	require.Equal(t, offsets{0: 5, 1: 8}, nextOf(offsets{0: 5, 1: 8}.last()))
}
