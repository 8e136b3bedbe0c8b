package followup

import (
	"math"
	"sort"
	"time"

	"github.com/siyu-dev/siyu/adoption"
)

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

// dayTally is the exact integer state of a RepDay: the sums, over one
// rep's day's customers, that followup_rep_stats.sql makes of
// rep_chat_days (one row per rep, day and customer: its first inbound and
// outbound message, the direction of its first message, its distinct
// outbound messages, whether it was added and removed by the customer).
type dayTally struct {
	customers                                       int // rows: customers with a fact that day
	chats, customerChats, answered, negative, added int
	messages                                        uint64
	replyNs                                         int64
}

// statsFrom is the statistics of scope over [from, to] from the tallies of
// days: every day of every rep of scope with a tally in the period, zeros
// included, plus the reps scope always lists, sorted by rep then day.
func statsFrom(days map[statsKey]dayTally, scope Scope, from, to time.Time) []RepDay {
	lo, hi := adoption.DateDay(from), adoption.DateDay(to)
	reps := map[string]bool{}
	for _, s := range scope.always() {
		reps[s] = true
	}
	tally := map[[2]string]*dayTally{}
	for k, d := range days {
		if k.day < lo || k.day > hi || !scope.Covers(k.staff) {
			continue
		}
		reps[k.staff] = true
		tally[[2]string{k.staff, k.day.String()}] = &d
	}
	out := statsOf(reps, tally, from, to)
	if out == nil {
		out = []RepDay{}
	}
	return out
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
