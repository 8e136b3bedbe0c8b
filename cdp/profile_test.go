package cdp_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/cdp"
	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/internal/reference"
	"github.com/siyu-dev/siyu/internal/reporting"
	"github.com/siyu-dev/siyu/internal/testenv"
	"github.com/siyu-dev/siyu/loadgen"
)

// TestProfilesMergedExact is the profile and identity property: a loadgen
// stream plus hand-made identity cases, shuffled with 20% duplicates and
// ingested by the real pipeline, reads back — by every id of every customer
// (contact ids, unionids, phones) — exactly the merged profile a brute-force
// fold in Go gives (internal/reference: label propagation for identity, the
// union of the person's events for the profile).
func TestProfilesMergedExact(t *testing.T) {
	if testing.Short() {
		t.Skip("needs ClickHouse and the pipeline")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	now := loadgen.DefaultEnd.Add(-5 * 24 * time.Hour)
	events := identityEvents(t, now)
	conn := ingestAll(t, ctx, shuffledWithDuplicates(events, 0.2, 17))
	profiles := cdp.NewProfiles(conn, nil).WithClock(func() time.Time { return now })
	// The same profiles answered from memory.
	mem := cdp.NewMemory(conn, nil, nil, testenv.Logger())
	mem.SetClock(func() time.Time { return now })
	for _, tenant := range []string{"t0001", "t0002"} {
		require.NoError(t, mem.LoadNow(ctx, tenant))
	}
	memProfiles := cdp.NewProfiles(conn, mem).WithClock(func() time.Time { return now })
	zone, err := time.LoadLocation(reporting.ZoneName)
	require.NoError(t, err)

	links := reference.IdentityLinks(events)
	checked, merged := 0, 0
	for _, tenant := range []string{"t0001", "t0002"} {
		persons := reference.Persons(links[tenant])
		for _, id := range idsOf(events, tenant, persons) {
			canonical, ids := id, []string{id}
			if p, ok := persons[id]; ok {
				canonical, ids = p[0], p[1:]
			}
			want := reference.Customer(events, tenant, ids, now, zone)
			pr, err := profiles.Get(ctx, tenant, id)
			memPr, memErr := memProfiles.Get(ctx, tenant, id)
			if want == "" {
				require.True(t, errors.Is(err, cdp.ErrNotFound), "%s/%s: want not found, got %v", tenant, id, err)
				require.True(t, errors.Is(memErr, cdp.ErrNotFound), "%s/%s: want not found from memory, got %v", tenant, id, memErr)
				continue
			}
			require.NoError(t, err, "%s/%s", tenant, id)
			require.NoError(t, memErr, "%s/%s from memory", tenant, id)
			require.Equal(t, pr, memPr, "%s/%s: memory vs ClickHouse", tenant, id)
			require.Equal(t, canonical, pr.ID, "%s/%s", tenant, id)
			require.Equal(t, want, customerLine(pr), "%s/%s", tenant, id)
			checked++
			if len(ids) > 2 {
				merged++
			}
		}
	}
	require.Greater(t, checked, 300)
	require.Greater(t, merged, 5, "the hand-made merges must be exercised")
	// A phone as people write it finds the person its identifier joins.
	for _, asked := range []string{"+86 137 0000 0002", "13700000002", "x_p2"} {
		for _, p := range []*cdp.Profiles{profiles, memProfiles} {
			pr, err := p.Get(ctx, "t0001", asked)
			require.NoError(t, err, asked)
			require.Equal(t, []string{"13700000002", "x_p1", "x_p2"}, pr.IDs, asked)
			require.Equal(t, "x_p1", pr.ID, asked)
		}
	}
	_, err = profiles.Get(ctx, "t0001", "+86 110")
	require.ErrorIs(t, err, cdp.ErrNotFound, "a short number is no identifier")
	for id, want := range map[string]bool{"x_lost": true, "x_dropped": false, "x_moved": true, "x_a": false} {
		pr, err := profiles.Get(ctx, "t0001", id)
		require.NoError(t, err)
		require.Equal(t, want, pr.Lost, id)
	}
	t.Logf("%d profile reads equal the reference, %d of them of persons with 3+ ids", checked, merged)
}

// idsOf lists every id worth reading in tenant: event subjects and linked ids.
func idsOf(events []event.Event, tenant string, persons map[string][]string) []string {
	seen := map[string]bool{}
	for i := range events {
		if events[i].Tenant == tenant && events[i].Type != event.TagDefined {
			seen[events[i].Subject] = true
		}
	}
	for id := range persons {
		seen[id] = true
	}
	out := make([]string, 0, len(seen))
	for id := range seen {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// customerLine renders a profile in reference.Customer's format.
func customerLine(pr *cdp.Profile) string {
	ns := func(t *time.Time) int64 {
		if t == nil {
			return 0
		}
		return t.UnixNano()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "ids=%s first=%d last=%d name=%q unionid=%q phone=%q gender=%d corp=%q\n", strings.Join(pr.IDs, ","),
		ns(pr.FirstEventAt), ns(pr.LastEventAt), pr.Name, pr.UnionID, pr.Phone, pr.Gender, pr.CorpName)
	a := pr.Acquisition
	fmt.Fprintf(&b, "acq=%d/%q/%q/%d\n", a.AddWay, a.Channel, a.AddedBy, ns(a.AddedAt))
	for _, r := range pr.Relations {
		fmt.Fprintf(&b, "rel=%s/%s/%d/%d\n", r.ContactID, r.StaffID, ns(r.Since), ns(r.FirstAddedAt))
	}
	fmt.Fprintf(&b, "live=%d lost=%t\n", pr.LiveRelations, pr.Lost)
	c := pr.Chat
	fmt.Fprintf(&b, "chat=%d/%d 7d=%d/%d 30d=%d/%d last=%d/%d engagement=%s\n", c.MessagesIn, c.MessagesOut,
		c.MessagesIn7d, c.MessagesOut7d, c.MessagesIn30d, c.MessagesOut30d, ns(c.LastInboundAt), ns(c.LastOutboundAt),
		pr.Engagement)
	for _, tg := range pr.Tags {
		fmt.Fprintf(&b, "tag=%s/%q/%d\n", tg.TagID, tg.Group, ns(tg.Since))
	}
	fmt.Fprintf(&b, "stage=%q followup=%d/%d/%d\n", pr.Stage, ns(pr.Followup.LastAt), ns(pr.Followup.NextAt), pr.Followup.Count)
	return b.String()
}

func shuffledWithDuplicates(events []event.Event, share float64, seed uint64) []event.Event {
	r := rand.New(rand.NewPCG(seed, seed))
	out := append([]event.Event(nil), events...)
	for range int(float64(len(events)) * share) {
		out = append(out, events[r.IntN(len(events))])
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// identityEvents is a small loadgen stream (whose contacts carry their own
// unionids and phones) plus persons made of several ids: two contacts with
// one unionid, a mini-program subject that is that unionid and carries a
// phone, a third contact with that phone, a phone on 25 contacts (a hub,
// ignored), empty identifiers, and chats, tags and relations spread over
// the merged ids and over the 7/30-day windows.
func identityEvents(t *testing.T, now time.Time) []event.Event {
	cfg := loadgen.Config{Seed: 9, Tenants: 2, StaffPerTenant: 4, ContactsPerTenant: 80, Events: 4000, TagsPerTenant: 8}
	g, err := loadgen.New(cfg)
	require.NoError(t, err)
	var out []event.Event
	var e event.Event
	for g.Next(&e) {
		out = append(out, e.Clone())
	}
	seq := 0
	mk := func(typ event.Type, source, subject string, at time.Time, fill func(d *event.Data)) {
		seq++
		ev := event.Event{ID: fmt.Sprintf("id-%04d", seq), Source: source, Type: typ, Tenant: "t0001",
			Subject: subject, Time: at.UTC().Truncate(time.Millisecond)}
		fill(&ev.Data)
		out = append(out, ev)
	}
	wecom := "wecom/ww1"
	added := func(contact, staff, unionid string, at time.Time) {
		mk(event.ContactAdded, wecom, contact, at, func(d *event.Data) {
			d.Set(event.FStaffID, staff)
			d.Set(event.FUnionID, unionid)
			d.SetInt(event.FGender, int64(len(contact)%3))
			d.Set(event.FState, "ch-"+contact)
		})
	}
	phoned := func(source, subject, phone string, at time.Time) {
		mk(event.ContactUpdated, source, subject, at, func(d *event.Data) {
			d.Set(event.FStaffID, "s0001")
			d.Set(event.FPhone, phone)
		})
	}
	chat := func(contact, dir string, at time.Time) {
		mk(event.ChatMessage, wecom, contact, at, func(d *event.Data) {
			d.Set(event.FStaffID, "s0001")
			d.Set(event.FDirection, dir)
		})
	}
	day := 24 * time.Hour
	added("x_b", "s0001", "o_shared", now.Add(-50*day))
	added("x_a", "s0002", "o_shared", now.Add(-40*day))
	phoned("miniprogram/shop", "o_shared", "13900000001", now.Add(-30*day))
	phoned(wecom, "x_c", "+86 139-0000-0001", now.Add(-20*day)) // the same phone as people write it
	// Phones merge as identifiers once normalised; a too-short one never merges.
	added("x_p1", "s0001", "", now.Add(-20*day))
	added("x_p2", "s0002", "", now.Add(-19*day))
	phoned(wecom, "x_p1", "0086 13700000002", now.Add(-18*day))
	phoned(wecom, "x_p2", "(137) 0000-0002", now.Add(-17*day))
	phoned(wecom, "x_p1", "110", now.Add(-16*day))
	phoned(wecom, "x_b", "110", now.Add(-15*day))
	mk(event.ContactRemoved, wecom, "x_b", now.Add(-3*day), func(d *event.Data) {
		d.Set(event.FStaffID, "s0001")
		d.Set(event.FBy, "customer")
	})
	for i, at := range []time.Duration{1, 2, 6, 8, 12, 29, 31, 45} {
		contact := []string{"x_a", "x_b", "x_c", "o_shared"}[i%4]
		chat(contact, []string{"in", "out"}[i%2], now.Add(-at*day))
	}
	mk(event.TagAdded, wecom, "x_a", now.Add(-9*day), func(d *event.Data) { d.Set(event.FTagID, "tag-x") })
	mk(event.TagAdded, wecom, "x_c", now.Add(-8*day), func(d *event.Data) { d.Set(event.FTagID, "tag-x") })
	mk(event.TagAdded, wecom, "x_b", now.Add(-7*day), func(d *event.Data) { d.Set(event.FTagID, "tag-y") })
	mk(event.FollowupLogged, wecom, "x_c", now.Add(-2*day), func(d *event.Data) { d.Set(event.FStaffID, "s0001") })
	// A lost customer of two ids: both relations ended by the customer.
	added("x_lost", "s0003", "o_lost", now.Add(-60*day))
	added("x_lost2", "s0004", "o_lost", now.Add(-61*day))
	for _, c := range []string{"x_lost", "x_lost2"} {
		mk(event.ContactRemoved, wecom, c, now.Add(-10*day), func(d *event.Data) {
			d.Set(event.FStaffID, map[string]string{"x_lost": "s0003", "x_lost2": "s0004"}[c])
			d.Set(event.FBy, "customer")
		})
	}
	// Not lost: the rep deleted the customer; lost: a transfer, then the
	// customer deleted the new rep.
	added("x_dropped", "s0003", "", now.Add(-60*day))
	mk(event.ContactRemoved, wecom, "x_dropped", now.Add(-9*day), func(d *event.Data) {
		d.Set(event.FStaffID, "s0003")
		d.Set(event.FBy, "staff")
	})
	added("x_moved", "s0003", "", now.Add(-60*day))
	mk(event.ContactTransferred, wecom, "x_moved", now.Add(-20*day), func(d *event.Data) {
		d.Set(event.FFromStaffID, "s0003")
		d.Set(event.FToStaffID, "s0004")
	})
	mk(event.ContactRemoved, wecom, "x_moved", now.Add(-9*day), func(d *event.Data) {
		d.Set(event.FStaffID, "s0004")
		d.Set(event.FBy, "customer")
	})
	// A hub: one phone on 25 contacts merges none of them.
	for i := range 25 {
		c := fmt.Sprintf("x_hub%02d", i)
		added(c, "s0001", "", now.Add(-time.Duration(i)*time.Hour))
		phoned(wecom, c, "4000000000", now.Add(-time.Duration(i)*time.Minute))
	}
	return out
}
