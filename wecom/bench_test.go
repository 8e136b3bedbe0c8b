package wecom_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/wecom"
)

// BenchmarkReceive is the receiver's CPU per callback without I/O: verify,
// decrypt, parse, map, encode and validate (the producer keeps nothing).
func BenchmarkReceive(b *testing.B) {
	acme := newTestApp(b, "acme", "wwacme")
	configs := newMemConfigs()
	configs.m["acme"] = acme.cfg
	r, _ := receiverAt(b, receiverNow, configs, discard{})
	type callback struct {
		p    wecom.Params
		body []byte
	}
	calls := make([]callback, 256)
	for i := range calls {
		msg := mappingCases[i%len(mappingCases)].xml
		p, body := acme.seal(b, msg, receiverNow, fmt.Sprint("n", i))
		calls[i] = callback{p, body}
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		c := calls[i%len(calls)]
		if _, err := r.Receive(ctx, "acme", c.p, c.body); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "callbacks/s")
}

// BenchmarkBuild is the pure transform: parse, map, encode, validate.
func BenchmarkBuild(b *testing.B) {
	dec := event.NewDecoder(func() time.Time { return mappingNow })
	msg := []byte(mappingCases[0].xml)
	var buf []byte
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_, value, err := wecom.Build(buf[:0], msg, mappingOrigin, dec)
		require.NoError(b, err)
		buf = value
	}
}

// discard is a Producer that keeps nothing.
type discard struct{}

func (discard) Produce(_ context.Context, r *kgo.Record, promise func(*kgo.Record, error)) {
	promise(r, nil)
}
