package followup

import (
	"context"
	"fmt"
	"math"

	"github.com/ClickHouse/clickhouse-go/v2"

	siyusql "github.com/siyu-dev/siyu/sql"
)

var (
	qBoard         = siyusql.Query("followup_board")
	qBoardWindow   = siyusql.Query("followup_board_window")
	qBoardStart    = siyusql.Query("followup_board_start")
	qBoardProfiles = siyusql.Query("followup_board_profiles")
)

// The board reads windows of next follow-up times (followup_board_window):
// the first spans firstWindow, each next one windowGrowth times more, and
// after maxWindows the rest comes from the whole-book query
// (followup_board), which also holds the never-scheduled customers.
const (
	firstWindow  = int64(6 * 3600 * 1e9)
	windowGrowth = 4
	maxWindows   = 6
)

// boardRow is one customer of a board page before its profile summary.
type boardRow struct {
	entry BoardEntry
	key   int64
}

// Board returns a page of the customers assigned to q.StaffID, ordered by
// next follow-up time (recent: last event, newest first). Only the page's
// customers get their profile summary read.
func (r *Reader) Board(ctx context.Context, q BoardQuery) (*BoardPage, error) {
	pos := boardCursor{Key: -math.MaxInt64}
	if q.Cursor != "" {
		if err := decodeCursor(q.Cursor, &pos); err != nil {
			return nil, err
		}
	}
	dayStart, dayEnd := DayBounds(q.Now)
	b := boardRead{r: r, q: q, pos: pos, dayStart: dayStart, dayEnd: dayEnd, need: q.Limit + 1}
	if err := b.read(ctx); err != nil {
		return nil, fmt.Errorf("read board: %w", err)
	}
	page := assemblePage(q, b.rows)
	return page, r.boardProfiles(ctx, q.Tenant, page.Items)
}

// assemblePage makes the page of up to q.Limit+1 rows in board order: the
// first q.Limit, and a cursor when there are more.
func assemblePage(q BoardQuery, rows []boardRow) *BoardPage {
	page := &BoardPage{StaffID: q.StaffID, View: q.View, Items: []BoardEntry{}}
	for i, row := range rows {
		if i == q.Limit {
			prev := rows[i-1]
			page.NextCursor = encodeCursor(boardCursor{Key: prev.key, ContactID: prev.entry.ContactID})
			break
		}
		page.Items = append(page.Items, row.entry)
	}
	return page
}

// boardRead collects up to need rows after pos.
type boardRead struct {
	r                *Reader
	q                BoardQuery
	pos              boardCursor // after the last row collected
	dayStart, dayEnd int64
	need             int
	rows             []boardRow
}

// read collects the page: for "recent" from the whole book; otherwise
// window after window of next times, from the first follow-up at or after
// the cursor, up to the view's end.
func (b *boardRead) read(ctx context.Context) error {
	if b.q.View == ViewRecent {
		return b.query(ctx, qBoard)
	}
	lo, end := b.pos.Key, int64(math.MaxInt64)
	switch b.q.View {
	case ViewDueToday:
		lo, end = max(lo, b.dayStart), b.dayEnd
	case ViewOverdue:
		end = b.dayStart
	case ViewUpcoming:
		lo = max(lo, b.dayEnd)
	}
	var first int64
	if err := b.r.conn.QueryRow(ctx, qBoardStart, clickhouse.Named("tenant", b.q.Tenant),
		clickhouse.Named("from_ns", lo)).Scan(&first); err != nil {
		return err
	}
	lo = max(lo, first)
	step := firstWindow
	for i := 0; len(b.rows) < b.need; i++ {
		switch {
		case lo >= end && end < math.MaxInt64:
			return nil // the view's range is read
		case i == maxWindows || lo > math.MaxInt64-step:
			return b.query(ctx, qBoard) // the rest, never-scheduled included
		}
		hi := min(lo+step, end)
		if err := b.query(ctx, qBoardWindow, clickhouse.Named("lo_ns", lo), clickhouse.Named("hi_ns", hi)); err != nil {
			return err
		}
		lo, step = hi, step*windowGrowth
	}
	return nil
}

// query appends the rows of one board query after b.pos.
func (b *boardRead) query(ctx context.Context, query string, extra ...any) error {
	args := append([]any{clickhouse.Named("tenant", b.q.Tenant), clickhouse.Named("staff_id", b.q.StaffID),
		clickhouse.Named("view", b.q.View), clickhouse.Named("day_start_ns", b.dayStart),
		clickhouse.Named("day_end_ns", b.dayEnd), clickhouse.Named("after_key", b.pos.Key),
		clickhouse.Named("after_id", b.pos.ContactID), clickhouse.Named("stage", b.q.Stage),
		clickhouse.Named("limit", b.need-len(b.rows))}, extra...)
	rows, err := b.r.conn.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var row boardRow
		var lastFU, nextFU, lastNs int64
		if err := rows.Scan(&row.entry.ContactID, &lastFU, &nextFU, &lastNs, &row.key); err != nil {
			return err
		}
		row.entry.LastFollowupAt, row.entry.NextFollowupAt = nsTime(lastFU), nsTime(nextFU)
		b.rows = append(b.rows, row)
		b.pos = boardCursor{Key: row.key, ContactID: row.entry.ContactID}
	}
	return rows.Err()
}
