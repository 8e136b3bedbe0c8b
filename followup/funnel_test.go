package followup

import (
	"github.com/siyu-dev/siyu/internal/reporting"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestComputeFunnel(t *testing.T) {
	stages := []string{"new", "contacted", "won", "lost"}
	day := func(d, h int) int64 { return time.Date(2026, 3, d, h, 0, 0, 0, reporting.Zone).UnixNano() }
	ch := func(contact string, ns int64, id, staff, stage string) StageChange {
		return StageChange{ContactID: contact, TimeNs: ns, ID: id, Source: "api", StaffID: staff, Stage: stage}
	}
	changes := []StageChange{
		ch("a", day(1, 9), "1", "s1", "new"), // before the period: not an entry
		ch("a", day(2, 9), "2", "s1", "contacted"),
		ch("a", day(3, 9), "3", "s2", "won"),
		ch("b", day(2, 10), "4", "s1", "new"),
		ch("b", day(2, 10), "5", "s1", "contacted"), // same instant: id orders it after "new"
		ch("b", day(9, 10), "6", "s1", "won"),       // after the period: not reached
		ch("c", day(2, 11), "7", "s2", "contacted"),
		ch("c", day(2, 12), "8", "s2", "lost"),
		ch("c", day(2, 12), "8", "s2", "lost"), // a duplicate
		ch("d", day(3, 1), "9", "s2", "prospect"),
	}
	q := FunnelQuery{Stages: stages, FromNs: day(2, 0), ToNs: day(4, 0)}
	cur, conv := ComputeFunnel(q, changes)
	require.Equal(t, []StageCount{{"new", 0}, {"contacted", 1}, {"won", 1}, {"lost", 1}, {"prospect", 1}}, cur)
	require.Equal(t, []Conversion{
		{Stage: "new", Entered: 1, Reached: []StageCount{{"contacted", 1}, {"won", 0}, {"lost", 0}}},
		{Stage: "contacted", Entered: 3, Reached: []StageCount{{"won", 1}, {"lost", 1}}},
		{Stage: "won", Entered: 1, Reached: []StageCount{{"lost", 0}}},
		{Stage: "lost", Entered: 1, Reached: []StageCount{}},
	}, conv)

	q.Scope = Scope{StaffID: "s1"}
	cur, conv = ComputeFunnel(q, changes)
	require.Equal(t, []StageCount{{"new", 0}, {"contacted", 1}, {"won", 0}, {"lost", 0}}, cur, "b is s1's; a was last moved by s2")
	require.Equal(t, 2, conv[1].Entered, "a and b entered contacted by s1")
	require.Equal(t, []StageCount{{"won", 1}, {"lost", 0}}, conv[1].Reached, "a reached won, moved there by s2")

	q.Scope = Scope{Team: []string{"s1", "s2"}}
	teamCur, teamConv := ComputeFunnel(q, changes)
	q.Scope = Scope{}
	allCur, allConv := ComputeFunnel(q, changes)
	require.Equal(t, allCur, teamCur, "s1 and s2 made every change")
	require.Equal(t, allConv, teamConv)
	q.Scope = Scope{Team: []string{}}
	cur, _ = ComputeFunnel(q, changes)
	require.Equal(t, []StageCount{{"new", 0}, {"contacted", 0}, {"won", 0}, {"lost", 0}}, cur, "an empty team covers no one")
}

func TestNormalizeStages(t *testing.T) {
	tests := []struct {
		name  string
		in    []string
		want  []string
		field string
	}{
		{"trimmed", []string{" 新客户 ", "won"}, []string{"新客户", "won"}, ""},
		{"too few", []string{"only"}, nil, "stages"},
		{"empty name", []string{"a", " "}, nil, "stages[1]"},
		{"comma", []string{"a", "b,c"}, nil, "stages[1]"},
		{"twice", []string{"a", "b", "a"}, nil, "stages[2]"},
		{"too long", []string{"a", "123456789012345678901234567890x"}, nil, "stages[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeStages(tt.in)
			if tt.field == "" {
				require.NoError(t, err)
				require.Equal(t, tt.want, got)
				return
			}
			fe, ok := AsFieldError(err)
			require.True(t, ok, "%v", err)
			require.Equal(t, tt.field, fe.Field)
		})
	}
}

func TestDigest(t *testing.T) {
	e := func(staff, contact string, overdue bool) DueEntry {
		return DueEntry{StaffID: staff, ContactID: contact, Overdue: overdue}
	}
	got := Digest([]DueEntry{e("s1", "a", true), e("s1", "b", false), e("s2", "c", false)})
	require.Equal(t, []RepDigest{
		{StaffID: "s1", DueCount: 1, OverdueCount: 1, Due: []DueEntry{e("s1", "b", false)}, Overdue: []DueEntry{e("s1", "a", true)}},
		{StaffID: "s2", DueCount: 1, Due: []DueEntry{e("s2", "c", false)}, Overdue: []DueEntry{}},
	}, got)
}
