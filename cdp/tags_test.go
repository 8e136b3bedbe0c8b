package cdp

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestNormalizeTag(t *testing.T) {
	tests := []struct {
		name      string
		in        Tag
		want      Tag
		wantField string
	}{
		{name: "trims name and group", in: Tag{Name: "  VIP ", Group: "\tValue "}, want: Tag{Name: "VIP", Group: "Value"}},
		{name: "no group", in: Tag{Name: "VIP"}, want: Tag{Name: "VIP"}},
		{name: "30 characters of Chinese", in: Tag{Name: strings.Repeat("客", 30)}, want: Tag{Name: strings.Repeat("客", 30)}},
		{name: "largest order", in: Tag{Name: "a", Order: MaxTagOrder}, want: Tag{Name: "a", Order: MaxTagOrder}},
		{name: "empty name", in: Tag{Name: ""}, wantField: "name"},
		{name: "blank name", in: Tag{Name: "   "}, wantField: "name"},
		{name: "name too long", in: Tag{Name: strings.Repeat("客", 31)}, wantField: "name"},
		{name: "control character", in: Tag{Name: "a\u0000b"}, wantField: "name"},
		{name: "group too long", in: Tag{Name: "a", Group: strings.Repeat("g", 31)}, wantField: "group"},
		{name: "negative order", in: Tag{Name: "a", Order: -1}, wantField: "order"},
		{name: "order past uint32", in: Tag{Name: "a", Order: MaxTagOrder + 1}, wantField: "order"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.in
			err := NormalizeTag(&got)
			if tt.wantField == "" {
				require.NoError(t, err)
				require.Equal(t, tt.want, got)
				return
			}
			var te *TagError
			require.ErrorAs(t, err, &te)
			require.Equal(t, tt.wantField, te.Field)
			require.False(t, te.Conflict)
		})
	}
}

func TestCheckTag(t *testing.T) {
	lib := []Tag{
		{ID: "t1", Name: "VIP", Group: "Value"},
		{ID: "t2", Name: "Churned", Group: "Value", Deleted: true},
		{ID: "t3", Name: "Beijing", Group: "City"},
	}
	tests := []struct {
		name         string
		tag          Tag
		limit        int
		wantConflict bool
		wantLimit    bool
	}{
		{name: "new name in a group", tag: Tag{ID: "n", Name: "Gold", Group: "Value"}, limit: 10},
		{name: "same name in another group", tag: Tag{ID: "n", Name: "VIP", Group: "City"}, limit: 10},
		{name: "same name without a group", tag: Tag{ID: "n", Name: "VIP"}, limit: 10},
		{name: "same name in the same group", tag: Tag{ID: "n", Name: "VIP", Group: "Value"}, limit: 10, wantConflict: true},
		{name: "names are case-sensitive", tag: Tag{ID: "n", Name: "vip", Group: "Value"}, limit: 10},
		{name: "a deleted tag's name is free", tag: Tag{ID: "n", Name: "Churned", Group: "Value"}, limit: 10},
		{name: "a tag keeps its own name", tag: Tag{ID: "t1", Name: "VIP", Group: "Value", Order: 5}, limit: 10},
		{name: "renaming onto another tag", tag: Tag{ID: "t3", Name: "VIP", Group: "Value"}, limit: 10, wantConflict: true},
		{name: "the last free place", tag: Tag{ID: "n", Name: "x"}, limit: 3},
		{name: "past the limit", tag: Tag{ID: "n", Name: "x"}, limit: 2, wantLimit: true},
		{name: "a known tag changes at the limit", tag: Tag{ID: "t1", Name: "VIP2", Group: "Value"}, limit: 2},
		{name: "deleting is always allowed", tag: Tag{ID: "t3", Name: "VIP", Group: "Value", Deleted: true}, limit: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckTag(lib, tt.tag, tt.limit)
			var te *TagError
			var le *TagLimitError
			switch {
			case tt.wantConflict:
				require.ErrorAs(t, err, &te)
				require.True(t, te.Conflict)
				require.Equal(t, "name", te.Field)
			case tt.wantLimit:
				require.ErrorAs(t, err, &le)
				require.Equal(t, tt.limit, le.Limit)
			default:
				require.NoError(t, err)
			}
		})
	}
}

// TestCheckTagDefaultLimit fills a library to WeCom's 3,000 tags.
func TestCheckTagDefaultLimit(t *testing.T) {
	lib := make([]Tag, 0, MaxTags+1)
	for i := range MaxTags - 1 {
		lib = append(lib, Tag{ID: fmt.Sprint("t", i), Name: fmt.Sprint("tag ", i)})
	}
	lib = append(lib, Tag{ID: "gone", Name: "gone", Deleted: true})
	require.NoError(t, CheckTag(lib, Tag{ID: "n1", Name: "the 3000th"}, MaxTags))

	lib = append(lib, Tag{ID: "n1", Name: "the 3000th"})
	err := CheckTag(lib, Tag{ID: "n2", Name: "the 3001st"}, MaxTags)
	var le *TagLimitError
	require.ErrorAs(t, err, &le)
	require.Contains(t, err.Error(), "3000")
	require.NoError(t, CheckTag(lib, Tag{ID: "t7", Name: "renamed"}, MaxTags), "existing tags still change")
}

func TestSortTags(t *testing.T) {
	tags := []Tag{
		{ID: "a", Name: "z", Group: "B"},
		{ID: "b", Name: "low", Group: "A", Order: 1},
		{ID: "c", Name: "high", Group: "A", Order: 9},
		{ID: "d", Name: "b", Group: "A", Order: 1},
		{ID: "e", Name: "ungrouped"},
	}
	SortTags(tags)
	require.Equal(t, []string{"c", "d", "b", "e", "a"}, tagIDs(tags), "group A holds the highest order; ties by group name")

	tags = append(tags, Tag{ID: "f", Group: "B", Order: 99, Deleted: true}, Tag{ID: "g", Group: "C", Order: 50, Deleted: true})
	SortTags(tags)
	require.Equal(t, []string{"c", "d", "b", "e", "f", "a", "g"}, tagIDs(tags), "deleted tags do not place their group")
}

func tagIDs(tags []Tag) []string {
	var ids []string
	for _, tg := range tags {
		ids = append(ids, tg.ID)
	}
	return ids
}

func TestPlanOrder(t *testing.T) {
	lib := []Tag{
		{ID: "a1", Name: "a1", Group: "A", Order: 3},
		{ID: "a2", Name: "a2", Group: "A", Order: 2},
		{ID: "b1", Name: "b1", Group: "B", Order: 1},
		{ID: "c1", Name: "c1", Group: "", Order: 0},
		{ID: "x", Name: "x", Group: "B", Deleted: true},
	}
	changed, err := PlanOrder(lib, []string{"a1", "a2", "b1", "c1"})
	require.NoError(t, err)
	require.Empty(t, changed, "already in that order: nothing to write")

	// Group B first, and within A a2 before a1.
	changed, err = PlanOrder(lib, []string{"b1", "a2", "a1", "c1"})
	require.NoError(t, err)
	require.Equal(t, []Tag{{ID: "b1", Name: "b1", Group: "B", Order: 3}, {ID: "a1", Name: "a1", Group: "A", Order: 1}}, changed,
		"a2 and c1 keep their orders: only the moved are written")
	after := append([]Tag(nil), lib...)
	for _, c := range changed {
		for i := range after {
			if after[i].ID == c.ID {
				after[i] = c
			}
		}
	}
	SortTags(after)
	require.Equal(t, []string{"b1", "x", "a2", "a1", "c1"}, tagIDs(after), "shown as listed")

	refusals := []struct {
		name, field string
		ids         []string
		conflict    bool
	}{
		{"a tag left out", "tags", []string{"a1", "a2", "b1"}, true},
		{"an unknown tag", "tags[3]", []string{"a1", "a2", "b1", "zz"}, true},
		{"a deleted tag", "tags[4]", []string{"a1", "a2", "b1", "c1", "x"}, true},
		{"twice", "tags[2]", []string{"a1", "a2", "a1", "b1", "c1"}, false},
		{"a group apart", "tags[2]", []string{"a1", "b1", "a2", "c1"}, false},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			_, err := PlanOrder(lib, tt.ids)
			var te *TagError
			require.ErrorAs(t, err, &te)
			require.Equal(t, tt.field, te.Field, te.Reason)
			require.Equal(t, tt.conflict, te.Conflict, te.Reason)
		})
	}
}

func TestOverlay(t *testing.T) {
	at := func(s int) *time.Time { v := time.Unix(1_700_000_000+int64(s), 0).UTC(); return &v }
	ch := []Tag{
		{ID: "folded", Name: "new", UpdatedAt: at(10)},
		{ID: "lagging", Name: "old", UpdatedAt: at(10)},
	}
	recent := map[string]Tag{
		"folded":  {ID: "folded", Name: "new", UpdatedAt: at(10)},
		"lagging": {ID: "lagging", Name: "renamed", UpdatedAt: at(20)},
		"unseen":  {ID: "unseen", Name: "created", UpdatedAt: at(30)},
		"expired": {ID: "expired", Name: "lost", UpdatedAt: at(1)},
	}
	got := overlay(ch, recent, *at(5))
	byID := map[string]string{}
	for _, tg := range got {
		byID[tg.ID] = tg.Name
	}
	require.Equal(t, map[string]string{"folded": "new", "lagging": "renamed", "unseen": "created"}, byID)
	require.NotContains(t, recent, "folded", "ClickHouse caught up: forgotten")
	require.NotContains(t, recent, "expired")
	require.Contains(t, recent, "lagging")
	require.Contains(t, recent, "unseen")
}

func TestTagErrors(t *testing.T) {
	err := fmt.Errorf("patch: %w", &TagLimitError{Limit: MaxTags})
	var le *TagLimitError
	require.True(t, errors.As(err, &le))
	require.Contains(t, err.Error(), "3000")
}
