package cdp

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/readmodel"
)

// benchNow is the clock of the memory benchmarks.
var benchNow = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// benchTenant is a tenant in memory shaped like the bench's CDP tenant: n
// customers, 20 of 300 tags each (10 groups), 8 channels, a relation and
// a unionid each, chats over 30 days.
func benchTenant(b *testing.B, n int) *memTenant {
	if b != nil {
		b.Helper()
	}
	r := rand.New(rand.NewPCG(1, 2))
	channels := []string{"ad", "qr", "referral", "event", "search", "article", "mini_program", "import"}
	facts := &memFacts{links: map[string]idPeers{}}
	day := dayNumber(benchNow)
	for i := range n {
		id, union := fmt.Sprintf("wm%07d", i), fmt.Sprintf("o_%07d", i)
		f := &memFactRow{row: memRow{id: id, name: "n" + id, unionid: union, channel: channels[r.IntN(len(channels))],
			addedBy: fmt.Sprintf("s%03d", r.IntN(500)), firstNs: benchNow.Add(-30 * 24 * time.Hour).UnixNano(),
			lastInNs: benchNow.Add(-time.Duration(r.Int64N(int64(30 * 24 * time.Hour)))).UnixNano(),
			msgsIn:   uint64(r.IntN(50)), msgsOut: uint64(r.IntN(50))}}
		f.row.lastNs = f.row.lastInNs
		f.row.relations = []memRelation{{staff: f.row.addedBy, live: true, since: f.row.firstNs, first: f.row.firstNs}}
		for range 20 {
			f.tags = append(f.tags, fmt.Sprintf("tag%03d", 1+r.IntN(300)))
			f.row.tagSince = append(f.row.tagSince, f.row.firstNs)
		}
		for d := range 15 {
			f.row.days = append(f.row.days, memDay{day: day - uint16(2*d), in: 2, out: 1})
		}
		facts.rows = append(facts.rows, f)
		facts.links[id] = idPeers{asSubject: []string{union}}
		facts.links[union] = idPeers{asValue: []string{id}}
	}
	t := newMemTenant(nil)
	for k := 1; k <= 300; k++ {
		t.library[fmt.Sprintf("tag%03d", k)] = libTag{name: fmt.Sprintf("Tag %d", k), group: fmt.Sprintf("group%02d", 1+k%10)}
	}
	t.putAll(facts, nil)
	return t
}

// benchMillion is the 1,000,000-customer tenant the segment benchmarks
// share (built once: it takes seconds).
var benchMillion = sync.OnceValue(func() *memTenant { return benchTenant(nil, 1_000_000) })

// benchSegment is the bench's count figure: three tag conditions, a channel
// and a recency condition.
const benchSegment = `{"and": [
	{"tags": {"any": ["tag001", "tag002", "tag003"]}},
	{"not": {"tag": {"has": "tag004"}}},
	{"tag_group": {"has": "group01"}},
	{"field": "channel", "op": "in", "value": ["ad", "qr", "referral"]},
	{"field": "last_inbound_at", "op": "within", "value": "7d"}]}`

// BenchmarkMemorySegmentCount counts the bench's segment over 1,000,000
// customers in memory (the figure: p95 ≤ 150 ms).
func BenchmarkMemorySegmentCount(b *testing.B) { benchCount(b, (*memTenant).members) }

// BenchmarkMemorySegmentPage reads the first page of 100 members.
func BenchmarkMemorySegmentPage(b *testing.B) { benchPage(b, (*memTenant).members) }

// benchCount counts the bench's segment over 1,000,000 customers, its
// members evaluated by members.
func benchCount(b *testing.B, members func(*memTenant, *Segment, time.Time) bitset) {
	t, seg := benchMillion(), benchParsed(b)
	b.ResetTimer()
	var n uint64
	for range b.N {
		n = members(t, seg, benchNow).count()
	}
	b.ReportMetric(float64(n), "members")
}

// benchPage reads the first page of 100 of the bench segment's members,
// evaluated by members.
func benchPage(b *testing.B, members func(*memTenant, *Segment, time.Time) bitset) {
	t, seg := benchMillion(), benchParsed(b)
	b.ResetTimer()
	for range b.N {
		var page []SegmentMember
		t.next(members(t, seg, benchNow), "", 100, func(r *memRow) { page = append(page, t.member(r)) })
	}
}

func benchParsed(b *testing.B) *Segment {
	seg, err := ParseSegment([]byte(benchSegment))
	if err != nil {
		b.Fatal(err)
	}
	return seg
}

// BenchmarkMemoryProfile reads a profile by a random unionid: the identity
// walk, the rows and their assembly (the figure: p99 ≤ 20 ms).
func BenchmarkMemoryProfile(b *testing.B) {
	const n = 200_000
	t := benchTenant(b, n)
	r := rand.New(rand.NewPCG(3, 4))
	b.ResetTimer()
	for range b.N {
		person := t.resolve(fmt.Sprintf("o_%07d", r.IntN(n)))
		rows, ok := t.profileRows(person, benchNow)
		if !ok {
			b.Fatal("one customer per person here")
		}
		if _, err := assembleProfile("t", person, rows, benchNow); err != nil {
			b.Fatal(err)
		}
	}
}

// TestMemTenantBytes: a memory tenant's estimate of its bytes
// (siyu_readmodel_bytes{model="cdp"}) is within 25 % of the live heap a
// tenant of 50,000 customers shaped like the bench's holds.
func TestMemTenantBytes(t *testing.T) {
	var mt *memTenant
	grown := readmodel.HeapGrowth(func() { mt = benchTenant(nil, 50_000) })
	est := mt.bytes()
	t.Logf("estimate %d B, heap growth %d B (%.2f)", est, grown, float64(est)/float64(grown))
	require.InDelta(t, 1, float64(est)/float64(grown), 0.25)
}
