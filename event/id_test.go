package event_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/event"
)

func TestCheckID(t *testing.T) {
	tests := []struct {
		name   string
		id     string
		reason string // "" = valid
	}{
		{name: "WeCom external user id", id: "wmABC123-_xyz"},
		{name: "Chinese, 128 characters", id: strings.Repeat("客", 128)},
		{name: "a phone with inner spaces", id: "+86 138-0013-8000"},
		{name: "emoji", id: "c😀"},
		{name: "ideographic space inside", id: "a\u3000b"},
		{name: "unassigned code point (stable across Unicode versions)", id: "a\U000e0fff"},
		{name: "empty", id: "", reason: "1–128"},
		{name: "129 characters", id: strings.Repeat("c", 129), reason: "1–128"},
		{name: "NUL", id: "c\x00", reason: "control characters (U+0000)"},
		{name: "LF", id: "c\n1", reason: "control characters (U+000A)"},
		{name: "CR", id: "c\r", reason: "control characters"},
		{name: "tab", id: "\tc", reason: "control characters"},
		{name: "DEL", id: "c\x7f", reason: "control characters (U+007F)"},
		{name: "C1 control", id: "c\u0085", reason: "control characters (U+0085)"},
		{name: "byte 0xff", id: "c\xff", reason: "not valid UTF-8"},
		{name: "a lone surrogate as bytes", id: "c\xed\xa0\x80", reason: "not valid UTF-8"},
		{name: "truncated character", id: "客"[:2], reason: "not valid UTF-8"},
		{name: "U+FFFD", id: "c\ufffd", reason: "U+FFFD"},
		{name: "right-to-left override", id: "c\u202egnp.exe", reason: "format characters (U+202E)"},
		{name: "zero-width space", id: "c\u200b", reason: "format characters"},
		{name: "byte order mark", id: "\ufeffc", reason: "format characters"},
		{name: "line separator", id: "c\u2028", reason: "separators"},
		{name: "noncharacter U+FFFE", id: "c\ufffe", reason: "noncharacters"},
		{name: "noncharacter U+FDD0", id: "c\ufdd0", reason: "noncharacters"},
		{name: "leading space", id: " c1", reason: "white space"},
		{name: "trailing ideographic space", id: "c1\u3000", reason: "white space"},
		{name: "only a space", id: " ", reason: "white space"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := event.CheckID("subject", tt.id)
			if tt.reason == "" {
				require.NoError(t, err)
				return
			}
			ve, ok := event.AsValidation(err)
			require.True(t, ok, "%v", err)
			require.Equal(t, "subject", ve.Field)
			require.Contains(t, ve.Reason, tt.reason)
		})
	}
}

// TestDecodeAppliesCheckID: the pipeline dead-letters every id the API
// refuses, in each place an event carries one.
func TestDecodeAppliesCheckID(t *testing.T) {
	bad := map[string]string{
		"NUL":            "c\u0000",
		"LF":             "c\n",
		"U+FFFD":         "c\ufffd",
		"bidi override":  "\u202ec",
		"trailing space": "c ",
	}
	for name, id := range bad {
		for _, tc := range []struct {
			field string
			in    []byte
		}{
			{"id", chat(set("id", id))},
			{"subject", chat(set("subject", id))},
			{"data.staff_id", chat(setData("staff_id", id))},
			{"data.tag_id", typed(event.TagAdded, setData("tag_id", id))},
			{"data.to_staff_id", typed(event.ContactTransferred, setData("to_staff_id", id))},
			{"data.successor_staff_id", typed(event.StaffDeparted, setData("successor_staff_id", id))},
		} {
			t.Run(name+" in "+tc.field, func(t *testing.T) {
				_, err := newDecoder().Decode(tc.in)
				ve, ok := event.AsValidation(err)
				require.True(t, ok, "%v", err)
				require.Equal(t, tc.field, ve.Field)
			})
		}
	}
	t.Run("lone surrogate escape in the subject", func(t *testing.T) {
		_, err := newDecoder().Decode(replace(chat(), `"subject":"c1"`, `"subject":"c\ud800"`))
		ve, ok := event.AsValidation(err)
		require.True(t, ok, "%v", err)
		require.Contains(t, ve.Reason, "surrogate")
	})
}

func TestLoneSurrogate(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{`{"a":"b"}`, -1},
		{`{"a":"\ud83d\ude00"}`, -1},
		{`{"a":"\\ud800"}`, -1}, // an escaped backslash, then text
		{`{"a":"\u00e9\n"}`, -1},
		{`{"a":"\ud800"}`, 6},
		{`{"a":"x\udc00"}`, 7},
		{`{"a":"\ud800\u0041"}`, 6},
		{`{"a":"\ud800\ud800\udc00"}`, 6},
		{`{"a":"\ud83d\ude00","b":"\ud83d"}`, 25},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, event.LoneSurrogate([]byte(tt.in)), tt.in)
	}
}

func TestCheckInputTime(t *testing.T) {
	for _, tt := range []struct {
		at string
		ok bool
	}{
		{"2000-01-01T00:00:00Z", true},
		{"2100-12-31T23:59:59Z", true},
		{"2026-11-21T10:00:00+08:00", true},
		{"1999-12-31T23:59:59Z", false},
		{"2000-01-01T05:00:00+08:00", false}, // 1999 in UTC
		{"2101-01-01T00:00:00Z", false},
		{"0001-01-01T00:00:00Z", false},
		{"9999-12-01T00:00:00Z", false},
	} {
		at, err := time.Parse(time.RFC3339, tt.at)
		require.NoError(t, err)
		err = event.CheckInputTime("next_at", at)
		if tt.ok {
			require.NoError(t, err, tt.at)
			continue
		}
		ve, ok := event.AsValidation(err)
		require.True(t, ok, tt.at)
		require.Equal(t, "next_at", ve.Field)
		require.Contains(t, ve.Reason, "2000–2100")
	}
}
