package followup

import (
	"context"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	siyusql "github.com/siyu-dev/siyu/sql"
)

// The snapshot a memory board is loaded from (docs/decisions.md, "Board",
// B8): the rows of the tenant's facts that ClickHouse holds, joined into
// the board as facts, like the tail's events.
var (
	qMemFacts     = siyusql.Query("board_memory_facts")
	qMemStages    = siyusql.Query("board_memory_stages")
	qMemNames     = siyusql.Query("board_memory_names")
	qMemInbound   = siyusql.Query("board_memory_inbound")
	qMemRelations = siyusql.Query("board_memory_relations")
)

// load joins the tenant's snapshot into its memory board (the registry
// calls it once the ingest group has committed past the board's
// registration): events before it come from ClickHouse, events after it
// from the tail, and overlap is harmless. Then the shelves are built.
func (bs *Boards) load(ctx context.Context, tenant string, tb *tenantBoard) error {
	batch := &factBatch{tb: tb, facts: make([]fact, 0, 4096)}
	for _, sr := range snapshotReads {
		if err := bs.readSnapshot(ctx, tenant, sr, batch); err != nil {
			return err
		}
	}
	tb.mu.Lock()
	tb.b.shelveAll()
	tb.mu.Unlock()
	return nil
}

// snapshotRead is one query of a tenant's snapshot and how a row of it
// becomes a fact.
type snapshotRead struct {
	what  string
	query string
	scan  func(driver.Rows) (fact, error)
}

// snapshotReads are the rows a memory board is loaded from: the board facts
// (contact_facts kinds 0-3), stage changes, relation events, named events
// and each customer's last inbound message.
var snapshotReads = []snapshotRead{
	{"facts", qMemFacts, func(rows driver.Rows) (fact, error) {
		var f fact
		var kind uint8
		var lastNs uint64
		err := rows.Scan(&f.contact, &kind, &f.key.TimeNs, &f.key.ID, &f.key.Source, &f.staff, &f.nextNs, &lastNs)
		f.kind, f.lastNs = snapshotKind(kind), int64(lastNs)
		return f, err
	}},
	{"stages", qMemStages, func(rows driver.Rows) (fact, error) {
		f := fact{kind: factStaged}
		return f, rows.Scan(&f.contact, &f.key.TimeNs, &f.key.ID, &f.key.Source, &f.stage)
	}},
	{"relations", qMemRelations, func(rows driver.Rows) (fact, error) {
		var f fact
		var r relationFact
		var live uint8
		err := rows.Scan(&f.contact, &r.staff, &f.key.TimeNs, &f.key.ID, &f.key.Source, &live)
		r.live = live == 1
		f.relations = []relationFact{r}
		return f, err
	}},
	{"names", qMemNames, func(rows driver.Rows) (fact, error) {
		f := fact{named: true}
		err := rows.Scan(&f.contact, &f.key.TimeNs, &f.key.ID, &f.key.Source, &f.name)
		f.lastNs = f.key.TimeNs // a named event is one of the profile's
		return f, err
	}},
	{"last inbound", qMemInbound, func(rows driver.Rows) (fact, error) {
		var f fact
		err := rows.Scan(&f.contact, &f.inNs)
		f.lastNs = f.inNs
		return f, err
	}},
}

// readSnapshot joins the rows of one snapshot query into batch's board.
func (bs *Boards) readSnapshot(ctx context.Context, tenant string, sr snapshotRead, batch *factBatch) error {
	rows, err := bs.conn.Query(ctx, sr.query, clickhouse.Named("tenant", tenant))
	if err != nil {
		return fmt.Errorf("read board %s: %w", sr.what, err)
	}
	defer rows.Close()
	for rows.Next() {
		f, err := sr.scan(rows)
		if err != nil {
			return fmt.Errorf("read board %s: %w", sr.what, err)
		}
		batch.add(f)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read board %s: %w", sr.what, err)
	}
	batch.flush()
	return nil
}

// factBatch applies snapshot facts to a memory board a few thousand at a
// time, so that the tail and readers wait only briefly for its lock.
type factBatch struct {
	tb    *tenantBoard
	facts []fact
}

func (fb *factBatch) add(f fact) {
	if fb.facts = append(fb.facts, f); len(fb.facts) == cap(fb.facts) {
		fb.flush()
	}
}

func (fb *factBatch) flush() {
	fb.tb.mu.Lock()
	for _, f := range fb.facts {
		fb.tb.b.apply(f)
	}
	fb.tb.mu.Unlock()
	fb.facts = fb.facts[:0]
}

// snapshotKind maps a contact_facts kind (0 last event, 1 added, 2
// assigned, 3 follow-up) to a fact kind.
func snapshotKind(kind uint8) factKind {
	switch kind {
	case 1:
		return factAdded
	case 2:
		return factAssigned
	case 3:
		return factFollowup
	}
	return factTouch
}
