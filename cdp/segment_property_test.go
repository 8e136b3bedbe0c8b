package cdp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/cdp"
	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/ingest"
	"github.com/siyu-dev/siyu/internal/reference"
	"github.com/siyu-dev/siyu/internal/testenv"
	"github.com/siyu-dev/siyu/kafka"
	"github.com/siyu-dev/siyu/loadgen"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// evilName is a customer name that would end the string literal if it were
// pasted into SQL: as a bound value it matches that one customer only.
const evilName = "x' OR 1=1 --"

// TestSegmentsExact is the exactness property: for random segment
// definitions over a random event set ingested by the real pipeline into
// ClickHouse 18.16, the count and the full member list equal a brute-force
// evaluation in Go over profiles folded by internal/reference.
func TestSegmentsExact(t *testing.T) {
	if testing.Short() {
		t.Skip("needs ClickHouse and the pipeline")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	events := segmentEvents(t)
	contacts := reference.Contacts(events)
	v := newVocab(contacts)
	saved := savedSegmentEvents(t, v)
	conn := ingestAll(t, ctx, append(events, saved.events...))
	now := loadgen.DefaultEnd.Add(-5 * 24 * time.Hour)
	segs := cdp.NewSegments(conn, nil)
	// The same segments answered from memory (loaded from ClickHouse).
	mem := cdp.NewMemory(conn, nil, nil, testenv.Logger())
	for _, tenant := range v.tenants {
		require.NoError(t, mem.LoadNow(ctx, tenant))
	}
	memSegs := cdp.NewSegments(conn, mem)
	r := rand.New(rand.NewPCG(7, 11))

	check := func(t *testing.T, tenant string, g *gcond) {
		seg, def := g.segment(t)
		want := g.members(contacts, tenant, now)
		n, err := segs.Count(ctx, tenant, seg, now)
		require.NoError(t, err, "%s", def)
		page, err := segs.Page(ctx, tenant, seg, now, "", cdp.MaxSegmentPage)
		require.NoError(t, err, "%s", def)
		got := make([]string, len(page))
		for i, m := range page {
			got[i] = m.ContactID
		}
		require.Equal(t, uint64(len(want)), n, "count of %s in %s", def, tenant)
		require.Equal(t, strings.Join(want, " "), strings.Join(got, " "), "members of %s in %s", def, tenant)

		n, err = memSegs.Count(ctx, tenant, seg, now)
		require.NoError(t, err)
		require.Equal(t, uint64(len(want)), n, "memory count of %s in %s", def, tenant)
		memPage, err := memSegs.Page(ctx, tenant, seg, now, "", cdp.MaxSegmentPage)
		require.NoError(t, err)
		require.Equal(t, sortedMembers(page), memPage, "memory members of %s in %s", def, tenant)
	}

	nonEmpty := 0
	for i := range 200 {
		tenant := v.tenants[i%len(v.tenants)]
		g := v.cond(r, tenant, 0)
		check(t, tenant, g)
		for _, c := range contacts {
			if c.Tenant == tenant && g.eval(c, now) {
				nonEmpty++
				break
			}
		}
	}
	require.Greater(t, nonEmpty, 60, "the random segments should mostly select someone")

	t.Run("the group of no group", func(t *testing.T) {
		// Tags of the library without a group and tags it does not know.
		for _, tenant := range v.tenants {
			check(t, tenant, &gcond{kind: "group", strs: []string{""}})
			check(t, tenant, &gcond{kind: "not", kids: []*gcond{{kind: "group", strs: []string{""}}}})
		}
	})

	t.Run("an injection string is a value", func(t *testing.T) {
		g := &gcond{kind: "field", field: "name", op: "=", sval: evilName}
		check(t, "t0001", g)
		seg, err := cdp.ParseSegment([]byte(`{"field":"name","op":"=","value":"x' OR 1=1 --"}`))
		require.NoError(t, err)
		n, err := segs.Count(ctx, "t0001", seg, now)
		require.NoError(t, err)
		require.Equal(t, uint64(1), n)
	})

	t.Run("saved segments page to the brute-force members", func(t *testing.T) {
		store := cdp.NewSavedSegments(conn)
		pr := rand.New(rand.NewPCG(3, 5))
		for _, sv := range saved.segments {
			want := sv.cond.members(contacts, sv.tenant, now)
			got, err := store.Get(ctx, sv.tenant, sv.id)
			require.NoError(t, err)
			seg, err := got.Parse()
			require.NoError(t, err, "%s", got.Definition)
			limit := 1 + pr.IntN(40)
			var paged []string
			after := ""
			for {
				p, err := segs.Page(ctx, sv.tenant, seg, now, after, limit)
				require.NoError(t, err)
				for _, m := range p {
					paged = append(paged, m.ContactID)
				}
				if len(p) < limit {
					break
				}
				after = p[len(p)-1].ContactID
			}
			var streamed []string
			require.NoError(t, segs.Each(ctx, sv.tenant, seg, now, "", func(m *cdp.SegmentMember) error {
				streamed = append(streamed, m.ContactID)
				return nil
			}))
			require.Equal(t, strings.Join(want, " "), strings.Join(paged, " "), "pages of %d of %s in %s", limit, got.Definition, sv.tenant)
			require.Equal(t, strings.Join(want, " "), strings.Join(streamed, " "), "stream of %s in %s", got.Definition, sv.tenant)
		}
		// A deleted segment is gone; the others are listed once each.
		_, err := store.Get(ctx, "t0001", saved.deleted)
		require.ErrorIs(t, err, cdp.ErrSegmentNotFound)
		for _, tenant := range v.tenants {
			list, err := store.List(ctx, tenant)
			require.NoError(t, err)
			n := 0
			for _, sv := range saved.segments {
				if sv.tenant == tenant {
					n++
				}
			}
			require.Len(t, list, n, "segments of %s", tenant)
		}
	})

	t.Run("keyset pages concatenate to the whole", func(t *testing.T) {
		seg, err := cdp.ParseSegment([]byte(`{"lost":false}`))
		require.NoError(t, err)
		all, err := segs.Page(ctx, "t0001", seg, now, "", cdp.MaxSegmentPage)
		require.NoError(t, err)
		var paged []cdp.SegmentMember
		after := ""
		for {
			p, err := segs.Page(ctx, "t0001", seg, now, after, 7)
			require.NoError(t, err)
			if len(p) == 0 {
				break
			}
			paged = append(paged, p...)
			after = p[len(p)-1].ContactID
		}
		require.Equal(t, len(all), len(paged))
		for i := range all {
			require.Equal(t, all[i].ContactID, paged[i].ContactID)
		}
	})
}

// savedSegment is a random definition saved as segment.saved events.
type savedSegment struct {
	tenant, id string
	cond       *gcond
}

type savedSet struct {
	segments []savedSegment
	deleted  string // a segment id of t0001 whose latest event deletes it
	events   []event.Event
}

// savedSegmentEvents saves random segments: each with an older definition
// that the latest must win over, the latest redelivered, and the events
// shuffled; plus one segment saved and then deleted.
func savedSegmentEvents(t *testing.T, v *vocab) savedSet {
	r := rand.New(rand.NewPCG(13, 17))
	base := loadgen.DefaultEnd.Add(-3 * 24 * time.Hour)
	var out savedSet
	saveEv := func(tenant, id, suffix string, g *gcond, at time.Time, deleted bool) event.Event {
		def, err := json.Marshal(g.json())
		require.NoError(t, err)
		ev := event.Event{ID: id + "-" + suffix, Source: "segment-test", Type: event.SegmentSaved, Tenant: tenant,
			Subject: id, Time: at.UTC()}
		ev.Data.Set(event.FName, "segment "+id)
		ev.Data.Set(event.FNote, string(def))
		if deleted {
			ev.Data.SetBool(event.FDeleted, true)
		}
		return ev
	}
	for i := range 24 {
		tenant := v.tenants[i%len(v.tenants)]
		id := fmt.Sprintf("seg_%02d", i)
		g := v.cond(r, tenant, 0)
		at := base.Add(time.Duration(i) * time.Minute)
		latest := saveEv(tenant, id, "v2", g, at, false)
		out.events = append(out.events, saveEv(tenant, id, "v1", v.cond(r, tenant, 0), at.Add(-time.Hour), false), latest, latest)
		out.segments = append(out.segments, savedSegment{tenant: tenant, id: id, cond: g})
	}
	out.deleted = "seg_gone"
	g := &gcond{kind: "lost", flag: false}
	out.events = append(out.events, saveEv("t0001", out.deleted, "v1", g, base, false),
		saveEv("t0001", out.deleted, "v2", g, base.Add(time.Minute), true))
	r.Shuffle(len(out.events), func(i, j int) { out.events[i], out.events[j] = out.events[j], out.events[i] })
	return out
}

// segmentEvents is a small loadgen stream plus hand-made events for what
// loadgen does not produce: deleted and regrouped tags, a tag the library
// does not know, an earlier contact.added with a channel, and a hostile name.
func segmentEvents(t *testing.T) []event.Event {
	cfg := loadgen.Config{Seed: 5, Tenants: 2, StaffPerTenant: 4, ContactsPerTenant: 80, Events: 4000, TagsPerTenant: 12}
	g, err := loadgen.New(cfg)
	require.NoError(t, err)
	var out []event.Event
	var e event.Event
	var contacts, tagIDs []string
	for g.Next(&e) {
		out = append(out, e.Clone())
		if e.Tenant == "t0001" && e.Type == event.ContactAdded && len(contacts) < 12 {
			contacts = append(contacts, e.Subject)
		}
		if e.Tenant == "t0001" && e.Type == event.TagDefined {
			tagIDs = append(tagIDs, e.Subject)
		}
	}
	require.GreaterOrEqual(t, len(contacts), 12)
	base := loadgen.DefaultEnd.Add(-10 * 24 * time.Hour)
	seq := 0
	mk := func(typ event.Type, subject string, at time.Time, fill func(d *event.Data)) {
		seq++
		ev := event.Event{ID: fmt.Sprintf("seg-%04d", seq), Source: "segment-test", Type: typ, Tenant: "t0001",
			Subject: subject, Time: at.UTC()}
		fill(&ev.Data)
		out = append(out, ev)
	}
	tagDef := func(id, name, group string, deleted bool, at time.Time) {
		mk(event.TagDefined, id, at, func(d *event.Data) {
			d.Set(event.FName, name)
			if group != "" {
				d.Set(event.FGroup, group)
			}
			if deleted {
				d.SetBool(event.FDeleted, true)
			}
		})
	}
	tagAdd := func(contact, tag string, at time.Time) {
		mk(event.TagAdded, contact, at, func(d *event.Data) { d.Set(event.FTagID, tag) })
	}
	tagDef("seg-hy", "制造", "行业", false, base)
	tagDef("seg-gone", "旧", "行业", false, base)
	tagDef("seg-gone", "旧", "行业", true, base.Add(time.Hour))
	tagDef(tagIDs[0], "regrouped", "行业", false, base.Add(2*time.Hour))
	for i, c := range contacts {
		switch i % 3 {
		case 0:
			tagAdd(c, "seg-hy", base.Add(time.Duration(i)*time.Minute))
		case 1:
			tagAdd(c, "seg-gone", base.Add(time.Duration(i)*time.Minute))
		default:
			tagAdd(c, "seg-unknown", base.Add(time.Duration(i)*time.Minute))
		}
	}
	first := loadgen.DefaultEnd.Add(-400 * 24 * time.Hour)
	mk(event.ContactAdded, contacts[0], first, func(d *event.Data) {
		d.Set(event.FStaffID, "s0002")
		d.SetInt(event.FAddWay, 16)
		d.Set(event.FState, "seg-channel")
	})
	// Assignments: claims, hand-overs and releases to the pool, two of them
	// at the same time (the larger id wins), on contacts that have an adder.
	assign := func(contact, to string, at time.Time) {
		mk(event.AssigneeChanged, contact, at, func(d *event.Data) {
			d.Set(event.FReason, "assign")
			if to != "" { // no to_staff_id: the pool
				d.Set(event.FToStaffID, to)
			}
		})
	}
	for i, c := range contacts {
		at := base.Add(time.Duration(i) * time.Hour)
		switch i % 4 {
		case 0:
			assign(c, "s0003", at)
		case 1:
			assign(c, "s0004", at)
			assign(c, "", at.Add(time.Minute)) // released to the pool
		case 2:
			assign(c, "s0001", at)
			assign(c, "s0002", at) // same time: the later id, seg-NNNN, wins
		}
	}
	mk(event.ContactAdded, "seg-evil", base, func(d *event.Data) {
		d.Set(event.FStaffID, "s0001")
		d.Set(event.FName, evilName)
		d.Set(event.FState, "'; DROP TABLE events; --")
	})
	return out
}

// ingestAll produces events to a kfake topic, runs the real pipeline into a
// fresh database until every record is committed, and returns the database.
func ingestAll(t *testing.T, ctx context.Context, events []event.Event) driver.Conn {
	conn, _ := testenv.Database(t)
	_, broker := testenv.Kafka(t)
	cfg := ingest.DefaultConfig()
	cfg.Brokers, cfg.BatchMaxWait = []string{broker}, 50*time.Millisecond
	prod, err := kgo.NewClient(kafka.ProducerOpts(cfg.Brokers)...)
	require.NoError(t, err)
	defer prod.Close()
	require.NoError(t, kafka.EnsureTopics(ctx, prod, cfg.Topics))
	recs := make([]*kgo.Record, len(events))
	for i := range events {
		e := &events[i]
		recs[i] = &kgo.Record{Topic: cfg.Topics.Events, Key: []byte(e.Key()), Value: event.AppendJSON(nil, e)}
	}
	require.NoError(t, prod.ProduceSync(ctx, recs...).FirstErr())
	p, err := ingest.New(cfg, conn, nil, testenv.Logger())
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx) }()
	defer func() {
		stop()
		require.NoError(t, <-done)
		p.Close()
	}()
	adm := kadm.NewClient(prod)
	testenv.Eventually(t, 2*time.Minute, func() error {
		lags, err := adm.Lag(ctx, cfg.Group)
		if err != nil {
			return err
		}
		l := lags[cfg.Group]
		if err := l.Error(); err != nil {
			return err
		}
		if n := l.Lag.Total(); n != 0 || len(l.Lag) == 0 {
			return fmt.Errorf("%d records not committed", n)
		}
		return nil
	})
	dump, err := reference.DumpDB(ctx, conn)
	require.NoError(t, err)
	require.Empty(t, reference.Diff(reference.Profiles(events), dump), "the pipeline must fold every event")
	return conn
}

// sortedMembers are ms with their staff and tag ids sorted (ClickHouse
// gathers them in no particular order; memory sorts them).
func sortedMembers(ms []cdp.SegmentMember) []cdp.SegmentMember {
	for i := range ms {
		slices.Sort(ms[i].Staff)
		slices.Sort(ms[i].TagIDs)
	}
	return ms
}
