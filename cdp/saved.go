package cdp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/siyu-dev/siyu/errkind"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	siyusql "github.com/siyu-dev/siyu/sql"
)

// MaxSegmentNameRunes bounds the name of a saved segment.
const MaxSegmentNameRunes = 100

// ErrSegmentNotFound means the tenant has no saved segment with that id
// (or it was deleted).
var ErrSegmentNotFound = errkind.New(errkind.NotFound, "segment not found")

// SavedSegment is one saved segment, as of its latest segment.saved.
type SavedSegment struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	Definition json.RawMessage `json:"definition"`
	CreatedBy  string          `json:"created_by"`
	Deleted    bool            `json:"-"`
	CreatedAt  *time.Time      `json:"created_at"`
	UpdatedAt  *time.Time      `json:"updated_at"`
}

// Version identifies this definition of the segment: its id and the time
// it was saved. A bulk job over the segment is keyed by it.
func (s SavedSegment) Version() string {
	if s.UpdatedAt == nil {
		return s.ID
	}
	return fmt.Sprintf("%s@%d", s.ID, s.UpdatedAt.UnixNano())
}

// Parse returns the segment the saved definition describes.
func (s SavedSegment) Parse() (*Segment, error) { return ParseSegment(s.Definition) }

// SegmentNameError is a segment name Siyu refuses.
type SegmentNameError struct{ Reason string }

func (e *SegmentNameError) Error() string { return "name: " + e.Reason }

// NormalizeSegmentName trims name and checks its form.
func NormalizeSegmentName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", &SegmentNameError{Reason: "a segment needs a name"}
	case utf8.RuneCountInString(name) > MaxSegmentNameRunes:
		return "", &SegmentNameError{Reason: fmt.Sprintf("at most %d characters", MaxSegmentNameRunes)}
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "", &SegmentNameError{Reason: "must not contain control characters"}
	}
	return name, nil
}

var (
	qSegmentList = siyusql.Query("segment_list")
	qSegmentGet  = siyusql.Query("segment_get")
)

// SavedSegments keeps tenants' saved segments: ClickHouse folds them from
// segment.saved events, a moment after Kafka acknowledged each; so, as the
// TagLibrary does, the store lays the definitions this process published
// over what ClickHouse returns until ClickHouse has caught up. A segment
// saved through one replica may be missing from another's list for that
// moment.
type SavedSegments struct {
	conn driver.Conn
	// Now is the clock (default time.Now).
	Now func() time.Time

	mu     sync.Mutex
	recent map[string]map[string]SavedSegment // tenant → id → published
}

// NewSavedSegments returns the saved segments over conn.
func NewSavedSegments(conn driver.Conn) *SavedSegments {
	return &SavedSegments{conn: conn, Now: time.Now, recent: map[string]map[string]SavedSegment{}}
}

// List returns tenant's live saved segments, by id.
func (g *SavedSegments) List(ctx context.Context, tenant string) ([]SavedSegment, error) {
	rows, err := g.conn.Query(ctx, qSegmentList, clickhouse.Named("tenant", tenant))
	if err != nil {
		return nil, fmt.Errorf("list segments: %w", err)
	}
	defer rows.Close()
	var stored []SavedSegment
	for rows.Next() {
		s, err := scanSavedSegment(rows)
		if err != nil {
			return nil, fmt.Errorf("list segments: %w", err)
		}
		stored = append(stored, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list segments: %w", err)
	}
	all := g.overlay(tenant, stored)
	live := make([]SavedSegment, 0, len(all))
	for _, s := range all {
		if !s.Deleted {
			live = append(live, s)
		}
	}
	sortSegments(live)
	return live, nil
}

// Get returns one live saved segment of tenant, or ErrSegmentNotFound.
func (g *SavedSegments) Get(ctx context.Context, tenant, id string) (SavedSegment, error) {
	row := g.conn.QueryRow(ctx, qSegmentGet, clickhouse.Named("tenant", tenant), clickhouse.Named("segment_id", id))
	s, err := scanSavedSegment(row)
	var stored []SavedSegment
	switch {
	case errors.Is(err, sqlNoRows):
	case err != nil:
		return SavedSegment{}, fmt.Errorf("read segment: %w", err)
	default:
		stored = append(stored, s)
	}
	for _, s := range g.overlay(tenant, stored) {
		if s.ID == id && !s.Deleted {
			return s, nil
		}
	}
	return SavedSegment{}, fmt.Errorf("%w: %q", ErrSegmentNotFound, id)
}

// Save stamps s with the time (after its previous definition, if any) and
// calls publish, which must return only once the definition is stored
// (Kafka acknowledged it). The saved definition is returned.
func (g *SavedSegments) Save(ctx context.Context, tenant string, s SavedSegment, prev *SavedSegment,
	publish func(context.Context, SavedSegment) error) (SavedSegment, error) {
	now := g.Now().UTC()
	s.CreatedAt = &now
	if prev != nil {
		if prev.UpdatedAt != nil && !now.After(*prev.UpdatedAt) {
			now = prev.UpdatedAt.Add(time.Nanosecond)
		}
		s.CreatedAt, s.CreatedBy = prev.CreatedAt, prev.CreatedBy
	}
	s.UpdatedAt = &now
	if err := publish(ctx, s); err != nil {
		return SavedSegment{}, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.recent[tenant] == nil {
		g.recent[tenant] = map[string]SavedSegment{}
	}
	g.recent[tenant][s.ID] = s
	return s, nil
}

// overlay lays this process's recent definitions over stored, forgetting
// those ClickHouse already reflects or that are older than recentTTL.
func (g *SavedSegments) overlay(tenant string, stored []SavedSegment) []SavedSegment {
	g.mu.Lock()
	defer g.mu.Unlock()
	recent := g.recent[tenant]
	expired := g.Now().Add(-recentTTL)
	index := make(map[string]int, len(stored))
	for i, s := range stored {
		index[s.ID] = i
	}
	for id, r := range recent {
		i, known := index[id]
		switch {
		case known && stored[i].UpdatedAt != nil && !stored[i].UpdatedAt.Before(*r.UpdatedAt), r.UpdatedAt.Before(expired):
			delete(recent, id)
		case known:
			stored[i] = r
		}
	}
	// Published segments ClickHouse does not know at all are only in
	// recent: add those that the caller asked about too.
	for id, r := range recent {
		if _, known := index[id]; !known {
			stored = append(stored, r)
		}
	}
	return stored
}

func scanSavedSegment(row interface{ Scan(...any) error }) (SavedSegment, error) {
	var s SavedSegment
	var def string
	var deleted uint8
	var first, last int64
	if err := row.Scan(&s.ID, &s.Name, &def, &deleted, &s.CreatedBy, &first, &last); err != nil {
		return SavedSegment{}, err
	}
	s.Definition, s.Deleted = json.RawMessage(def), deleted != 0
	s.CreatedAt, s.UpdatedAt = nsTime(first), nsTime(last)
	return s, nil
}

func sortSegments(s []SavedSegment) {
	slices.SortFunc(s, func(a, b SavedSegment) int { return strings.Compare(a.ID, b.ID) })
}
