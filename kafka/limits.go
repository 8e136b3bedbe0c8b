package kafka

import "github.com/twmb/franz-go/pkg/kgo"

// MaxBatchBytes is the largest record batch a broker accepts by default
// (Kafka's message.max.bytes, 1,048,588 bytes; kfake uses the same). Every
// Siyu producer sets kgo.ProducerBatchMaxBytes to it: franz-go's own default
// (1,000,012) is smaller, so a record between the two fits the broker but
// not the client, and a producer that retries such a record retries forever.
const MaxBatchBytes = 1_048_588

// batchOverhead is a record batch's header (v2: 61 bytes) plus the most a
// record's own varint fields can take (length, attributes, timestamp and
// offset deltas, key and value lengths, header count: 7 varints ≤ 5 bytes
// each but the timestamp delta, ≤ 10), rounded up.
const batchOverhead = 61 + 48

// RecordBytes is an upper bound of the bytes r takes alone in a record batch
// on the wire (uncompressed).
func RecordBytes(r *kgo.Record) int {
	n := batchOverhead + len(r.Key) + len(r.Value)
	for _, h := range r.Headers {
		n += 10 + len(h.Key) + len(h.Value)
	}
	return n
}

// RecordFits reports whether r can be produced alone under MaxBatchBytes.
func RecordFits(r *kgo.Record) bool { return RecordBytes(r) <= MaxBatchBytes }
