package cdp

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// Each passes every member of s in tenant as of now whose contact id is
// greater than after to fn, by contact id. The member ids are read first
// (one string each), then their columns in chunks of eachChunk: memory is
// bounded by the ids and one chunk, not by the members' columns. fn must
// not keep m past its call.
func (g *Segments) Each(ctx context.Context, tenant string, s *Segment, now time.Time, after string,
	fn func(m *SegmentMember) error) error {
	if t := g.mem.view(ctx, tenant); t != nil {
		return t.each(s, now, after, func(r *memRow, out []SegmentMember) []SegmentMember { return append(out, t.member(r)) },
			func(m *SegmentMember) error { return fn(m) })
	}
	var ids []string
	err := g.EachID(ctx, tenant, s, now, after, func(id string) error {
		ids = append(ids, id)
		return nil
	})
	if err != nil {
		return err
	}
	for start := 0; start < len(ids); start += eachChunk {
		if err := g.members(ctx, tenant, ids[start:min(start+eachChunk, len(ids))], fn); err != nil {
			return err
		}
	}
	return nil
}

// eachChunk is how many members' columns Each reads per query.
const eachChunk = 20000

// EachID streams the contact id of every member of s in tenant as of now
// greater than after to fn, by contact id, as ClickHouse sends them.
func (g *Segments) EachID(ctx context.Context, tenant string, s *Segment, now time.Time, after string,
	fn func(id string) error) error {
	if t := g.mem.view(ctx, tenant); t != nil {
		return t.each(s, now, after, func(r *memRow, out []SegmentMember) []SegmentMember {
			return append(out, SegmentMember{ContactID: r.id})
		}, func(m *SegmentMember) error { return fn(m.ContactID) })
	}
	c := CompileSegment(s, now)
	args := append(c.Args, clickhouse.Named("tenant", tenant), clickhouse.Named("after", after))
	rows, err := g.conn.Query(ctx, c.StreamSQL(), args...)
	if err != nil {
		return fmt.Errorf("stream segment: %w", err)
	}
	defer rows.Close()
	var id string
	for rows.Next() {
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("stream segment: %w", err)
		}
		if err := fn(id); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("stream segment: %w", err)
	}
	return nil
}
