package api

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/valyala/fastjson"

	"github.com/siyu-dev/siyu/auth"
	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/kafka"
	"github.com/siyu-dev/siyu/publish"
)

// MaxBatchEvents bounds one POST /v1/events.
const MaxBatchEvents = 10_000

// eventResult is the outcome of one posted event.
type eventResult struct {
	Index  int    `json:"index"`
	ID     string `json:"id,omitempty"`
	Status string `json:"status"` // accepted, rejected, failed
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason,omitempty"`
	// tooLarge: rejected because no broker would take the record.
	tooLarge bool
}

type eventsResponse struct {
	Accepted int           `json:"accepted"`
	Rejected int           `json:"rejected"`
	Failed   int           `json:"failed"`
	Results  []eventResult `json:"results"`
	Error    *Error        `json:"error,omitempty"`
}

// decoders pools the per-request parser and decoder (neither is concurrent).
var decoders = sync.Pool{New: func() any {
	return &requestDecoder{dec: event.NewDecoder(nil)}
}}

type requestDecoder struct {
	p   fastjson.Parser
	dec *event.Decoder
}

// postEvents validates each posted event, produces the valid ones to Kafka,
// waits for the acks, and answers with a result per event.
func (s *eventGroup) postEvents(c *fiber.Ctx) error {
	if err := allow(c, auth.RoleAdmin, auth.RolePlatform); err != nil {
		return err
	}
	if err := requireMediaType(c, eventMediaTypes); err != nil {
		return err
	}
	rd := decoders.Get().(*requestDecoder)
	defer decoders.Put(rd)
	body := bytes.TrimSpace(c.Body())
	if len(body) == 0 {
		return badRequest("body", "send one CloudEvent (a JSON object) or a batch (a JSON array)")
	}
	root, err := rd.p.ParseBytes(body)
	if err == nil {
		err = event.ValidateJSON(body)
	}
	if err != nil {
		if ve, ok := event.AsValidation(err); ok {
			return badRequest("body", ve.Reason)
		}
		return badRequest("body", "not JSON: "+err.Error())
	}
	items, single := []*fastjson.Value{root}, true
	if root.Type() == fastjson.TypeArray {
		items, single = root.GetArray(), false
	}
	if len(items) > MaxBatchEvents {
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Field: "body",
			Message: fmt.Sprintf("a batch holds at most %d events, got %d: split it", MaxBatchEvents, len(items))}
	}
	resp, records := s.validateEvents(c, rd, items)
	if len(records) > 0 {
		s.produce(ctxOf(c), records, resp)
	}
	s.metrics.events.WithLabelValues("accepted").Add(float64(resp.Accepted))
	s.metrics.events.WithLabelValues("rejected").Add(float64(resp.Rejected))
	s.metrics.events.WithLabelValues("failed").Add(float64(resp.Failed))
	status := eventsStatus(resp)
	if single && resp.Rejected == 1 {
		r := resp.Results[0]
		resp.Error = badRequest(r.Field, r.Reason)
		if r.tooLarge {
			resp.Error.Status, resp.Error.Code = http.StatusRequestEntityTooLarge, "too_large"
			status = http.StatusRequestEntityTooLarge
		}
	}
	return c.Status(status).JSON(resp)
}

func eventsStatus(r *eventsResponse) int {
	switch {
	case r.Failed > 0:
		return http.StatusServiceUnavailable
	case r.Rejected > 0 && r.Accepted == 0:
		return http.StatusBadRequest
	case r.Rejected > 0:
		return http.StatusMultiStatus
	}
	return http.StatusOK
}

// pendingRecord ties a record to produce to its result slot.
type pendingRecord struct {
	rec *kgo.Record
	res *eventResult
}

func (s *eventGroup) validateEvents(c *fiber.Ctx, rd *requestDecoder, items []*fastjson.Value) (*eventsResponse, []pendingRecord) {
	p := principal(c)
	resp := &eventsResponse{Results: make([]eventResult, len(items))}
	records := make([]pendingRecord, 0, len(items))
	for i, v := range items {
		res := &resp.Results[i]
		res.Index = i
		ev, err := rd.dec.DecodeValue(v)
		if err == nil && p.Role != auth.RolePlatform && ev.Tenant != p.Tenant {
			err = &event.ValidationError{Field: "tenant", Reason: fmt.Sprintf("must be this key's tenant %q", p.Tenant)}
		}
		if ev != nil {
			res.ID = string([]byte(ev.ID))
		}
		if err != nil {
			ve, _ := event.AsValidation(err)
			res.Status, res.Field, res.Reason = "rejected", ve.Field, ve.Reason
			resp.Rejected++
			continue
		}
		value := event.AppendValue(nil, v)
		if !utf8.Valid(value) {
			// The pipeline would dead-letter it: refuse it now instead.
			res.Status, res.Reason = "rejected", "not valid UTF-8"
			resp.Rejected++
			continue
		}
		rec, err := s.pub.Record(ev.Key(), value)
		if errors.Is(err, publish.ErrTooLarge) {
			// Kafka would refuse it on every retry: refuse it now, for good.
			field := largestMember(v)
			res.Status, res.Field, res.tooLarge = "rejected", field, true
			res.Reason = fmt.Sprintf("the event takes %d bytes as a Kafka record; the broker takes at most %d (kafka.MaxBatchBytes): it can never be stored, shrink %s",
				kafka.RecordBytes(rec), kafka.MaxBatchBytes, field)
			resp.Rejected++
			continue
		}
		records = append(records, pendingRecord{rec: rec, res: res})
	}
	return resp, records
}

// largestMember names the member of the event object v that weighs most
// (one level into data: "data.note"), the one to shrink.
func largestMember(v *fastjson.Value) string {
	name, val := heaviest(v)
	if name == "data" && val.Type() == fastjson.TypeObject {
		if inner, _ := heaviest(val); inner != "" {
			return "data." + inner
		}
	}
	return cmp.Or(name, "body")
}

// heaviest returns the member of object v whose key and value take the
// most bytes.
func heaviest(v *fastjson.Value) (string, *fastjson.Value) {
	var name string
	var val *fastjson.Value
	most := -1
	v.GetObject().Visit(func(k []byte, x *fastjson.Value) {
		if n := len(k) + len(x.MarshalTo(nil)); n > most {
			name, val, most = string(k), x, n
		}
	})
	return name, val
}

// eventsTimeout bounds the wait for the acks of a POST /v1/events: a
// batch holds up to MaxBatchEvents events.
const eventsTimeout = 30 * time.Second

// produce sends the records and waits until Kafka has acknowledged each,
// or eventsTimeout has passed: a record Kafka has not acknowledged by then
// is "failed" (it may still be stored; retrying it is safe).
func (s *eventGroup) produce(ctx context.Context, records []pendingRecord, resp *eventsResponse) {
	recs := make([]*kgo.Record, len(records))
	for i, pr := range records {
		recs[i] = pr.rec
	}
	for i, r := range s.pub.Within(eventsTimeout).Produce(ctx, recs...) {
		pr := records[i]
		if r.Err != nil {
			pr.res.Status, pr.res.Reason = "failed", "not stored in Kafka, retry it: "+r.Err.Error()
			resp.Failed++
			continue
		}
		pr.res.Status = "accepted"
		resp.Accepted++
	}
}
