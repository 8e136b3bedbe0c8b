// Package followup is the sales follow-up domain: the stages a customer
// moves through, the follow-up channels, a customer's timeline and a rep's
// follow-up board, all read from events and their rollups.
//
// Each customer has at most one assignee, the rep responsible for following
// up (assignee.go): the board lists a rep's assigned customers, and the
// customer pool (pool.go) decides claims, assignments, transfers, releases,
// recycling and hand-over in one place per tenant (claims.go). WeCom friend
// relations are separate: a rep can be a friend without being the assignee.
//
// Stages are per tenant (StageLists; Stages is the default list); reminders,
// the daily digest, funnels and rep statistics read rollups of the events.
package followup

import (
	"encoding/base64"
	"encoding/json"
	"github.com/siyu-dev/siyu/errkind"
	"slices"
	"time"

	"github.com/siyu-dev/siyu/internal/reporting"
)

// Stages is the default ordered list of sales stages.
var Stages = []string{"new", "contacted", "qualified", "proposal", "won", "lost"}

// Channels are the ways a follow-up can happen (the event contract's list).
var Channels = []string{"call", "visit", "wechat", "meeting", "other"}

// ValidStage reports whether stage is one of the default Stages.
func ValidStage(stage string) bool { return slices.Contains(Stages, stage) }

// ValidChannel reports whether channel is one of Channels.
func ValidChannel(channel string) bool { return slices.Contains(Channels, channel) }

// ErrBadCursor means a cursor was not one this package issued.
var ErrBadCursor error = &errkind.Error{Kind: errkind.Validation, Field: "cursor",
	Msg: "invalid cursor: pass next_cursor from the previous page unchanged"}

// Views of the board.
const (
	ViewDueToday = "due_today"
	ViewOverdue  = "overdue"
	ViewUpcoming = "upcoming"
	ViewRecent   = "recent"
	ViewAll      = "all"
)

// Views lists every board view.
var Views = []string{ViewDueToday, ViewOverdue, ViewUpcoming, ViewRecent, ViewAll}

// DayBounds returns the start of now's day in Asia/Shanghai and the start
// of the next day, in Unix nanoseconds.
func DayBounds(now time.Time) (start, end int64) {
	n := now.In(reporting.Zone)
	d := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, reporting.Zone)
	return d.UnixNano(), d.AddDate(0, 0, 1).UnixNano()
}

// encodeCursor and decodeCursor make keyset positions opaque.
func encodeCursor(v any) string {
	b, _ := json.Marshal(v) // plain structs of strings and ints
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return ErrBadCursor
	}
	if err := json.Unmarshal(b, v); err != nil {
		return ErrBadCursor
	}
	return nil
}

func nsTime(ns int64) *time.Time {
	if ns == 0 {
		return nil
	}
	t := time.Unix(0, ns).UTC()
	return &t
}
