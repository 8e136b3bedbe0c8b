package api

import (
	"bytes"
	"context"
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
func (s *Server) postEvents(c *fiber.Ctx) error {
	if err := allow(c, auth.RoleAdmin, auth.RolePlatform); err != nil {
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
		s.produce(c.UserContext(), records, resp)
	}
	s.metrics.events.WithLabelValues("accepted").Add(float64(resp.Accepted))
	s.metrics.events.WithLabelValues("rejected").Add(float64(resp.Rejected))
	s.metrics.events.WithLabelValues("failed").Add(float64(resp.Failed))
	if single && resp.Rejected == 1 {
		r := resp.Results[0]
		resp.Error = badRequest(r.Field, r.Reason)
	}
	return c.Status(eventsStatus(resp)).JSON(resp)
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

func (s *Server) validateEvents(c *fiber.Ctx, rd *requestDecoder, items []*fastjson.Value) (*eventsResponse, []pendingRecord) {
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
		rec := &kgo.Record{Topic: s.Topics.Events, Key: []byte(ev.Key()), Value: value}
		records = append(records, pendingRecord{rec: rec, res: res})
	}
	return resp, records
}

// produce sends the records and waits until Kafka has acknowledged each.
func (s *Server) produce(ctx context.Context, records []pendingRecord, resp *eventsResponse) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	wg.Add(len(records))
	for _, pr := range records {
		pr := pr
		s.Producer.Produce(ctx, pr.rec, func(_ *kgo.Record, err error) {
			defer wg.Done()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				pr.res.Status, pr.res.Reason = "failed", "not stored in Kafka, retry it: "+err.Error()
				resp.Failed++
				return
			}
			pr.res.Status = "accepted"
			resp.Accepted++
		})
	}
	wg.Wait()
}
