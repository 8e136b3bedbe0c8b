// Package cdp is the customer data platform: customer profiles and tenants'
// tag libraries folded from events, and (in later steps) identity and
// segments over them.
package cdp

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"golang.org/x/sync/errgroup"

	"github.com/siyu-dev/siyu/errkind"
	siyusql "github.com/siyu-dev/siyu/sql"
)

// ErrNotFound means the tenant has no customer with that id.
var ErrNotFound = errkind.New(errkind.NotFound, "customer not found")

// Profile is one customer as of every event Siyu has for them, over all of
// their ids (docs/decisions.md, "Identity"): a merged profile is the profile
// of the union of its ids' events. Times are UTC; a nil time means "never".
type Profile struct {
	Tenant string `json:"tenant"`
	// ID is the canonical id of the customer, IDs every id they are known by
	// (WeCom contact ids, unionids, phones), sorted. ContactID equals ID.
	ID            string      `json:"id"`
	IDs           []string    `json:"ids"`
	ContactID     string      `json:"contact_id"`
	FirstEventAt  *time.Time  `json:"first_event_at"`
	LastEventAt   *time.Time  `json:"last_event_at"`
	Name          string      `json:"name"`
	UnionID       string      `json:"unionid"`
	Phone         string      `json:"phone"`
	Gender        int64       `json:"gender"`
	CorpName      string      `json:"corp_name"`
	Acquisition   Acquisition `json:"acquisition"`
	Relations     []Relation  `json:"relations"`
	LiveRelations int         `json:"live_relations"`
	Lost          bool        `json:"lost"`
	Chat          Chat        `json:"chat"`
	Engagement    string      `json:"engagement"`
	Tags          []TagOn     `json:"tags"`
	Stage         string      `json:"stage"`
	Followup      Followup    `json:"followup"`
}

// Acquisition is how the customer first came: their first contact.added.
type Acquisition struct {
	AddWay  int64      `json:"add_way"`
	Channel string     `json:"channel"`
	AddedBy string     `json:"added_by"`
	AddedAt *time.Time `json:"added_at"`
}

// Relation is a live WeCom friend relation between one of the customer's
// contact ids and a rep.
type Relation struct {
	ContactID    string     `json:"contact_id"`
	StaffID      string     `json:"staff_id"`
	Since        *time.Time `json:"since"`
	FirstAddedAt *time.Time `json:"first_added_at"`
}

// Chat summarises the customer's one-to-one messages. The 7- and 30-day
// counts are over reporting days (reporting.Zone): today and the 6 (29) before.
type Chat struct {
	MessagesIn     uint64     `json:"messages_in"`
	MessagesOut    uint64     `json:"messages_out"`
	MessagesIn7d   uint64     `json:"messages_in_7d"`
	MessagesOut7d  uint64     `json:"messages_out_7d"`
	MessagesIn30d  uint64     `json:"messages_in_30d"`
	MessagesOut30d uint64     `json:"messages_out_30d"`
	LastInboundAt  *time.Time `json:"last_inbound_at"`
	LastOutboundAt *time.Time `json:"last_outbound_at"`
}

// TagOn is a tag currently on the customer, named from the tag library. A
// tag the library marks deleted is not on anyone (WeCom removes it from its
// customers); one the library does not know yet has an empty name.
type TagOn struct {
	TagID string     `json:"tag_id"`
	Name  string     `json:"name"`
	Group string     `json:"group"`
	Since *time.Time `json:"since"`
}

// Followup is the customer's follow-up schedule.
type Followup struct {
	LastAt *time.Time `json:"last_at"`
	NextAt *time.Time `json:"next_at"`
	Count  uint64     `json:"count"`
}

// Engagement buckets, by the customer's last inbound message.
const (
	EngagedActive7d  = "active_7d"
	EngagedActive30d = "active_30d"
	EngagedActive90d = "active_90d"
	EngagedDormant   = "dormant"
	EngagedNever     = "never"
)

// EngagementOf buckets the time of a customer's last inbound message (0 =
// never) by its age at now: within 7 days, 30, 90, older, or never.
func EngagementOf(lastInNs int64, now time.Time) string {
	if lastInNs == 0 {
		return EngagedNever
	}
	age := now.Sub(time.Unix(0, lastInNs))
	switch {
	case age <= 7*24*time.Hour:
		return EngagedActive7d
	case age <= 30*24*time.Hour:
		return EngagedActive30d
	case age <= 90*24*time.Hour:
		return EngagedActive90d
	}
	return EngagedDormant
}

// Profiles reads customer profiles from ClickHouse.
type Profiles struct {
	conn driver.Conn
	now  func() time.Time
	mem  *Memory // nil: every profile is read from ClickHouse
}

// NewProfiles returns a profile reader over conn that answers the tenants
// mem holds from memory (mem may be nil); windows and the engagement
// bucket are relative to the wall clock.
func NewProfiles(conn driver.Conn, mem *Memory) *Profiles {
	return &Profiles{conn: conn, now: time.Now, mem: mem}
}

// WithClock returns a copy of p that reads "now" from now (tests, replays).
func (p *Profiles) WithClock(now func() time.Time) *Profiles {
	return &Profiles{conn: p.conn, now: now, mem: p.mem}
}

var (
	qProfile   = siyusql.Query("profile_get")
	qRelations = siyusql.Query("profile_relations")
)

// readScalars reads profile_state; it returns the last inbound time in ns.
func (p *Profiles) readScalars(ctx context.Context, pr *Profile, args []any) (int64, error) {
	var first, last, lastIn, lastOut, lastFU, nextFU int64
	row := p.conn.QueryRow(ctx, qProfile, args...)
	err := row.Scan(&first, &last, &pr.Name, &pr.UnionID, &pr.CorpName, &pr.Chat.MessagesIn,
		&pr.Chat.MessagesOut, &lastIn, &lastOut, &pr.Stage, &lastFU, &nextFU)
	if errors.Is(err, sqlNoRows) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("read profile: %w", err)
	}
	pr.FirstEventAt, pr.LastEventAt = nsTime(first), nsTime(last)
	pr.Chat.LastInboundAt, pr.Chat.LastOutboundAt = nsTime(lastIn), nsTime(lastOut)
	pr.Followup.LastAt, pr.Followup.NextAt = nsTime(lastFU), nsTime(nextFU)
	return lastIn, nil
}

// readRelations lists the live relations; live_relations counts the distinct
// reps among them. The customer is lost when no relation is live and the
// last one to end was ended by the customer deleting the rep.
func (p *Profiles) readRelations(ctx context.Context, pr *Profile, args []any) error {
	rows, err := p.conn.Query(ctx, qRelations, args...)
	if err != nil {
		return fmt.Errorf("read relations: %w", err)
	}
	defer rows.Close()
	var f relationFold
	for rows.Next() {
		var r Relation
		var live uint8
		var since, first int64
		var end relationEnd
		if err := rows.Scan(&r.ContactID, &r.StaffID, &live, &since, &first, &end.id, &end.source, &end.by); err != nil {
			return fmt.Errorf("read relations: %w", err)
		}
		f.add(r, live == 1, since, first, end)
	}
	f.finish(pr)
	return rows.Err()
}

// relationFold folds a customer's relations, in (staff, contact) order,
// into the live ones, live_relations and lost.
type relationFold struct {
	live    []Relation
	staff   map[string]bool
	lastEnd relationEnd
}

// add takes one relation: its latest event at since (for an ended one, the
// event that ended it, end) and its first contact.added at first.
func (f *relationFold) add(r Relation, live bool, since, first int64, end relationEnd) {
	if live {
		r.Since, r.FirstAddedAt = nsTime(since), nsTime(first)
		f.live = append(f.live, r)
		if f.staff == nil {
			f.staff = map[string]bool{}
		}
		f.staff[r.StaffID] = true
		return
	}
	if end.ns = since; f.lastEnd.before(end) {
		f.lastEnd = end
	}
}

func (f *relationFold) finish(pr *Profile) {
	pr.Relations = append(pr.Relations, f.live...)
	pr.LiveRelations = len(f.staff)
	pr.Lost = len(f.staff) == 0 && f.lastEnd.by == "customer"
}

// relationEnd is the event that ended a relation, ordered as last-writer-wins
// orders events: time, then id, then source.
type relationEnd struct {
	ns         int64
	id, source string
	by         string
}

func (a relationEnd) before(b relationEnd) bool {
	if a.ns != b.ns {
		return a.ns < b.ns
	}
	if a.id != b.id {
		return a.id < b.id
	}
	return a.source < b.source
}

// HasRelation reports whether staffID has a live relation with the customer.
func (pr *Profile) HasRelation(staffID string) bool {
	for _, r := range pr.Relations {
		if r.StaffID == staffID {
			return true
		}
	}
	return false
}

func nsTime(ns int64) *time.Time {
	if ns == 0 {
		return nil
	}
	t := time.Unix(0, ns).UTC()
	return &t
}

// GetHolders returns the part of a profile that access checks read: the
// scalars (ErrNotFound when the tenant has no such customer) and the live
// relations. A timeline read checks access first; the whole profile
// (profile_read) reads five tables more than these two small queries.
func (p *Profiles) GetHolders(ctx context.Context, tenant, id string) (*Profile, error) {
	pr, err := p.getHolders(ctx, tenant, id)
	if alt := phoneLookup(id); alt != "" && errors.Is(err, ErrNotFound) {
		return p.getHolders(ctx, tenant, alt) // a phone as people write it: its identifier
	}
	return pr, err
}

func (p *Profiles) getHolders(ctx context.Context, tenant, id string) (*Profile, error) {
	person, err := p.Resolve(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	args := []any{clickhouse.Named("tenant", tenant), clickhouse.Named("ids", person.IDs)}
	pr := &Profile{Tenant: tenant, ID: person.ID, IDs: person.IDs, ContactID: person.ID,
		Relations: []Relation{}, Tags: []TagOn{}}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { _, err := p.readScalars(gctx, pr, args); return err })
	g.Go(func() error { return p.readRelations(gctx, pr, args) })
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return pr, nil
}
