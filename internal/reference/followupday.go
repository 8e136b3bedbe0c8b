package reference

import (
	"github.com/siyu-dev/siyu/internal/reporting"
	"math"
	"sort"
	"time"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/followup"
)

// RepStats computes WeCom's rep statistics straight from the events, by
// brute force: each (rep, customer, Shanghai day) chat's distinct messages
// are sorted by (time, id, source) and read off one by one. Every rep of
// the tenant with any statistic event in the period gets every day of
// [from, to]; staff "" means every rep.
func RepStats(events []event.Event, tenant, staff string, from, to time.Time) []followup.RepDay {
	type chatKey struct{ staff, day, contact string }
	msgs := map[chatKey][]*event.Event{}
	added, removed := map[chatKey]bool{}, map[chatKey]bool{}
	seen := map[[2]string]bool{}
	reps := map[string]bool{}
	if staff != "" {
		reps[staff] = true
	}
	for i := range events {
		e := &events[i]
		if e.Tenant != tenant || seen[[2]string{e.Source, e.ID}] || (staff != "" && e.Data.StaffID != staff) {
			continue
		}
		seen[[2]string{e.Source, e.ID}] = true
		day := e.Time.In(reporting.Zone).Format(time.DateOnly)
		if day < from.Format(time.DateOnly) || day > to.Format(time.DateOnly) {
			continue
		}
		k := chatKey{e.Data.StaffID, day, e.Subject}
		switch {
		case e.Type == event.ChatMessage:
			msgs[k] = append(msgs[k], e)
		case e.Type == event.ContactAdded:
			added[k] = true
		case e.Type == event.ContactRemoved && e.Data.By == "customer":
			removed[k] = true
		default:
			continue
		}
		reps[k.staff] = true
	}
	type tally struct {
		chats, msgs, initiated, answered, negative, added int
		replyNs                                           int64
	}
	tallies := map[[2]string]*tally{}
	get := func(k chatKey) *tally {
		t := tallies[[2]string{k.staff, k.day}]
		if t == nil {
			t = &tally{}
			tallies[[2]string{k.staff, k.day}] = t
		}
		return t
	}
	for k, ms := range msgs {
		sort.Slice(ms, func(i, j int) bool { return keyOf(ms[i]).less(keyOf(ms[j])) })
		t := get(k)
		out := 0
		for _, m := range ms {
			if m.Data.Direction == "out" {
				out++
			}
		}
		if out > 0 {
			t.chats++
			t.msgs += out
		}
		if ms[0].Data.Direction != "in" {
			continue
		}
		t.initiated++
		for _, m := range ms {
			if m.Data.Direction == "out" {
				t.answered++
				t.replyNs += m.TimeNs() - ms[0].TimeNs()
				break
			}
		}
	}
	for k := range added {
		get(k).added++
	}
	for k := range removed {
		get(k).negative++
	}
	var res []followup.RepDay
	names := make([]string, 0, len(reps))
	for r := range reps {
		names = append(names, r)
	}
	sort.Strings(names)
	for _, r := range names {
		for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
			day := d.Format(time.DateOnly)
			t := tallies[[2]string{r, day}]
			if t == nil {
				t = &tally{}
			}
			rd := followup.RepDay{StaffID: r, Day: day, ChatCnt: t.chats, MessageCnt: uint64(t.msgs),
				CustomerChatCnt: t.initiated, NegativeFeedbackCnt: t.negative, NewContactCnt: t.added}
			if t.initiated > 0 {
				p := math.Round(100*float64(t.answered)/float64(t.initiated)*100) / 100
				rd.ReplyPercentage = &p
			}
			if t.answered > 0 {
				m := math.Round(float64(t.replyNs)/float64(t.answered)/float64(time.Minute)*100) / 100
				rd.AvgReplyTime = &m
			}
			res = append(res, rd)
		}
	}
	return res
}
