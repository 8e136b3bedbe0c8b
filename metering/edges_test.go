package metering_test

import (
	"time"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/metering"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func added(id, tenant, contact, staff, ts string, addWay int64) event.Event {
	e := event.Event{ID: id, Source: "test", Type: event.ContactAdded, Tenant: tenant, Subject: contact, Time: at(ts)}
	e.Data.Set(event.FStaffID, staff)
	e.Data.SetInt(event.FAddWay, addWay)
	return e
}

func removed(id, tenant, contact, staff, by, ts string) event.Event {
	e := event.Event{ID: id, Source: "test", Type: event.ContactRemoved, Tenant: tenant, Subject: contact, Time: at(ts)}
	e.Data.Set(event.FStaffID, staff)
	e.Data.Set(event.FBy, by)
	return e
}

func transferred(id, tenant, contact, from, to, ts string) event.Event {
	e := event.Event{ID: id, Source: "test", Type: event.ContactTransferred, Tenant: tenant, Subject: contact, Time: at(ts)}
	e.Data.Set(event.FFromStaffID, from)
	e.Data.Set(event.FToStaffID, to)
	return e
}

func capped(id, tenant, ts string, limit int64) event.Event {
	e := event.Event{ID: id, Source: "test", Type: event.SubscriptionChanged, Tenant: tenant, Subject: tenant, Time: at(ts)}
	e.Data.Set(event.FPlan, "pro")
	e.Data.SetBool(event.FPaid, true)
	e.Data.SetInt(event.FContactCap, limit)
	return e
}

// edgeTenant holds only the hand-made cases, so exact figures can be asserted.
const edgeTenant = "t0009"

// edgeEvents are the hand-made cases (all in September 2026, Asia/Shanghai):
//   - c1: added through a link on 09-02, transferred s1 → s2 on 09-03, removed
//     by the customer on 09-05 (lost on 09-05), added again through a link on
//     09-10 (billed once, on 09-02);
//   - c2: added by s1 and s2 through links on 09-02 (one acquisition), the
//     customer removes s1 on 09-04 (s2 remains: not lost), s2 removes the
//     customer on 09-06 (by staff: not lost);
//   - c3: added 09-02, removed by the customer 09-03 (lost), re-added through
//     a link 09-04;
//   - c4: added and removed by the customer at the same instant on 09-07; the
//     greater id (the removal) wins, so it is lost on 09-07;
//   - c5: transferred to the same staff member: stays live;
//   - a contact cap of 1 from 09-02 12:00, raised to 5 at 23:59:59 on 09-08.
func edgeEvents() []event.Event {
	tn := edgeTenant
	return []event.Event{
		added("e-c1-add", tn, "c1", "s1", "2026-09-02T10:00:00+08:00", metering.LinkAddWay),
		transferred("e-c1-xfer", tn, "c1", "s1", "s2", "2026-09-03T10:00:00+08:00"),
		removed("e-c1-rm", tn, "c1", "s2", "customer", "2026-09-05T10:00:00+08:00"),
		added("e-c1-readd", tn, "c1", "s3", "2026-09-10T10:00:00+08:00", metering.LinkAddWay),
		added("e-c2-add1", tn, "c2", "s1", "2026-09-02T11:00:00+08:00", metering.LinkAddWay),
		added("e-c2-add2", tn, "c2", "s2", "2026-09-02T12:00:00+08:00", metering.LinkAddWay),
		removed("e-c2-rm1", tn, "c2", "s1", "customer", "2026-09-04T09:00:00+08:00"),
		removed("e-c2-rm2", tn, "c2", "s2", "staff", "2026-09-06T09:00:00+08:00"),
		added("e-c3-add", tn, "c3", "s1", "2026-09-02T00:00:00+08:00", 1),
		removed("e-c3-rm", tn, "c3", "s1", "customer", "2026-09-03T23:59:59+08:00"),
		added("e-c3-readd", tn, "c3", "s1", "2026-09-04T08:00:00+08:00", metering.LinkAddWay),
		added("e-c4-a", tn, "c4", "s1", "2026-09-07T08:00:00+08:00", 1),
		removed("e-c4-b", tn, "c4", "s1", "customer", "2026-09-07T08:00:00+08:00"),
		added("e-c5-add", tn, "c5", "s1", "2026-09-02T08:00:00+08:00", 2),
		transferred("e-c5-xfer", tn, "c5", "s1", "s1", "2026-09-03T08:00:00+08:00"),
		capped("e-cap-1", tn, "2026-09-02T12:00:00+08:00", 1),
		capped("e-cap-5", tn, "2026-09-08T23:59:59+08:00", 5),
	}
}

// rowsOf turns events into relation rows the way 0007_metering.sql's views do.
func rowsOf(evs []event.Event) ([]metering.Row, []metering.Cap) {
	var rows []metering.Row
	var caps []metering.Cap
	for _, e := range evs {
		r := metering.Row{Tenant: e.Tenant, Contact: e.Subject, TimeNs: e.TimeNs(), ID: e.ID, Source: e.Source, Type: string(e.Type)}
		switch e.Type {
		case event.ContactAdded:
			r.Staff, r.Live, r.AddWay = e.Data.StaffID, true, e.Data.AddWay
			rows = append(rows, r)
		case event.ContactRemoved:
			r.Staff, r.RemovedBy = e.Data.StaffID, e.Data.By
			rows = append(rows, r)
		case event.ContactTransferred:
			r.Staff, r.Live = e.Data.ToStaffID, true
			rows = append(rows, r)
			if e.Data.FromStaffID != e.Data.ToStaffID {
				r.Staff, r.Live = e.Data.FromStaffID, false
				rows = append(rows, r)
			}
		case event.SubscriptionChanged:
			caps = append(caps, metering.Cap{Tenant: e.Tenant, TimeNs: e.TimeNs(), ID: e.ID, Source: e.Source, ContactCap: e.Data.ContactCap})
		}
	}
	return rows, caps
}
