package ingest

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/loadgen"
)

// BenchmarkTake measures the reader's whole per-record path: decode and
// validate, append to the Arrow columns, note the row's source position and
// the offset to commit. One op is one record (loadgen's realistic mix); a
// batch is cut every 50,000 rows.
func BenchmarkTake(b *testing.B) {
	const batchRows = 50_000
	g, err := loadgen.New(loadgen.Config{Seed: 1, Tenants: 2, StaffPerTenant: 20, ContactsPerTenant: 2000, Events: 100_000})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
	var recs []*kgo.Record
	var e event.Event
	for i := 0; g.Next(&e); i++ {
		recs = append(recs, &kgo.Record{Topic: "siyu.events", Partition: int32(i % 6), Offset: int64(i / 6),
			Timestamp: now, Key: []byte(e.Key()), Value: event.AppendJSON(nil, &e)})
	}
	p := &Pipeline{cfg: DefaultConfig(), builder: NewBuilder(nil), metrics: NewMetrics(nil), open: newBatch(0)}
	defer p.builder.Release()
	p.dec = event.NewDecoder(func() time.Time { return p.recordTime })

	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p.take(recs[i])
		if p.open.records == batchRows {
			if len(p.open.dead) > 0 {
				b.Fatalf("%d invalid records", len(p.open.dead))
			}
			p.builder.NewRecord().Release()
			p.open = newBatch(cap(p.open.sources))
		}
		if i++; i == len(recs) {
			i = 0
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
