package followup

import (
	"math"
	"sort"
	"time"
)

// ChatDay is what the rollup rep_chat_days holds for one (rep, day,
// customer): a WeCom chat, plus the contact changes of that day.
type ChatDay struct {
	StaffID           string
	Day               string // YYYY-MM-DD, Asia/Shanghai
	ContactID         string
	FirstInNs         int64  // first inbound message; 0 = none
	FirstOutNs        int64  // first outbound message; 0 = none
	FirstDirection    string // direction of the first message by (time, id, source); "" = no message
	OutMessages       uint64 // distinct outbound messages
	Added             bool   // a contact.added with this rep that day
	RemovedByCustomer bool   // the customer deleted the rep that day
}

// RepDay is one rep's statistics for one day, with the names and meanings
// of WeCom's get_user_behavior_data.
type RepDay struct {
	StaffID string `json:"staff_id"`
	Day     string `json:"day"`
	// ChatCnt: chats (customers) the rep sent at least one message to.
	ChatCnt int `json:"chat_cnt"`
	// MessageCnt: messages the rep sent.
	MessageCnt uint64 `json:"message_cnt"`
	// CustomerChatCnt: customer-initiated chats (the first message was inbound).
	CustomerChatCnt int `json:"customer_chat_cnt"`
	// ReplyPercentage: percent of customer-initiated chats the rep answered
	// the same day, rounded to 2 decimals; null without such chats.
	ReplyPercentage *float64 `json:"reply_percentage"`
	// AvgReplyTime: minutes from the first inbound message to the rep's
	// first reply, averaged over answered customer-initiated chats, rounded
	// to 2 decimals; null when none was answered.
	AvgReplyTime        *float64 `json:"avg_reply_time"`
	NegativeFeedbackCnt int      `json:"negative_feedback_cnt"`
	NewContactCnt       int      `json:"new_contact_cnt"`
}

// dayTally is the exact integer state of a RepDay.
type dayTally struct {
	customers                                       int // rows: customers with a fact that day
	chats, customerChats, answered, negative, added int
	messages                                        uint64
	replyNs                                         int64
}

// ComputeStats folds chat days into one RepDay per rep and day of
// [from, to] (inclusive, YYYY-MM-DD): every day of every rep that has a row,
// zeros included, plus the reps of always (e.g. the one asked for), sorted
// by rep then day. Rows must be one per (rep, day, customer).
func ComputeStats(rows []ChatDay, from, to time.Time, always ...string) []RepDay {
	tally := map[[2]string]*dayTally{}
	reps := map[string]bool{}
	for _, s := range always {
		reps[s] = true
	}
	for _, r := range rows {
		reps[r.StaffID] = true
		k := [2]string{r.StaffID, r.Day}
		t := tally[k]
		if t == nil {
			t = &dayTally{}
			tally[k] = t
		}
		t.add(r)
	}
	return statsOf(reps, tally, from, to)
}

// statsOf lists one RepDay per rep of reps (sorted) and day of [from, to]
// from the tallies (a missing one is all zeros).
func statsOf(reps map[string]bool, tally map[[2]string]*dayTally, from, to time.Time) []RepDay {
	var out []RepDay
	for _, staff := range sortedKeys(reps) {
		for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
			day := d.Format(time.DateOnly)
			t := tally[[2]string{staff, day}]
			if t == nil {
				t = &dayTally{}
			}
			out = append(out, t.repDay(staff, day))
		}
	}
	return out
}

func (t *dayTally) add(r ChatDay) {
	t.customers++
	if r.OutMessages > 0 {
		t.chats++
		t.messages += r.OutMessages
	}
	if r.FirstDirection == "in" {
		t.customerChats++
		if r.FirstOutNs != 0 {
			t.answered++
			t.replyNs += r.FirstOutNs - r.FirstInNs
		}
	}
	if r.RemovedByCustomer {
		t.negative++
	}
	if r.Added {
		t.added++
	}
}

func (t *dayTally) repDay(staff, day string) RepDay {
	d := RepDay{StaffID: staff, Day: day, ChatCnt: t.chats, MessageCnt: t.messages,
		CustomerChatCnt: t.customerChats, NegativeFeedbackCnt: t.negative, NewContactCnt: t.added}
	if t.customerChats > 0 {
		p := round2(100 * float64(t.answered) / float64(t.customerChats))
		d.ReplyPercentage = &p
	}
	if t.answered > 0 {
		m := round2(float64(t.replyNs) / float64(t.answered) / float64(time.Minute))
		d.AvgReplyTime = &m
	}
	return d
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
