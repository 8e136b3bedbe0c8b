package followup

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSummary(t *testing.T) {
	next := time.Date(2026, 1, 2, 2, 0, 0, 0, time.UTC).UnixNano() // 10:00 in Shanghai
	long := ""
	for range 100 {
		long += "长"
	}
	tests := []struct {
		name string
		fact Fact
		want string
	}{
		{"outbound message", Fact{Type: "chat.message", StaffID: "s0001", Direction: "out"}, "s0001 sent a message"},
		{"inbound message", Fact{Type: "chat.message", StaffID: "s0001", Direction: "in"}, "the customer sent s0001 a message"},
		{"follow-up with all fields", Fact{Type: "followup.logged", StaffID: "s0002", Channel: "call", Note: "asked for a quote", NextAtNs: next},
			"s0002 logged a call follow-up: asked for a quote, next at 2026-01-02 10:00 (UTC+8)"},
		{"bare follow-up", Fact{Type: "followup.logged", StaffID: "s0002"}, "s0002 logged a follow-up"},
		{"long note is cut", Fact{Type: "followup.logged", StaffID: "s1", Channel: "visit", Note: long},
			"s1 logged a visit follow-up: " + long[:80*3] + "…"},
		{"stage", Fact{Type: "followup.stage_changed", StaffID: "s1", Stage: "won"}, "s1 moved the customer to stage won"},
		{"added", Fact{Type: "contact.added", StaffID: "s1"}, "s1 added the customer"},
		{"updated", Fact{Type: "contact.updated", StaffID: "s1"}, "s1 updated the customer's details"},
		{"removed by staff", Fact{Type: "contact.removed", StaffID: "s1", RemovedBy: "staff"}, "s1 deleted the customer"},
		{"removed by customer", Fact{Type: "contact.removed", StaffID: "s1", RemovedBy: "customer"}, "the customer deleted s1"},
		{"transferred", Fact{Type: "contact.transferred", FromStaffID: "s1", ToStaffID: "s2"}, "the customer was transferred from s1 to s2"},
		{"tag added without staff", Fact{Type: "tag.added", TagID: "t1"}, "someone added tag t1"},
		{"tag removed", Fact{Type: "tag.removed", StaffID: "s1", TagID: "t1"}, "s1 removed tag t1"},
		{"other type", Fact{Type: "staff.active"}, "event staff.active"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, Summary(tt.fact))
		})
	}
}

func TestDayBounds(t *testing.T) {
	// 2026-01-01 17:30 UTC is 2026-01-02 01:30 in Shanghai.
	start, end := DayBounds(time.Date(2026, 1, 1, 17, 30, 0, 0, time.UTC))
	require.Equal(t, time.Date(2026, 1, 1, 16, 0, 0, 0, time.UTC).UnixNano(), start)
	require.Equal(t, time.Date(2026, 1, 2, 16, 0, 0, 0, time.UTC).UnixNano(), end)
}

func TestCursor(t *testing.T) {
	in := timelineCursor{TimeNs: 42, Source: "wecom/x", ID: "e1"}
	var out timelineCursor
	require.NoError(t, decodeCursor(encodeCursor(in), &out))
	require.Equal(t, in, out)
	for _, bad := range []string{"!!", "bm90IGpzb24"} {
		require.ErrorIs(t, decodeCursor(bad, &out), ErrBadCursor, bad)
	}
}

func TestValid(t *testing.T) {
	require.True(t, ValidStage("qualified"))
	require.False(t, ValidStage("Qualified"))
	require.True(t, ValidChannel("wechat"))
	require.False(t, ValidChannel("email"))
}
