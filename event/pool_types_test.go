package event_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/event"
)

// TestPoolFieldNumbers pins the numbers of the fields added for the
// customer pool: they are bits of the stored `present` column.
func TestPoolFieldNumbers(t *testing.T) {
	for _, w := range []struct {
		f    event.Field
		num  int
		name string
	}{
		{event.FMaxClaimsPerDay, 44, "max_claims_per_day"},
		{event.FRecycleDays, 45, "recycle_days"},
		{event.FCooldownDays, 46, "cooldown_days"},
	} {
		require.Equal(t, w.num, int(w.f), w.name)
		require.Equal(t, w.name, w.f.Name())
	}
}

func TestPoolTypesDecode(t *testing.T) {
	dec := event.NewDecoder(func() time.Time { return time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC) })
	envelope := func(typ, subject, data string) string {
		return `{"specversion":"1.0","id":"e1","source":"siyu-api","type":"` + typ +
			`","time":"2026-11-21T10:00:00+08:00","tenant":"acme","subject":"` + subject + `","data":` + data + `}`
	}
	tests := []struct {
		name, json, wantField string
	}{
		{"claim", envelope("assignee.changed", "c1", `{"reason":"claim","to_staff_id":"s1"}`), ""},
		{"release with a note", envelope("assignee.changed", "c1", `{"reason":"release","from_staff_id":"s1","note":"moved away"}`), ""},
		{"no reason", envelope("assignee.changed", "c1", `{"to_staff_id":"s1"}`), "data.reason"},
		{"unknown reason", envelope("assignee.changed", "c1", `{"reason":"resigned","to_staff_id":"s1"}`), "data.reason"},
		{"transfer keeps its reasons", envelope("contact.transferred", "c1", `{"from_staff_id":"a","to_staff_id":"b","reason":"claim"}`), "data.reason"},
		{"transfer reason", envelope("contact.transferred", "c1", `{"from_staff_id":"a","to_staff_id":"b","reason":"resigned"}`), ""},
		{"rules", envelope("pool.rules_set", "acme", `{"contact_cap":400,"max_claims_per_day":5,"recycle_days":15,"cooldown_days":3}`), ""},
		{"rules about another tenant", envelope("pool.rules_set", "other", `{}`), "subject"},
		{"negative rule", envelope("pool.rules_set", "acme", `{"recycle_days":-1}`), "data.recycle_days"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := dec.Decode([]byte(tt.json))
			if tt.wantField != "" {
				ve, ok := event.AsValidation(err)
				require.True(t, ok, "want a validation error, got %v", err)
				require.Equal(t, tt.wantField, ve.Field)
				return
			}
			require.NoError(t, err)
			again, err := event.NewDecoder(nil).Decode(event.AppendJSON(nil, e))
			require.NoError(t, err)
			require.Equal(t, e.Data.Present, again.Data.Present)
		})
	}
}
