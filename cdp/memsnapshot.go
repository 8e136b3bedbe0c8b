package cdp

import (
	"context"
	"fmt"
	"github.com/siyu-dev/siyu/internal/reporting"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	siyusql "github.com/siyu-dev/siyu/sql"
)

// The reads of a memory tenant: each customer's facts (whole tenant, or
// the chunk of customers whose events arrived since), identity links and
// the tag library.
var (
	qMemAcquisition = siyusql.Query("cdp_memory_acquisition")
	qMemRelations   = siyusql.Query("cdp_memory_relations")
	qMemTags        = siyusql.Query("cdp_memory_tags")
	qMemDays        = siyusql.Query("cdp_memory_days")
	qMemLinks       = siyusql.Query("cdp_memory_links")
	qMemLibrary     = siyusql.Query("cdp_memory_library")
)

// contactsMarker is where segment_filter_base and the cdp_memory_* queries
// take their contacts.
const contactsMarker = "/*contacts*/ 1"

// chunkContacts narrows a cdp_memory_* read to @ids (sorted; @lo and
// @hi their least and greatest): the range confines the read to the
// chunk's granules, the set to its rows.
const chunkContacts = "contact_id >= @lo AND contact_id <= @hi AND contact_id IN (SELECT arrayJoin(@ids))"

// load reads tenant's facts (the registry calls it once the ingest group
// has committed every event the tail had passed at registration): later
// events name their customers through take, and the first refresh reads
// those again.
func (m *Memory) load(ctx context.Context, name string, t *memTenant) error {
	lib, err := m.readLibrary(ctx, name)
	if err != nil {
		return err
	}
	facts, err := m.readFacts(ctx, name, nil)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.library = lib
	t.putAll(facts, nil)
	return nil
}

// libTag is a tag of the library as segments read it.
type libTag struct {
	name, group string
	deleted     bool
}

func (m *Memory) readLibrary(ctx context.Context, tenant string) (map[string]libTag, error) {
	rows, err := m.conn.Query(ctx, qMemLibrary, clickhouse.Named("tenant", tenant))
	if err != nil {
		return nil, fmt.Errorf("read tag library: %w", err)
	}
	defer rows.Close()
	out := map[string]libTag{}
	for rows.Next() {
		var id, name, group string
		var deleted uint8
		if err := rows.Scan(&id, &name, &group, &deleted); err != nil {
			return nil, fmt.Errorf("read tag library: %w", err)
		}
		out[id] = libTag{name: name, group: group, deleted: deleted == 1}
	}
	return out, rows.Err()
}

// memFacts is what one read gives: each customer's facts, before they go
// into memory, and the identity links of the ids asked.
type memFacts struct {
	rows  []*memFactRow
	links map[string]idPeers
}

// memFactRow is one customer's facts as read.
type memFactRow struct {
	row  memRow
	tags []string
}

// memDaysBack is how many days before today cdp_memory_days keeps each
// day's messages: the 30-day window and a day of margin for the time zone.
const memDaysBack = 31

// readFacts reads the facts of tenant's customers ids (sorted), or of
// every customer when ids is nil, and the identity links of those ids. A
// customer without a profile row has no facts (as in segment_filter_base).
func (m *Memory) readFacts(ctx context.Context, tenant string, ids []string) (*memFacts, error) {
	out := &memFacts{links: map[string]idPeers{}}
	args := []any{clickhouse.Named("tenant", tenant)}
	where := "1"
	if ids != nil {
		if len(ids) == 0 {
			return out, nil
		}
		where = chunkContacts
		args = append(args, clickhouse.Named("ids", ids), clickhouse.Named("lo", ids[0]), clickhouse.Named("hi", ids[len(ids)-1]))
		ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{
			"max_query_size": membersQueryBytes, "max_ast_elements": membersASTElements,
			"max_expanded_ast_elements": membersASTElements}))
	}
	byID := map[string]*memFactRow{}
	reads := []struct {
		what, query string
		args        []any
		scan        func(rows driver.Rows, f func(id string) *memFactRow) error
	}{
		{"profiles", qFilterBase, nil, func(rows driver.Rows, _ func(string) *memFactRow) error {
			f := &memFactRow{}
			r := &f.row
			if err := rows.Scan(&r.id, &r.firstNs, &r.lastNs, &r.name, &r.unionid, &r.corp, &r.msgsIn, &r.msgsOut,
				&r.lastInNs, &r.lastOutNs, &r.stage, &r.lastFollowupNs, &r.nextFollowupNs); err != nil {
				return err
			}
			byID[r.id] = f
			out.rows = append(out.rows, f)
			return nil
		}},
		{"acquisition", qMemAcquisition, nil, func(rows driver.Rows, of func(string) *memFactRow) error {
			var id, channel, addedBy string
			var addWay, addedNs int64
			if err := rows.Scan(&id, &addWay, &channel, &addedBy, &addedNs); err != nil {
				return err
			}
			if f := of(id); f != nil {
				f.row.addWay, f.row.channel, f.row.addedBy, f.row.addedNs = addWay, channel, addedBy, addedNs
			}
			return nil
		}},
		{"assignees", qAssigned, nil, func(rows driver.Rows, of func(string) *memFactRow) error {
			var id, assignee string
			if err := rows.Scan(&id, &assignee); err != nil {
				return err
			}
			if f := of(id); f != nil {
				f.row.assignee = assignee
			}
			return nil
		}},
		{"relations", qMemRelations, nil, func(rows driver.Rows, of func(string) *memFactRow) error {
			var id string
			var rel memRelation
			var live uint8
			if err := rows.Scan(&id, &rel.staff, &rel.lastID, &rel.lastSource, &rel.endedBy, &live, &rel.since, &rel.first); err != nil {
				return err
			}
			rel.live = live == 1
			if f := of(id); f != nil {
				f.row.relations = append(f.row.relations, rel)
			}
			return nil
		}},
		{"tags", qMemTags, nil, func(rows driver.Rows, of func(string) *memFactRow) error {
			var id string
			var tags []string
			var since []int64
			if err := rows.Scan(&id, &tags, &since); err != nil {
				return err
			}
			if f := of(id); f != nil {
				f.tags, f.row.tagSince = tags, since
			}
			return nil
		}},
		{"day facts", qMemDays, []any{clickhouse.Named("since", m.now().In(reporting.Zone).AddDate(0, 0, -memDaysBack).Format(time.DateOnly))},
			func(rows driver.Rows, of func(string) *memFactRow) error {
				var id, phone string
				var gender int64
				var followups uint64
				var days []uint16
				var ins, outs []uint64
				if err := rows.Scan(&id, &phone, &gender, &followups, &days, &ins, &outs); err != nil {
					return err
				}
				if f := of(id); f != nil {
					f.row.phone, f.row.gender, f.row.followups = phone, gender, followups
					f.row.days = make([]memDay, len(days))
					for i := range days {
						f.row.days[i] = memDay{day: days[i], in: uint32(ins[i]), out: uint32(outs[i])}
					}
				}
				return nil
			}},
		{"identity links", strings.ReplaceAll(qMemLinks, "/*contacts*/ 1", strings.ReplaceAll(where, "contact_id", "node")),
			[]any{clickhouse.Named("per_role", MaxSharers+1)}, func(rows driver.Rows, _ func(string) *memFactRow) error {
				var node, peer string
				var dir uint8
				if err := rows.Scan(&node, &peer, &dir); err != nil {
					return err
				}
				p := out.links[node]
				if dir == 1 {
					p.asSubject = append(p.asSubject, peer)
				} else {
					p.asValue = append(p.asValue, peer)
				}
				out.links[node] = p
				return nil
			}},
	}
	of := func(id string) *memFactRow { return byID[id] }
	for _, r := range reads {
		err := m.scan(ctx, r.what, r.query, where, append(slices.Clip(args), r.args...), func(rows driver.Rows) error {
			return r.scan(rows, of)
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// scan runs one segment_filter_base or cdp_memory_* query with its contacts and passes each row to fn.
func (m *Memory) scan(ctx context.Context, what, query, where string, args []any, fn func(driver.Rows) error) error {
	rows, err := m.conn.Query(ctx, strings.Replace(query, contactsMarker, where, 1), args...)
	if err != nil {
		return fmt.Errorf("read segment %s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return fmt.Errorf("read segment %s: %w", what, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read segment %s: %w", what, err)
	}
	return nil
}
