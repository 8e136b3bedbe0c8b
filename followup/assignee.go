package followup

import (
	"context"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2"

	siyusql "github.com/siyu-dev/siyu/sql"
)

// EventKey orders events for last-writer-wins: time, then id, then source
// (decision 5).
type EventKey struct {
	TimeNs int64
	ID     string
	Source string
}

// Less reports whether k sorts before o.
func (k EventKey) Less(o EventKey) bool {
	if k.TimeNs != o.TimeNs {
		return k.TimeNs < o.TimeNs
	}
	if k.ID != o.ID {
		return k.ID < o.ID
	}
	return k.Source < o.Source
}

// IsZero reports whether k is no event at all.
func (k EventKey) IsZero() bool { return k.ID == "" }

// AssigneeFact is one event that the assignee fold reads: a contact.added
// (Added: Staff is the adder) or an assignee.changed (Staff is to_staff_id,
// "" = the pool).
type AssigneeFact struct {
	Contact string
	Added   bool
	Staff   string
	Key     EventKey
}

// Holding is a customer's assignee state: the first adder, the latest
// assignee.changed, and the assignee they give.
type Holding struct {
	FirstStaff string
	FirstKey   EventKey
	LastTo     string
	LastKey    EventKey // zero: never changed
}

// Assignee is the customer's assignee: the latest change's, else the first
// adder; "" means the customer is in the pool.
func (h Holding) Assignee() string {
	if !h.LastKey.IsZero() {
		return h.LastTo
	}
	return h.FirstStaff
}

// apply folds one fact into h; the result does not depend on the order of
// the facts or on repeats (min of adds, max of changes).
func (h *Holding) apply(f AssigneeFact) {
	if f.Added {
		if h.FirstKey.IsZero() || f.Key.Less(h.FirstKey) {
			h.FirstStaff, h.FirstKey = f.Staff, f.Key
		}
		return
	}
	if h.LastKey.IsZero() || h.LastKey.Less(f.Key) {
		h.LastTo, h.LastKey = f.Staff, f.Key
	}
}

// FoldAssignees folds facts into each customer's holding, as the
// contact_facts rollup does in ClickHouse.
func FoldAssignees(facts []AssigneeFact) map[string]Holding {
	out := map[string]Holding{}
	for _, f := range facts {
		h := out[f.Contact]
		h.apply(f)
		out[f.Contact] = h
	}
	return out
}

var qAssigneeTenant = siyusql.Query("assignee_tenant")

// stateRow is one customer of assignee_tenant.
type stateRow struct {
	contact        string
	holding        Holding
	lastFollowupNs int64
}

// fromClickHouse is the id of a first add read back from ClickHouse, which
// gives only its time.
const fromClickHouse = "first"

// readStates reads the assignee state of a tenant's customers (contact ""),
// or of one customer.
func readStates(ctx context.Context, conn queryer, tenant, contact string) ([]stateRow, error) {
	rows, err := conn.Query(ctx, qAssigneeTenant, clickhouse.Named("tenant", tenant), clickhouse.Named("contact_id", contact))
	if err != nil {
		return nil, fmt.Errorf("read assignees: %w", err)
	}
	defer rows.Close()
	var out []stateRow
	for rows.Next() {
		var r stateRow
		var firstNs int64
		k := &r.holding.LastKey
		if err := rows.Scan(&r.contact, &r.holding.FirstStaff, &firstNs, &r.holding.LastTo,
			&k.TimeNs, &k.ID, &k.Source, &r.lastFollowupNs); err != nil {
			return nil, fmt.Errorf("read assignees: %w", err)
		}
		r.holding.FirstKey = EventKey{TimeNs: firstNs, ID: fromClickHouse} // only its time is read back
		if r.holding.FirstStaff == "" {
			r.holding.FirstKey = EventKey{}
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read assignees: %w", err)
	}
	return out, nil
}

// Assignee reads a customer's assignee from ClickHouse ("" = the pool or no
// such customer).
func (r *Reader) Assignee(ctx context.Context, tenant, contact string) (string, error) {
	rows, err := readStates(ctx, r.conn, tenant, contact)
	if err != nil || len(rows) == 0 {
		return "", err
	}
	return rows[0].holding.Assignee(), nil
}
