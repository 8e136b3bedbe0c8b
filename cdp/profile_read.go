package cdp

import (
	"context"
	"errors"
	"fmt"
	"github.com/siyu-dev/siyu/internal/reporting"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	siyusql "github.com/siyu-dev/siyu/sql"
)

// qProfileRead reads every part of a profile in one query: one parse, plan
// and set of threads in ClickHouse per read instead of six, and each table
// read once (sql/queries/profile_read.sql; docs/decisions.md, P13).
var qProfileRead = siyusql.Query("profile_read")

// The parts of profile_read, each a row layout over s (strings) and n (ints).
const (
	partScalars     = 1 // s: name, unionid, corp, stage; n: first, last, in, out, last in, last out, last fu, next fu
	partRelation    = 2 // s: contact, staff, last id, last source, ended by; n: live, since, first added
	partTagOn       = 3 // s: tag id; n: since
	partAcquisition = 4 // s: channel, added by; n: add way, added at
	partDayFacts    = 5 // s: phone; n: follow-ups, gender, in 7d, out 7d, in 30d, out 30d
	partTagLibrary  = 6 // s: tag id, name, group; n: deleted
)

// profileRow is one row of profile_read.
type profileRow struct {
	part uint8
	s    [5]string
	n    [8]int64
}

// Get returns the profile of the customer known by id (any of their ids) in
// tenant, or ErrNotFound: the identity walk (usually one query), then one
// query for the whole profile; for a tenant in memory (the Memory given to
// NewProfiles) both in memory, unless several of the person's ids have facts.
func (p *Profiles) Get(ctx context.Context, tenant, id string) (*Profile, error) {
	pr, err := p.get(ctx, tenant, id)
	if alt := phoneLookup(id); alt != "" && errors.Is(err, ErrNotFound) {
		return p.get(ctx, tenant, alt) // a phone as people write it: its identifier
	}
	return pr, err
}

func (p *Profiles) get(ctx context.Context, tenant, id string) (*Profile, error) {
	now := p.now()
	if t := p.mem.view(ctx, tenant); t != nil {
		t.mu.RLock()
		person := t.resolve(id)
		rows, ok := t.profileRows(person, now)
		t.mu.RUnlock()
		if !ok { // several ids with facts: their states merge in ClickHouse
			var err error
			if rows, err = p.readProfileRows(ctx, tenant, person.IDs, now); err != nil {
				return nil, err
			}
		}
		return assembleProfile(tenant, person, rows, now)
	}
	person, err := p.Resolve(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	rows, err := p.readProfileRows(ctx, tenant, person.IDs, now)
	if err != nil {
		return nil, err
	}
	return assembleProfile(tenant, person, rows, now)
}

func (p *Profiles) readProfileRows(ctx context.Context, tenant string, ids []string, now time.Time) ([]profileRow, error) {
	today := now.In(reporting.Zone)
	day := func(back int) string { return today.AddDate(0, 0, -back).Format(time.DateOnly) }
	rows, err := p.conn.Query(ctx, qProfileRead, clickhouse.Named("tenant", tenant), clickhouse.Named("ids", ids),
		clickhouse.Named("d7", day(6)), clickhouse.Named("d30", day(29)), clickhouse.Named("today", day(0)))
	if err != nil {
		return nil, fmt.Errorf("read profile: %w", err)
	}
	defer rows.Close()
	var out []profileRow
	for rows.Next() {
		var r profileRow
		if err := rows.Scan(&r.part, &r.s[0], &r.s[1], &r.s[2], &r.s[3], &r.s[4],
			&r.n[0], &r.n[1], &r.n[2], &r.n[3], &r.n[4], &r.n[5], &r.n[6], &r.n[7]); err != nil {
			return nil, fmt.Errorf("read profile: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read profile: %w", err)
	}
	return out, nil
}

// assembleProfile builds the profile of person from the rows of
// profile_read, in any order (UNION ALL has none): ErrNotFound without a
// scalars row; relations by (staff, contact) and tags by id, as before.
func assembleProfile(tenant string, person *Person, rows []profileRow, now time.Time) (*Profile, error) {
	pr := &Profile{Tenant: tenant, ID: person.ID, IDs: person.IDs, ContactID: person.ID,
		Relations: []Relation{}, Tags: []TagOn{}}
	found := false
	var lastIn int64
	var rels []profileRow
	library := map[string]profileRow{}
	for _, r := range rows {
		switch r.part {
		case partScalars:
			found, lastIn = true, r.n[4]
			setScalars(pr, r)
		case partRelation:
			rels = append(rels, r)
		case partTagOn:
			pr.Tags = append(pr.Tags, TagOn{TagID: r.s[0], Since: nsTime(r.n[0])})
		case partTagLibrary:
			library[r.s[0]] = r
		case partAcquisition:
			pr.Acquisition = Acquisition{AddWay: r.n[0], Channel: r.s[0], AddedBy: r.s[1], AddedAt: nsTime(r.n[1])}
		case partDayFacts:
			pr.Followup.Count, pr.Gender, pr.Phone = uint64(r.n[0]), r.n[1], r.s[0]
			c := &pr.Chat
			c.MessagesIn7d, c.MessagesOut7d = uint64(r.n[2]), uint64(r.n[3])
			c.MessagesIn30d, c.MessagesOut30d = uint64(r.n[4]), uint64(r.n[5])
		default:
			return nil, fmt.Errorf("read profile: unknown part %d", r.part)
		}
	}
	if !found {
		return nil, ErrNotFound
	}
	slices.SortFunc(rels, func(a, b profileRow) int {
		if c := strings.Compare(a.s[1], b.s[1]); c != 0 {
			return c
		}
		return strings.Compare(a.s[0], b.s[0])
	})
	var f relationFold
	for _, r := range rels {
		f.add(Relation{ContactID: r.s[0], StaffID: r.s[1]}, r.n[0] == 1, r.n[1], r.n[2],
			relationEnd{id: r.s[2], source: r.s[3], by: r.s[4]})
	}
	f.finish(pr)
	pr.Tags = nameTags(pr.Tags, library)
	pr.Engagement = EngagementOf(lastIn, now)
	return pr, nil
}

// nameTags names the tags from the library rows and sorts them by id. A
// tag the library marks deleted is not on anyone (WeCom removes it from its
// customers); one the library does not know yet keeps an empty name.
func nameTags(tags []TagOn, library map[string]profileRow) []TagOn {
	out := tags[:0]
	for _, t := range tags {
		lib, known := library[t.TagID]
		if known && lib.n[0] == 1 {
			continue
		}
		t.Name, t.Group = lib.s[1], lib.s[2]
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b TagOn) int { return strings.Compare(a.TagID, b.TagID) })
	return out
}

func setScalars(pr *Profile, r profileRow) {
	pr.Name, pr.UnionID, pr.CorpName, pr.Stage = r.s[0], r.s[1], r.s[2], r.s[3]
	pr.FirstEventAt, pr.LastEventAt = nsTime(r.n[0]), nsTime(r.n[1])
	pr.Chat.MessagesIn, pr.Chat.MessagesOut = uint64(r.n[2]), uint64(r.n[3])
	pr.Chat.LastInboundAt, pr.Chat.LastOutboundAt = nsTime(r.n[4]), nsTime(r.n[5])
	pr.Followup.LastAt, pr.Followup.NextAt = nsTime(r.n[6]), nsTime(r.n[7])
}
