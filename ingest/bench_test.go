package ingest_test

import (
	"testing"

	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/ingest"
	"github.com/siyu-dev/siyu/loadgen"
)

// BenchmarkDecodeAndBuild measures the pipeline's hot path without I/O:
// Kafka record values (loadgen's realistic mix) decoded, validated and
// appended to Arrow columns, a record cut every 50,000 events. One op is
// one event.
func BenchmarkDecodeAndBuild(b *testing.B) {
	const recordRows = 50_000
	records := generate(b, loadgen.Config{Seed: 1, Tenants: 2, StaffPerTenant: 20, ContactsPerTenant: 2000, Events: 100_000})
	total := 0
	for _, r := range records {
		total += len(r)
	}
	dec := newDecoder()
	builder := ingest.NewBuilder(memory.NewGoAllocator())
	defer builder.Release()

	b.SetBytes(int64(total / len(records)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ev, err := dec.Decode(records[i])
		if err != nil {
			b.Fatal(err)
		}
		builder.Append(ev)
		if builder.Len() == recordRows {
			builder.NewRecord().Release()
		}
		if i++; i == len(records) {
			i = 0
		}
	}
	builder.NewRecord().Release()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkBuild isolates the Arrow side of the hot path.
func BenchmarkBuild(b *testing.B) {
	const recordRows = 50_000
	records := generate(b, loadgen.Config{Seed: 1, Tenants: 2, StaffPerTenant: 20, ContactsPerTenant: 2000, Events: 10_000})
	dec := newDecoder()
	evs := make([]event.Event, len(records))
	for i, r := range records {
		ev, err := dec.Decode(r)
		if err != nil {
			b.Fatal(err)
		}
		evs[i] = ev.Clone()
	}
	builder := ingest.NewBuilder(memory.NewGoAllocator())
	defer builder.Release()

	b.ReportAllocs()
	i := 0
	for b.Loop() {
		builder.Append(&evs[i])
		if builder.Len() == recordRows {
			builder.NewRecord().Release()
		}
		if i++; i == len(evs) {
			i = 0
		}
	}
	builder.NewRecord().Release()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
