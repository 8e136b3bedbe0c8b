package followup

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/readmodel"
)

// benchFacts are the snapshot facts of n customers as the board bench
// seeds them: an add (adder, name, relation), a follow-up with a next time,
// and the last event rows.
func benchFacts(n int) []fact {
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	out := make([]fact, 0, 4*n)
	for i := range n {
		id := fmt.Sprintf("c%07d", i)
		staff := fmt.Sprintf("r%03d", i%499)
		add := EventKey{TimeNs: at, ID: "add-" + id, Source: "bench"}
		fu := EventKey{TimeNs: at + int64(time.Hour), ID: "fu-" + id, Source: "bench"}
		out = append(out,
			fact{contact: id, kind: factAdded, key: add, staff: staff, lastNs: at},
			fact{contact: id, kind: factFollowup, key: fu, nextNs: at + int64(i*7919%(30*24*60))*int64(time.Minute), lastNs: fu.TimeNs},
			fact{contact: id, key: EventKey{}, lastNs: fu.TimeNs},
			fact{contact: id, key: EventKey{TimeNs: at, ID: "add-" + id, Source: "bench"}, relations: []relationFact{{staff: staff, live: true}}},
			fact{contact: id, key: EventKey{TimeNs: at, ID: "add-" + id, Source: "bench"}, named: true, name: "Customer " + id, lastNs: at})
	}
	return out
}

// BenchmarkMemBoardLoad: joining the snapshot facts of customers into a
// memory board; reports the live heap per customer.
func BenchmarkMemBoardLoad(b *testing.B) {
	const n = 100_000
	var heap float64
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		facts := benchFacts(n)
		b.StartTimer()
		mb := newMemBoard()
		for _, f := range facts {
			mb.apply(f)
		}
		mb.shelveAll()
		b.StopTimer()
		facts = nil
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		heap = float64(after.HeapAlloc) - float64(base.HeapAlloc)
		runtime.KeepAlive(mb)
		b.StartTimer()
	}
	b.ReportMetric(heap/n, "heap-B/customer")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/customer")
}

// BenchmarkMemBoardPage: the first page of 50 of a rep holding 20,000 of
// a tenant's 1,000,000 customers (the board figure), from memory.
func BenchmarkMemBoardPage(b *testing.B) {
	mb := newMemBoard()
	for _, f := range benchFacts(200_000) {
		if f.kind == factAdded && f.contact[len(f.contact)-1]%10 == 0 {
			f.staff = "big" // 20,000 of 200,000
		}
		mb.apply(f)
	}
	mb.shelveAll()
	q := BoardQuery{StaffID: "big", View: ViewAll, Now: time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)}
	for b.Loop() {
		if rows := mb.page(q, boardCursor{Key: -1 << 63}, 51); len(rows) != 51 {
			b.Fatalf("%d rows", len(rows))
		}
	}
}

// TestMemBoardBytes: a memory board's estimate of its bytes
// (siyu_readmodel_bytes{model="boards"}) is within 25 % of the live heap a
// loaded board of 50,000 customers holds.
func TestMemBoardBytes(t *testing.T) {
	var mb *memBoard
	grown := readmodel.HeapGrowth(func() {
		mb = newMemBoard()
		for _, f := range benchFacts(50_000) {
			mb.apply(f)
		}
		mb.shelveAll()
	})
	est := mb.bytes()
	t.Logf("estimate %d B, heap growth %d B (%.2f)", est, grown, float64(est)/float64(grown))
	require.InDelta(t, 1, float64(est)/float64(grown), 0.25)
}
