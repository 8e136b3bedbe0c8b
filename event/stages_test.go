package event_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/event"
)

// TestStagesDefined: the follow-up domain's addition decodes, keeps its
// list, and is refused without it or with a subject other than the tenant.
func TestStagesDefined(t *testing.T) {
	require.Equal(t, "stages", event.FStages.Name())
	require.Greater(t, int(event.FStages), int(event.FXML), "appended after the WeCom fields")
	now := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name, in, field string
	}{
		{"valid", `{"specversion":"1.0","id":"e1","source":"siyu-api","type":"stages.defined","time":"2026-11-20T09:30:00Z","tenant":"acme","subject":"acme","data":{"stages":"线索,won,lost","staff_id":"s1"}}`, ""},
		{"no staff", `{"specversion":"1.0","id":"e1","source":"siyu-api","type":"stages.defined","time":"2026-11-20T09:30:00Z","tenant":"acme","subject":"acme","data":{"stages":"a,b"}}`, ""},
		{"no stages", `{"specversion":"1.0","id":"e1","source":"siyu-api","type":"stages.defined","time":"2026-11-20T09:30:00Z","tenant":"acme","subject":"acme","data":{}}`, "data.stages"},
		{"empty stages", `{"specversion":"1.0","id":"e1","source":"siyu-api","type":"stages.defined","time":"2026-11-20T09:30:00Z","tenant":"acme","subject":"acme","data":{"stages":""}}`, "data.stages"},
		{"subject is not the tenant", `{"specversion":"1.0","id":"e1","source":"siyu-api","type":"stages.defined","time":"2026-11-20T09:30:00Z","tenant":"acme","subject":"c1","data":{"stages":"a,b"}}`, "subject"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := event.NewDecoder(func() time.Time { return now }).Decode([]byte(tt.in))
			if tt.field != "" {
				ve, ok := event.AsValidation(err)
				require.True(t, ok, "%v", err)
				require.Equal(t, tt.field, ve.Field)
				return
			}
			require.NoError(t, err)
			require.Equal(t, event.StagesDefined, e.Type)
			again, err := event.NewDecoder(func() time.Time { return now }).Decode(event.AppendJSON(nil, e))
			require.NoError(t, err)
			require.Equal(t, e.Data.Stages, again.Data.Stages)
		})
	}
	require.Contains(t, event.FollowupAdditions(), event.StagesDefined)
}

func TestStaffManagerSet(t *testing.T) {
	now := func() time.Time { return time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC) }
	for _, data := range []string{`{"staff_id":"m1"}`, `{"deleted":true}`} {
		e, err := event.NewDecoder(now).Decode([]byte(`{"specversion":"1.0","id":"e1","source":"siyu-api","type":"staff.manager_set","time":"2026-11-20T09:30:00Z","tenant":"acme","subject":"s1","data":` + data + `}`))
		require.NoError(t, err, data)
		require.Equal(t, event.StaffManagerSet, e.Type)
	}
	_, err := event.NewDecoder(now).Decode([]byte(`{"specversion":"1.0","id":"e1","source":"siyu-api","type":"staff.manager_set","time":"2026-11-20T09:30:00Z","tenant":"acme","subject":"s1","data":{"deleted":"yes"}}`))
	ve, ok := event.AsValidation(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, "data.deleted", ve.Field)
	require.Contains(t, event.FollowupAdditions(), event.StaffManagerSet)
}
