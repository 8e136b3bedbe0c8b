package store_test

import (
	"fmt"
	"time"

	"github.com/siyu-dev/siyu/event"
)

// followupDayEvents are events of the types the load generator does not
// make whose rollup migration 0023 backfills (followup_facts): stage lists and
// team changes.
func followupDayEvents() []event.Event {
	at := time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)
	var out []event.Event
	for i, list := range []string{"new,won,lost", "线索,won"} {
		e := event.Event{ID: fmt.Sprintf("stages-%d", i), Source: "test", Type: event.StagesDefined,
			Tenant: "acme", Subject: "acme", Time: at.Add(time.Duration(i) * time.Minute)}
		e.Data.Set(event.FStages, list)
		out = append(out, e)
	}
	for i, manager := range []string{"m1", "m2", ""} {
		e := event.Event{ID: fmt.Sprintf("manager-%d", i), Source: "test", Type: event.StaffManagerSet,
			Tenant: "acme", Subject: "s1", Time: at.Add(time.Duration(i) * time.Minute)}
		if manager != "" {
			e.Data.Set(event.FStaffID, manager)
		} else {
			e.Data.SetBool(event.FDeleted, true)
		}
		out = append(out, e)
	}
	return out
}
