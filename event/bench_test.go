package event_test

import (
	"testing"

	"github.com/siyu-dev/siyu/event"
)

// benchEvents are the two shapes that dominate a real stream: messages
// (most of it) and new contacts (the widest v1 event with Chinese text).
var benchEvents = []struct{ name, json string }{
	{"chat.message", `{"specversion":"1.0","id":"t0001-00a3f9k2","source":"wecom/ww1436e0e65a779aee","type":"chat.message","time":"2026-11-21T09:34:12.123+08:00","tenant":"t0001","subject":"wmqPdRCQAAbcd1234efgh5678ijkl","data":{"staff_id":"s0017","direction":"in","msg_type":"text","chars":42}}`},
	{"contact.added", `{"specversion":"1.0","id":"t0001-00a3f9k3","source":"wecom/ww1436e0e65a779aee","type":"contact.added","time":"2026-11-21T09:30:00+08:00","tenant":"t0001","subject":"wmqPdRCQAAbcd1234efgh5678ijkl","data":{"staff_id":"s0017","name":"王小明","unionid":"oAbcDEF123456789ghijkl","add_way":16,"state":"spring-fair-2026","corp_name":"上海星辰信息科技有限公司","gender":1}}`},
}

func BenchmarkDecode(b *testing.B) {
	for _, be := range benchEvents {
		b.Run(be.name, func(b *testing.B) {
			in := []byte(be.json)
			dec := newDecoder()
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := dec.Decode(in); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	for _, be := range benchEvents {
		b.Run(be.name, func(b *testing.B) {
			ev, err := newDecoder().Decode([]byte(be.json))
			if err != nil {
				b.Fatal(err)
			}
			e := ev.Clone()
			buf := event.AppendJSON(nil, &e)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				buf = event.AppendJSON(buf[:0], &e)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
