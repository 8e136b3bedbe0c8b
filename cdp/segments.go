package cdp

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// MaxSegmentPage bounds one page of segment members.
const MaxSegmentPage = 1000

// SegmentMember is one customer in a segment, with the facts a list shows.
type SegmentMember struct {
	ContactID     string     `json:"contact_id"`
	Name          string     `json:"name"`
	CorpName      string     `json:"corp_name"`
	Stage         string     `json:"stage"`
	Channel       string     `json:"channel"`
	MessagesIn    uint64     `json:"messages_in"`
	MessagesOut   uint64     `json:"messages_out"`
	FirstEventAt  *time.Time `json:"first_event_at"`
	LastEventAt   *time.Time `json:"last_event_at"`
	LastInboundAt *time.Time `json:"last_inbound_at"`
	Staff         []string   `json:"staff"`
	TagIDs        []string   `json:"tag_ids"`
}

// Segments evaluates segments over the customer profiles in ClickHouse.
type Segments struct {
	conn driver.Conn
	mem  *Memory // nil: every segment is read from ClickHouse
}

// NewSegments returns a segment evaluator over conn that answers the
// tenants mem holds from memory (mem may be nil).
func NewSegments(conn driver.Conn, mem *Memory) *Segments { return &Segments{conn: conn, mem: mem} }

// Count returns the exact number of tenant's customers in s as of now.
func (g *Segments) Count(ctx context.Context, tenant string, s *Segment, now time.Time) (uint64, error) {
	if t := g.mem.view(ctx, tenant); t != nil {
		t.mu.RLock()
		defer t.mu.RUnlock()
		return t.members(s, now).count(), nil
	}
	c := CompileSegment(s, now)
	var n uint64
	args := append(c.Args, clickhouse.Named("tenant", tenant))
	if err := g.conn.QueryRow(ctx, c.CountSQL(), args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count segment: %w", err)
	}
	return n, nil
}

// Page returns at most limit members of s with a contact id greater than
// after ("" for the first page), by contact id: the page's ids are chosen
// first, then their columns read.
func (g *Segments) Page(ctx context.Context, tenant string, s *Segment, now time.Time, after string, limit int) ([]SegmentMember, error) {
	out := []SegmentMember{}
	if limit <= 0 {
		return out, nil
	}
	if t := g.mem.view(ctx, tenant); t != nil {
		t.mu.RLock()
		defer t.mu.RUnlock()
		t.next(t.members(s, now), after, min(limit, MaxSegmentPage), func(r *memRow) { out = append(out, t.member(r)) })
		return out, nil
	}
	c := CompileSegment(s, now)
	args := append(c.Args, clickhouse.Named("tenant", tenant), clickhouse.Named("after", after),
		clickhouse.Named("limit", min(limit, MaxSegmentPage)))
	ids, err := g.ids(ctx, c.PageSQL(), args)
	if err != nil {
		return nil, fmt.Errorf("page segment: %w", err)
	}
	err = g.members(ctx, tenant, ids, func(m *SegmentMember) error {
		out = append(out, *m)
		return nil
	})
	return out, err
}

func (g *Segments) ids(ctx context.Context, query string, args []any) ([]string, error) {
	rows, err := g.conn.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// membersQueryBytes bounds the text of a members query (ClickHouse's
// default is 256 KiB).
const membersQueryBytes = 16 << 20

// membersASTElements bounds the syntax tree of a members query (ClickHouse's
// default, 50,000, is less than four tuples of a chunk of ids).
const membersASTElements = 1 << 20

// members reads the columns of the customers ids (sorted) of tenant and
// passes each to fn, by contact id.
func (g *Segments) members(ctx context.Context, tenant string, ids []string, fn func(m *SegmentMember) error) error {
	if len(ids) == 0 {
		return nil
	}
	// The ids are in the query text, four times: allow a chunk of them.
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{
		"max_query_size": membersQueryBytes, "max_ast_elements": membersASTElements,
		"max_expanded_ast_elements": membersASTElements}))
	lo, hi := slices.Min(ids), slices.Max(ids)
	rows, err := g.conn.Query(ctx, MembersSQL(), clickhouse.Named("tenant", tenant),
		clickhouse.Named("ids", ids), clickhouse.Named("lo", lo), clickhouse.Named("hi", hi))
	if err != nil {
		return fmt.Errorf("read segment members: %w", err)
	}
	defer rows.Close()
	var m SegmentMember
	for rows.Next() {
		var first, last, lastIn int64
		if err := rows.Scan(&m.ContactID, &m.Name, &m.CorpName, &m.Stage, &m.Channel, &m.MessagesIn,
			&m.MessagesOut, &first, &last, &lastIn, &m.Staff, &m.TagIDs); err != nil {
			return fmt.Errorf("read segment members: %w", err)
		}
		m.FirstEventAt, m.LastEventAt, m.LastInboundAt = nsTime(first), nsTime(last), nsTime(lastIn)
		if err := fn(&m); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read segment members: %w", err)
	}
	return nil
}
