package followup

import (
	"fmt"
	"github.com/siyu-dev/siyu/internal/reporting"
	"time"
	"unicode/utf8"

	"github.com/siyu-dev/siyu/event"
)

// Fact is what a timeline summary is rendered from: the columns of one
// stored event.
type Fact struct {
	Type        string
	StaffID     string
	FromStaffID string
	ToStaffID   string
	RemovedBy   string
	Direction   string
	MsgType     string
	TagID       string
	Channel     string
	Note        string
	Stage       string
	NextAtNs    int64
}

// maxNoteRunes bounds the note quoted in a summary.
const maxNoteRunes = 80

// Summary renders a fact as a short sentence, e.g. "s0001 sent a message".
func Summary(f Fact) string {
	who := actor(f.StaffID)
	switch event.Type(f.Type) {
	case event.ContactAdded:
		return who + " added the customer"
	case event.ContactUpdated:
		return who + " updated the customer's details"
	case event.ContactRemoved:
		if f.RemovedBy == "customer" {
			return "the customer deleted " + who
		}
		return who + " deleted the customer"
	case event.ContactTransferred:
		return "the customer was transferred from " + actor(f.FromStaffID) + " to " + actor(f.ToStaffID)
	case event.ChatMessage:
		if f.Direction == "in" {
			return "the customer sent " + who + " a message"
		}
		return who + " sent a message"
	case event.TagAdded:
		return who + " added tag " + f.TagID
	case event.TagRemoved:
		return who + " removed tag " + f.TagID
	case event.FollowupLogged:
		return followupSummary(who, f)
	case event.FollowupStageChange:
		return who + " moved the customer to stage " + f.Stage
	}
	return "event " + f.Type
}

func followupSummary(who string, f Fact) string {
	s := who + " logged a follow-up"
	if f.Channel != "" {
		s = who + " logged a " + f.Channel + " follow-up"
	}
	if f.Note != "" {
		s += ": " + truncate(f.Note, maxNoteRunes)
	}
	if f.NextAtNs != 0 {
		s += fmt.Sprintf(", next at %s", time.Unix(0, f.NextAtNs).In(reporting.Zone).Format("2006-01-02 15:04 (UTC+8)"))
	}
	return s
}

func actor(staffID string) string {
	if staffID == "" {
		return "someone"
	}
	return staffID
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}
