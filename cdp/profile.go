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

	siyusql "github.com/siyu-dev/siyu/sql"
)

// ErrNotFound means the tenant has no customer with that id.
var ErrNotFound = errors.New("customer not found")

// Profile is one customer as of every event Siyu has for them. Times are UTC;
// a nil time means "never".
type Profile struct {
	Tenant       string     `json:"tenant"`
	ContactID    string     `json:"contact_id"`
	FirstEventAt *time.Time `json:"first_event_at"`
	LastEventAt  *time.Time `json:"last_event_at"`
	Name         string     `json:"name"`
	UnionID      string     `json:"unionid"`
	CorpName     string     `json:"corp_name"`
	Relations    []Relation `json:"relations"`
	Chat         Chat       `json:"chat"`
	Tags         []TagOn    `json:"tags"`
	Stage        string     `json:"stage"`
	Followup     Followup   `json:"followup"`
}

// Relation is a live WeCom friend relation between the customer and a rep.
type Relation struct {
	StaffID      string     `json:"staff_id"`
	Since        *time.Time `json:"since"`
	FirstAddedAt *time.Time `json:"first_added_at"`
}

// Chat summarises the customer's one-to-one messages.
type Chat struct {
	MessagesIn     uint64     `json:"messages_in"`
	MessagesOut    uint64     `json:"messages_out"`
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
}

// Profiles reads customer profiles from ClickHouse.
type Profiles struct {
	conn driver.Conn
}

// NewProfiles returns a profile reader over conn.
func NewProfiles(conn driver.Conn) *Profiles { return &Profiles{conn: conn} }

var (
	qProfile   = siyusql.Query("profile_get")
	qRelations = siyusql.Query("profile_relations")
	qTags      = siyusql.Query("profile_tags")
)

// Get returns the profile of contactID in tenant, or ErrNotFound.
func (p *Profiles) Get(ctx context.Context, tenant, contactID string) (*Profile, error) {
	args := []any{clickhouse.Named("tenant", tenant), clickhouse.Named("contact_id", contactID)}
	pr := &Profile{Tenant: tenant, ContactID: contactID, Relations: []Relation{}, Tags: []TagOn{}}
	var first, last, lastIn, lastOut, lastFU, nextFU int64
	row := p.conn.QueryRow(ctx, qProfile, args...)
	err := row.Scan(&first, &last, &pr.Name, &pr.UnionID, &pr.CorpName, &pr.Chat.MessagesIn,
		&pr.Chat.MessagesOut, &lastIn, &lastOut, &pr.Stage, &lastFU, &nextFU)
	if errors.Is(err, sqlNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read profile: %w", err)
	}
	pr.FirstEventAt, pr.LastEventAt = nsTime(first), nsTime(last)
	pr.Chat.LastInboundAt, pr.Chat.LastOutboundAt = nsTime(lastIn), nsTime(lastOut)
	pr.Followup = Followup{LastAt: nsTime(lastFU), NextAt: nsTime(nextFU)}
	if err := p.readRelations(ctx, pr, args); err != nil {
		return nil, err
	}
	if err := p.readTags(ctx, pr, args); err != nil {
		return nil, err
	}
	return pr, nil
}

func (p *Profiles) readRelations(ctx context.Context, pr *Profile, args []any) error {
	rows, err := p.conn.Query(ctx, qRelations, args...)
	if err != nil {
		return fmt.Errorf("read relations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r Relation
		var since, first int64
		if err := rows.Scan(&r.StaffID, &since, &first); err != nil {
			return fmt.Errorf("read relations: %w", err)
		}
		r.Since, r.FirstAddedAt = nsTime(since), nsTime(first)
		pr.Relations = append(pr.Relations, r)
	}
	return rows.Err()
}

func (p *Profiles) readTags(ctx context.Context, pr *Profile, args []any) error {
	rows, err := p.conn.Query(ctx, qTags, args...)
	if err != nil {
		return fmt.Errorf("read tags: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t TagOn
		var since int64
		if err := rows.Scan(&t.TagID, &since, &t.Name, &t.Group); err != nil {
			return fmt.Errorf("read tags: %w", err)
		}
		t.Since = nsTime(since)
		pr.Tags = append(pr.Tags, t)
	}
	return rows.Err()
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
