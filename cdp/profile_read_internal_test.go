package cdp

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestAssembleProfile: profile_read's rows come in any order (UNION ALL);
// the profile is the same for every order, without a scalars row it is
// ErrNotFound, deleted tags are left out and unknown ones keep no name.
func TestAssembleProfile(t *testing.T) {
	now := time.Date(2025, 11, 21, 12, 0, 0, 0, time.UTC)
	day := int64(24 * time.Hour)
	person := &Person{ID: "wm_a", IDs: []string{"o_u", "wm_a", "wm_b"}}
	rows := []profileRow{
		{part: partScalars, s: [5]string{"Ada", "o_u", "Acme", "won"},
			n: [8]int64{1, 9, 5, 4, now.UnixNano() - 3*day, 7, 8, 10}},
		{part: partRelation, s: [5]string{"wm_b", "s2", "e9", "wecom", "customer"}, n: [8]int64{0, 6, 2}},
		{part: partRelation, s: [5]string{"wm_a", "s1", "e1", "wecom"}, n: [8]int64{1, 3, 2}},
		{part: partRelation, s: [5]string{"wm_b", "s1", "e2", "wecom"}, n: [8]int64{1, 4, 4}},
		{part: partTagOn, s: [5]string{"t2"}, n: [8]int64{5}},
		{part: partTagOn, s: [5]string{"t1"}, n: [8]int64{6}},
		{part: partTagOn, s: [5]string{"t3"}, n: [8]int64{7}},
		{part: partTagLibrary, s: [5]string{"t1", "VIP", "level"}},
		{part: partTagLibrary, s: [5]string{"t3", "gone", "level"}, n: [8]int64{1}},
		{part: partAcquisition, s: [5]string{"ad", "s1"}, n: [8]int64{16, 2}},
		{part: partDayFacts, s: [5]string{"138"}, n: [8]int64{3, 1, 1, 2, 3, 4}},
	}
	want, err := assembleProfile("t", person, rows, now)
	require.NoError(t, err)
	require.Equal(t, "wm_a", want.ID)
	require.Equal(t, []string{"s1", "s1"}, []string{want.Relations[0].StaffID, want.Relations[1].StaffID})
	require.Equal(t, []string{"wm_a", "wm_b"}, []string{want.Relations[0].ContactID, want.Relations[1].ContactID})
	require.Equal(t, 1, want.LiveRelations)
	require.False(t, want.Lost, "a live relation is left")
	require.Equal(t, []TagOn{{TagID: "t1", Name: "VIP", Group: "level", Since: nsTime(6)}, {TagID: "t2", Since: nsTime(5)}}, want.Tags)
	require.Equal(t, Acquisition{AddWay: 16, Channel: "ad", AddedBy: "s1", AddedAt: nsTime(2)}, want.Acquisition)
	require.Equal(t, Chat{MessagesIn: 5, MessagesOut: 4, MessagesIn7d: 1, MessagesOut7d: 2, MessagesIn30d: 3,
		MessagesOut30d: 4, LastInboundAt: nsTime(now.UnixNano() - 3*day), LastOutboundAt: nsTime(7)}, want.Chat)
	require.Equal(t, Followup{LastAt: nsTime(8), NextAt: nsTime(10), Count: 3}, want.Followup)
	require.Equal(t, EngagedActive7d, want.Engagement)
	require.Equal(t, "138", want.Phone)
	require.EqualValues(t, 1, want.Gender)

	r := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		shuffled := append([]profileRow(nil), rows...)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		got, err := assembleProfile("t", person, shuffled, now)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}

	_, err = assembleProfile("t", person, rows[1:], now)
	require.True(t, errors.Is(err, ErrNotFound), "no scalars row: %v", err)

	lost, err := assembleProfile("t", person, []profileRow{rows[0], rows[1]}, now)
	require.NoError(t, err)
	require.True(t, lost.Lost, "the last relation was ended by the customer")
	require.Equal(t, 0, lost.LiveRelations)
	require.Equal(t, []Relation{}, lost.Relations)
}
