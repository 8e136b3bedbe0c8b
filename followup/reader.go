package followup

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/siyu-dev/siyu/kafka"
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
	Stage   string // only customers at this stage; empty: every stage
	Cursor  string
	Limit   int
	Now     time.Time // the day of due_today, overdue and upcoming
	// After: the positions of the client's writes the page must reflect
	// (the read-your-writes token); Boards waits for its tail to pass them.
	After []kafka.Position
}

type boardCursor struct {
	Key       int64  `json:"k"`
	ContactID string `json:"c"`
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
		var lastIn, lastNs int64
		if err := rows.Scan(&id, &name, &stage, &lastIn, &lastNs); err != nil {
			return fmt.Errorf("read board profiles: %w", err)
		}
		if i, ok := at[id]; ok {
			items[i].Name, items[i].Stage = name, stage
			items[i].LastInboundAt, items[i].LastEventAt = nsTime(lastIn), nsTime(lastNs)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read board profiles: %w", err)
	}
	return nil
}
