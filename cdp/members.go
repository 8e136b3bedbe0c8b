package cdp

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// Each streams every member of s in tenant as of now whose contact id is
// greater than after, by contact id, to fn: ClickHouse sends the rows in
// blocks, so memory stays bounded by a block whatever the segment's size.
// fn must not keep m past its call.
func (g *Segments) Each(ctx context.Context, tenant string, s *Segment, now time.Time, after string,
	fn func(m *SegmentMember) error) error {
	c := CompileSegment(s, now)
	args := append(c.Args, clickhouse.Named("tenant", tenant), clickhouse.Named("after", after))
	rows, err := g.conn.Query(ctx, c.StreamSQL(), args...)
	if err != nil {
		return fmt.Errorf("stream segment: %w", err)
	}
	defer rows.Close()
	var m SegmentMember
	for rows.Next() {
		var first, last, lastIn int64
		if err := rows.Scan(&m.ContactID, &m.Name, &m.CorpName, &m.Stage, &m.Channel, &m.MessagesIn,
			&m.MessagesOut, &first, &last, &lastIn, &m.Staff, &m.TagIDs); err != nil {
			return fmt.Errorf("stream segment: %w", err)
		}
		m.FirstEventAt, m.LastEventAt, m.LastInboundAt = nsTime(first), nsTime(last), nsTime(lastIn)
		if err := fn(&m); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("stream segment: %w", err)
	}
	return nil
}
