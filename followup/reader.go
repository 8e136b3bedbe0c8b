package followup

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	siyusql "github.com/siyu-dev/siyu/sql"
)

// Reader reads timelines and boards from ClickHouse.
type Reader struct {
	conn driver.Conn
}

// NewReader returns a reader over conn.
func NewReader(conn driver.Conn) *Reader { return &Reader{conn: conn} }

var (
	qTimeline = siyusql.Query("timeline_page")
	qBoard    = siyusql.Query("followup_board")

	qBoardProfiles = siyusql.Query("followup_board_profiles")
)

// Item is one event of a customer's timeline.
type Item struct {
	ID      string          `json:"id"`
	Source  string          `json:"source"`
	At      time.Time       `json:"at"`
	Type    string          `json:"type"`
	StaffID string          `json:"staff_id"`
	Summary string          `json:"summary"`
	Data    json.RawMessage `json:"data"`
}

// TimelinePage is a page of a timeline; NextCursor is empty on the last page.
type TimelinePage struct {
	Items      []Item `json:"items"`
	NextCursor string `json:"next_cursor"`
}

type timelineCursor struct {
	TimeNs int64  `json:"t"`
	Source string `json:"s"`
	ID     string `json:"i"`
}

// Timeline returns the page of contactID's events after cursor ("" for the
// first page), newest first, at most limit of them.
func (r *Reader) Timeline(ctx context.Context, tenant, contactID, cursor string, limit int) (*TimelinePage, error) {
	pos := timelineCursor{TimeNs: math.MaxInt64}
	if cursor != "" {
		if err := decodeCursor(cursor, &pos); err != nil {
			return nil, err
		}
	}
	rows, err := r.conn.Query(ctx, qTimeline,
		clickhouse.Named("tenant", tenant), clickhouse.Named("contact_id", contactID),
		clickhouse.Named("before_ns", pos.TimeNs), clickhouse.Named("before_source", pos.Source),
		clickhouse.Named("before_id", pos.ID), clickhouse.Named("limit", limit+1))
	if err != nil {
		return nil, fmt.Errorf("read timeline: %w", err)
	}
	defer rows.Close()
	page := &TimelinePage{Items: []Item{}}
	var last timelineCursor
	for rows.Next() {
		if len(page.Items) == limit {
			page.NextCursor = encodeCursor(last)
			break
		}
		var f Fact
		var data string
		if err := rows.Scan(&last.TimeNs, &last.Source, &last.ID, &f.Type, &f.StaffID, &f.FromStaffID, &f.ToStaffID,
			&f.RemovedBy, &f.Direction, &f.MsgType, &f.TagID, &f.Channel, &f.Note, &f.Stage, &f.NextAtNs, &data); err != nil {
			return nil, fmt.Errorf("read timeline: %w", err)
		}
		page.Items = append(page.Items, Item{ID: last.ID, Source: last.Source, At: time.Unix(0, last.TimeNs).UTC(), Type: f.Type,
			StaffID: f.StaffID, Summary: Summary(f), Data: rawData(data)})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read timeline: %w", err)
	}
	return page, nil
}

// rawData is the stored data object, or {} when there is none.
func rawData(s string) json.RawMessage {
	if s == "" || !json.Valid([]byte(s)) {
		return json.RawMessage("{}")
	}
	return json.RawMessage(s)
}

// BoardEntry is one customer on a rep's board.
type BoardEntry struct {
	ContactID      string     `json:"contact_id"`
	Name           string     `json:"name"`
	Stage          string     `json:"stage"`
	LastFollowupAt *time.Time `json:"last_followup_at"`
	NextFollowupAt *time.Time `json:"next_followup_at"`
	LastInboundAt  *time.Time `json:"last_inbound_at"`
	LastEventAt    *time.Time `json:"last_event_at"`
}

// BoardPage is a page of a board; NextCursor is empty on the last page.
type BoardPage struct {
	StaffID    string       `json:"staff_id"`
	View       string       `json:"view"`
	Items      []BoardEntry `json:"items"`
	NextCursor string       `json:"next_cursor"`
}

// BoardQuery asks for a page of one staff member's board.
type BoardQuery struct {
	Tenant  string
	StaffID string
	View    string // one of Views
	Cursor  string
	Limit   int
	Now     time.Time // the day of due_today, overdue and upcoming
}

type boardCursor struct {
	Key       int64  `json:"k"`
	ContactID string `json:"c"`
}

// Board returns a page of the customers q.StaffID holds a live relation
// with, ordered by next follow-up time (recent: last event, newest first).
func (r *Reader) Board(ctx context.Context, q BoardQuery) (*BoardPage, error) {
	pos := boardCursor{Key: -math.MaxInt64}
	if q.Cursor != "" {
		if err := decodeCursor(q.Cursor, &pos); err != nil {
			return nil, err
		}
	}
	dayStart, dayEnd := DayBounds(q.Now)
	rows, err := r.conn.Query(ctx, qBoard,
		clickhouse.Named("tenant", q.Tenant), clickhouse.Named("staff_id", q.StaffID),
		clickhouse.Named("view", q.View), clickhouse.Named("day_start_ns", dayStart),
		clickhouse.Named("day_end_ns", dayEnd), clickhouse.Named("after_key", pos.Key),
		clickhouse.Named("after_id", pos.ContactID), clickhouse.Named("limit", q.Limit+1))
	if err != nil {
		return nil, fmt.Errorf("read board: %w", err)
	}
	defer rows.Close()
	page := &BoardPage{StaffID: q.StaffID, View: q.View, Items: []BoardEntry{}}
	var last boardCursor
	for rows.Next() {
		if len(page.Items) == q.Limit {
			page.NextCursor = encodeCursor(last)
			break
		}
		var e BoardEntry
		var lastFU, nextFU, lastNs int64
		if err := rows.Scan(&e.ContactID, &lastFU, &nextFU, &lastNs, &last.Key); err != nil {
			return nil, fmt.Errorf("read board: %w", err)
		}
		last.ContactID = e.ContactID
		e.LastFollowupAt, e.NextFollowupAt, e.LastEventAt = nsTime(lastFU), nsTime(nextFU), nsTime(lastNs)
		page.Items = append(page.Items, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read board: %w", err)
	}
	return page, r.boardProfiles(ctx, q.Tenant, page.Items)
}

// boardProfiles fills in the profile summary of a page's entries, read for
// the page only: a rep's whole book would be a scan of aggregate states.
func (r *Reader) boardProfiles(ctx context.Context, tenant string, items []BoardEntry) error {
	if len(items) == 0 {
		return nil
	}
	at := make(map[string]int, len(items))
	ids := make([]string, len(items))
	for i, e := range items {
		at[e.ContactID], ids[i] = i, e.ContactID
	}
	rows, err := r.conn.Query(ctx, qBoardProfiles, clickhouse.Named("tenant", tenant), clickhouse.Named("ids", ids))
	if err != nil {
		return fmt.Errorf("read board profiles: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, name, stage string
		var lastIn int64
		if err := rows.Scan(&id, &name, &stage, &lastIn); err != nil {
			return fmt.Errorf("read board profiles: %w", err)
		}
		if i, ok := at[id]; ok {
			items[i].Name, items[i].Stage, items[i].LastInboundAt = name, stage, nsTime(lastIn)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read board profiles: %w", err)
	}
	return nil
}
