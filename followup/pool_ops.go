package followup

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/siyu-dev/siyu/errkind"
	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/kafka"
)

// Typed refusals of single-customer pool operations.
var (
	ErrNoCustomer        = errkind.New(errkind.NotFound, "no such customer in this tenant")
	ErrNotAssignee error = &errkind.Error{Kind: errkind.Forbidden, Msg: "the customer is not assigned to you",
		Public: "the customer is not assigned to you: a rep releases only their own customers"}
	ErrAlreadyInPool   = errkind.New(errkind.Conflict, "the customer is already in the pool")
	ErrAlreadyAssigned = errkind.New(errkind.Conflict, "the customer is already assigned to this staff member")
)

// Claim decides staff's claims of contacts (in order, duplicates once).
func (p *Pool) Claim(ctx context.Context, tenant, staff string, contacts []string) (Outcome, error) {
	inputs := append([]input{{field: "staff_id", value: staff}}, ids("customer_ids", contacts)...)
	contacts = uniq(contacts)
	return p.do(ctx, tenant, false, func(d *decision) error {
		d.inputs = inputs
		if err := d.known(contacts); err != nil {
			return err
		}
		d.claim(staff, contacts)
		return nil
	})
}

// Release returns contact to the pool. A rep (onlyOwn) may release only
// their own customers.
func (p *Pool) Release(ctx context.Context, tenant, actor string, onlyOwn bool, contact, note string) ([]kafka.Position, error) {
	out, err := p.do(ctx, tenant, false, func(d *decision) error {
		d.inputs = []input{{field: "id", value: contact}, {field: "reason", value: note, text: true}}
		if err := d.known([]string{contact}); err != nil {
			return err
		}
		c := d.b.customers[contact]
		switch {
		case c == nil:
			return ErrNoCustomer
		case c.holding.Assignee() == "":
			return ErrAlreadyInPool
		case onlyOwn && c.holding.Assignee() != actor:
			return ErrNotAssignee
		}
		d.accept(contact, c.holding.Assignee(), "", "release", note, "", d.now)
		return nil
	})
	return out.Written, err
}

// Assign makes staff the assignee of contact (a manager's decision: the
// claim rules bind reps' own claims, not assignments).
func (p *Pool) Assign(ctx context.Context, tenant, contact, staff string) ([]kafka.Position, error) {
	out, err := p.do(ctx, tenant, false, func(d *decision) error {
		d.inputs = []input{{field: "id", value: contact}, {field: "staff_id", value: staff}}
		if err := d.known([]string{contact}); err != nil {
			return err
		}
		c := d.b.customers[contact]
		switch {
		case c == nil:
			return ErrNoCustomer
		case c.holding.Assignee() == staff:
			return ErrAlreadyAssigned
		}
		d.accept(contact, c.holding.Assignee(), staff, "assign", "", "", d.now)
		return nil
	})
	return out.Written, err
}

// Transfer moves contacts from one rep to another within WeCom's transfer
// limit.
func (p *Pool) Transfer(ctx context.Context, tenant, from, to string, contacts []string) (Outcome, error) {
	inputs := append([]input{{field: "from", value: from}, {field: "to", value: to}}, ids("customer_ids", contacts)...)
	contacts = uniq(contacts)
	return p.do(ctx, tenant, false, func(d *decision) error {
		d.inputs = inputs
		if err := d.known(contacts); err != nil {
			return err
		}
		d.transfer(from, to, contacts)
		return nil
	})
}

// Depart records staff's departure (staff.departed) and hands every
// customer assigned to them to successor, or to the pool when successor is
// "". It returns the customers moved.
func (p *Pool) Depart(ctx context.Context, tenant, staff, successor string) (Outcome, error) {
	out, err := p.do(ctx, tenant, false, func(d *decision) error {
		d.inputs = []input{{field: "id", value: staff}, {field: "successor", value: successor}}
		ev := event.Event{ID: newID(), Source: d.source, Type: event.StaffDeparted, Tenant: tenant, Subject: staff, Time: d.now.UTC()}
		if successor != "" {
			ev.Data.Set(event.FSuccessorStaffID, successor)
		}
		d.events = append(d.events, ev)
		d.depart(staff, successor, func(contact string) string { return stableID("depart", tenant, ev.ID, contact) })
		return nil
	})
	return out, err
}

// DepartPreview is what Depart(tenant, staff, successor) would move now:
// the customers assigned to staff, sorted, decided by the same decider on
// the same state, and rolled back, so nothing is written. A hand-over
// decided later may differ by the changes decided in between.
func (p *Pool) DepartPreview(ctx context.Context, tenant, staff, successor string) ([]string, error) {
	var moved []string
	_, err := p.do(ctx, tenant, false, func(d *decision) error {
		d.depart(staff, successor, func(string) string { return "preview" })
		moved = slices.Clone(d.out.Accepted)
		d.rollback()
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(moved)
	return moved, nil
}

// SetRules sets the tenant's pool rules (pool.rules_set); they bind the
// next decision.
func (p *Pool) SetRules(ctx context.Context, tenant string, r Rules) error {
	_, err := p.do(ctx, tenant, false, func(d *decision) error {
		ev := event.Event{ID: newID(), Source: d.source, Type: event.PoolRulesSet, Tenant: tenant, Subject: tenant, Time: d.now.UTC()}
		ev.Data.SetInt(event.FContactCap, r.MaxHold)
		ev.Data.SetInt(event.FMaxClaimsPerDay, r.MaxClaimsPerDay)
		ev.Data.SetInt(event.FRecycleDays, r.RecycleDays)
		ev.Data.SetInt(event.FCooldownDays, r.CooldownDays)
		d.events = append(d.events, ev)
		d.b.rules, d.b.rulesKey = r, EventKey{TimeNs: ev.TimeNs(), ID: ev.ID, Source: ev.Source}
		return nil
	})
	return err
}

// Rules returns the tenant's pool rules as the decider holds them; a
// standby reads them from ClickHouse.
func (p *Pool) Rules(ctx context.Context, tenant string) (Rules, error) {
	if p.Role() != "decider" {
		return readRules(ctx, p.conn, tenant)
	}
	var r Rules
	_, err := p.do(ctx, tenant, false, func(d *decision) error {
		r = d.b.rules
		return nil
	})
	return r, err
}

// Sweep recycles idle customers and hands over the customers of departed
// staff (staff.departed from WeCom or any producer) in every tenant with
// pool rules or departures, each decided on state read afresh. Deciding
// the same thing twice writes the same events (ids per customer and due
// day, or per departure and customer).
func (p *Pool) Sweep(ctx context.Context) error {
	if p.election != nil {
		if err := p.election.await(ctx); err != nil {
			return err
		}
	}
	tenants, err := p.sweepTenants(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, tenant := range tenants {
		if err := p.sweepTenant(ctx, tenant); err != nil {
			errs = append(errs, fmt.Errorf("sweep %s: %w", tenant, err))
		}
	}
	return errors.Join(errs...)
}

// sweepTenant hands over departed reps' customers and recycles idle ones
// in one tenant.
func (p *Pool) sweepTenant(ctx context.Context, tenant string) error {
	deps, err := p.departures(ctx, tenant)
	if err != nil {
		return err
	}
	_, err = p.do(ctx, tenant, true, func(d *decision) error {
		for _, dep := range deps {
			d.depart(dep.staff, dep.successor, func(contact string) string {
				return stableID("depart", tenant, dep.eventID, contact)
			})
		}
		d.recycle()
		return nil
	})
	return err
}

// RunSweeper sweeps every interval until ctx ends, logging failures; a
// standby does not sweep.
func (p *Pool) RunSweeper(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if p.Role() != "decider" {
				continue
			}
			if err := p.Sweep(ctx); err != nil && ctx.Err() == nil {
				p.log.Error("pool sweep", "err", err)
			}
		}
	}
}

func (p *Pool) sweepTenants(ctx context.Context) ([]string, error) {
	rows, err := p.conn.Query(ctx, qSweepTenants)
	if err != nil {
		return nil, fmt.Errorf("read sweep tenants: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, fmt.Errorf("read sweep tenants: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

type departure struct{ staff, successor, eventID string }

// departures are the tenant's staff.departed of the last DepartureWindow.
func (p *Pool) departures(ctx context.Context, tenant string) ([]departure, error) {
	since := time.Now().Add(-DepartureWindow).UnixNano()
	rows, err := p.conn.Query(ctx, qDepartures, clickhouse.Named("tenant", tenant), clickhouse.Named("since_ns", since))
	if err != nil {
		return nil, fmt.Errorf("read departures: %w", err)
	}
	defer rows.Close()
	var out []departure
	for rows.Next() {
		var d departure
		var ns int64
		if err := rows.Scan(&d.staff, &d.successor, &d.eventID, &ns); err != nil {
			return nil, fmt.Errorf("read departures: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// DepartureWindow is how long after a staff.departed the sweep still hands
// over what the departed rep holds (a rep hired again after it may hold
// customers).
const DepartureWindow = 7 * 24 * time.Hour

// PoolEntry is one customer of the pool.
type PoolEntry struct {
	ContactID      string     `json:"customer_id"`
	InPoolSince    *time.Time `json:"in_pool_since"`
	LastFollowupAt *time.Time `json:"last_followup_at"`
}

// PoolPage is a page of the pool; NextCursor is empty on the last page.
type PoolPage struct {
	Items      []PoolEntry `json:"items"`
	NextCursor string      `json:"next_cursor"`
}

// Page reads a page of the tenant's pool from ClickHouse, after cursor.
func (p *Pool) Page(ctx context.Context, tenant, cursor string, limit int) (*PoolPage, error) {
	var after string
	if cursor != "" {
		if err := decodeCursor(cursor, &after); err != nil {
			return nil, err
		}
	}
	rows, err := p.conn.Query(ctx, qPoolPage, clickhouse.Named("tenant", tenant),
		clickhouse.Named("after", after), clickhouse.Named("limit", limit+1))
	if err != nil {
		return nil, fmt.Errorf("read pool: %w", err)
	}
	defer rows.Close()
	page := &PoolPage{Items: []PoolEntry{}}
	for rows.Next() {
		if len(page.Items) == limit {
			page.NextCursor = encodeCursor(page.Items[limit-1].ContactID)
			break
		}
		var e PoolEntry
		var since, last int64
		if err := rows.Scan(&e.ContactID, &since, &last); err != nil {
			return nil, fmt.Errorf("read pool: %w", err)
		}
		e.InPoolSince, e.LastFollowupAt = nsTime(since), nsTime(last)
		page.Items = append(page.Items, e)
	}
	return page, rows.Err()
}

// uniq keeps the first of each id, in order.
func uniq(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
