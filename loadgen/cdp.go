package loadgen

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/siyu-dev/siyu/event"
)

// CDPTenant is one tenant shaped for segment figures (the bench's cdp
// group, `siyu loadgen --scenario cdp`): a library of 300 tags in groups
// of 20, and per contact its contact.added (a fifth acquired through
// channel "ad", the rest spread over seven others), about 20 distinct
// tag.added and 0–6 chats in the 30 days before End. Unlike the stream of
// Config it is not in time order: each contact's events come together.
// The same fields yield the same events, End included.
type CDPTenant struct {
	Tenant   string
	Contacts int
	End      time.Time // chats fall in the 30 days before it, additions in the 60
}

// The shape of a CDPTenant.
const (
	cdpStaff    = 200
	cdpTags     = 300
	cdpTagsEach = 20
)

// CDPChannels are the acquisition channels (contact.added state) of a
// CDPTenant; the first is a fifth of the contacts.
var CDPChannels = []string{"ad", "qr", "referral", "event", "search", "article", "mini_program", "import"}

// CDPContact is the id of contact i of a CDPTenant.
func CDPContact(i int) string { return fmt.Sprintf("wm%08d", i) }

// Validate checks the tenant's fields.
func (c CDPTenant) Validate() error {
	switch {
	case c.Tenant == "":
		return errors.New("loadgen: the CDP tenant needs a name")
	case c.Contacts < 1:
		return fmt.Errorf("loadgen: the CDP tenant needs contacts, got %d", c.Contacts)
	case c.End.IsZero():
		return errors.New("loadgen: the CDP tenant needs an end time")
	}
	return nil
}

// Events yields the tenant's events: the tag library, then each contact's.
// The event passed to yield is reused by the next one.
func (c CDPTenant) Events(yield func(*event.Event) bool) {
	g := &cdpGen{r: rand.New(rand.NewPCG(3, 2026)), tenant: c.Tenant, end: c.End.UTC().Truncate(time.Second)}
	if !g.library(yield) {
		return
	}
	for i := range c.Contacts {
		if !g.contact(i, yield) {
			return
		}
	}
}

// cdpGen draws a CDPTenant's events from a fixed seed.
type cdpGen struct {
	r      *rand.Rand
	tenant string
	end    time.Time
	ev     event.Event
	seq    int
}

func (g *cdpGen) next(typ event.Type, subject string, at time.Time) *event.Event {
	g.seq++
	g.ev = event.Event{ID: fmt.Sprintf("cdp-%d", g.seq), Source: "bench-cdp", Type: typ, Tenant: g.tenant,
		Subject: subject, Time: at}
	return &g.ev
}

// library defines the 300 tags, 20 per group.
func (g *cdpGen) library(yield func(*event.Event) bool) bool {
	at := g.end.Add(-90 * 24 * time.Hour)
	for t := range cdpTags {
		e := g.next(event.TagDefined, fmt.Sprintf("tag%03d", t), at)
		e.Data.Set(event.FName, fmt.Sprintf("标签 %d", t))
		e.Data.Set(event.FGroup, fmt.Sprintf("group%02d", t/20))
		if !yield(e) {
			return false
		}
	}
	return true
}

// contact yields the events of contact i.
func (g *cdpGen) contact(i int, yield func(*event.Event) bool) bool {
	id := CDPContact(i)
	staff := fmt.Sprintf("s%04d", g.r.IntN(cdpStaff))
	added := g.end.Add(-time.Duration(g.r.Int64N(int64(60 * 24 * time.Hour))))
	e := g.next(event.ContactAdded, id, added)
	e.Data.Set(event.FStaffID, staff)
	e.Data.Set(event.FName, fmt.Sprintf("客户 %d", i))
	e.Data.Set(event.FState, g.channel())
	e.Data.SetInt(event.FAddWay, int64(1+g.r.IntN(3)))
	if !yield(e) {
		return false
	}
	var tags [cdpTagsEach]int
	for k := range tags {
	draw:
		tags[k] = g.r.IntN(cdpTags)
		for _, prev := range tags[:k] {
			if prev == tags[k] {
				goto draw
			}
		}
		e := g.next(event.TagAdded, id, added.Add(time.Duration(k+1)*time.Second))
		e.Data.Set(event.FTagID, fmt.Sprintf("tag%03d", tags[k]))
		if !yield(e) {
			return false
		}
	}
	for range g.r.IntN(7) {
		e := g.next(event.ChatMessage, id, g.end.Add(-time.Duration(g.r.Int64N(int64(30*24*time.Hour)))))
		e.Data.Set(event.FStaffID, staff)
		e.Data.Set(event.FDirection, []string{"in", "out"}[g.r.IntN(2)])
		if !yield(e) {
			return false
		}
	}
	return true
}

// channel picks CDPChannels[0] a fifth of the time, else another.
func (g *cdpGen) channel() string {
	if g.r.IntN(5) == 0 {
		return CDPChannels[0]
	}
	return CDPChannels[1+g.r.IntN(len(CDPChannels)-1)]
}
