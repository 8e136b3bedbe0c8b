package followup

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/publish"
)

// input is a value of a pool request that its events carry, named as the
// API's request names it (a path parameter "id", a body field), so that a
// refusal points at what the caller sent.
type input struct {
	field, value string
	text         bool // free text (a note), not an id
}

// check encodes the decision's events with pub, which checks each with
// the contract's decoder, as the pipeline will. A request whose event the
// contract refuses fails on its own, before anything of its batch is
// written: with a *FieldError naming the input at fault, or, when none is
// (our bug, not the caller's), a plain error; one too large for Kafka with
// publish.ErrTooLarge. It returns the records to produce.
func (d *decision) check(pub *publish.Publisher) ([]*kgo.Record, error) {
	recs := make([]*kgo.Record, 0, len(d.events))
	for i := range d.events {
		rec, err := pub.Encode(&d.events[i])
		if err != nil && !errors.Is(err, publish.ErrTooLarge) {
			if fe := d.culprit(event.NewDecoder(nil)); fe != nil {
				return nil, fe
			}
		}
		if err != nil {
			return nil, err
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

// culprit is the first input the contract refuses on its own: an id by
// the one id rule (event.CheckID), a text placed in a minimal event where
// it would go (a note); nil when every input passes.
func (d *decision) culprit(dec *event.Decoder) *FieldError {
	for _, in := range d.inputs {
		err := event.CheckID(in.field, in.value)
		if in.text {
			probe := event.Event{ID: "probe", Source: "siyu-api", Type: event.AssigneeChanged, Tenant: d.b.tenant,
				Subject: "probe", Time: d.now.UTC()}
			probe.Data.Set(event.FReason, "release")
			probe.Data.Set(event.FNote, in.value)
			_, err = dec.Decode(event.AppendJSON(nil, &probe))
		}
		if err != nil {
			reason := err.Error()
			if ve, ok := event.AsValidation(err); ok {
				reason = ve.Reason
			}
			return &FieldError{Field: in.field, Reason: reason}
		}
	}
	return nil
}

// ids names each id of a list input: field[0], field[1]...
func ids(field string, values []string) []input {
	out := make([]input, len(values))
	for i, v := range values {
		out[i] = input{field: fmt.Sprintf("%s[%d]", field, i), value: v}
	}
	return out
}
