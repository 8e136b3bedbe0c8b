package wecom

import (
	"errors"

	"github.com/siyu-dev/siyu/errkind"
	"github.com/siyu-dev/siyu/event"
)

// Reason is why a callback was refused: the label of the refusal counter,
// and what the API turns into an HTTP status.
type Reason string

// The reasons for refusing a callback.
const (
	ReasonUnknownTenant Reason = "unknown_tenant" // no settings for the tenant in the URL
	ReasonTooLarge      Reason = "too_large"      // the body is over MaxBodyBytes
	ReasonParams        Reason = "params"         // a query parameter or the envelope is missing or malformed
	ReasonSignature     Reason = "signature"      // msg_signature does not match
	ReasonStale         Reason = "stale"          // timestamp more than MaxSkew off: a replay, or a wrong clock
	ReasonDecrypt       Reason = "decrypt"        // the payload does not decrypt with the tenant's key
	ReasonReceiveID     Reason = "receive_id"     // the payload is for another corp
	ReasonMessage       Reason = "message"        // the decrypted message is not WeCom XML
)

// Reasons lists every reason, so that the counter shows each from the start.
func Reasons() []Reason {
	return []Reason{ReasonUnknownTenant, ReasonTooLarge, ReasonParams, ReasonSignature, ReasonStale,
		ReasonDecrypt, ReasonReceiveID, ReasonMessage}
}

// RefusedError is a callback refused for Reason. Retrying the same request
// will not help.
type RefusedError struct {
	Reason Reason
	Err    error
}

func (e *RefusedError) Error() string {
	return "wecom callback refused (" + string(e.Reason) + "): " + e.Err.Error()
}

func (e *RefusedError) Unwrap() error { return e.Err }

// Describe says little to the caller: what the sender can fix. A refused
// message that breaks the event contract names the field at fault.
func (e *RefusedError) Describe() errkind.Error {
	d := errkind.Error{Msg: e.Error()}
	switch e.Reason {
	case ReasonUnknownTenant:
		d.Kind, d.Public = errkind.NotFound, "not found"
	case ReasonSignature:
		d.Kind, d.Public = errkind.Unauthorized, "msg_signature does not match"
	case ReasonStale:
		d.Kind, d.Public = errkind.Forbidden, e.Err.Error()
	case ReasonReceiveID:
		d.Kind, d.Public = errkind.Forbidden, "the message is for another corp"
	case ReasonTooLarge:
		d.Kind, d.Field, d.Public = errkind.TooLarge, "body", "a WeCom callback is at most 64 KiB"
	default:
		if ve, ok := event.AsValidation(e.Err); ok {
			return ve.Describe()
		}
		d.Kind, d.Public = errkind.Validation, e.Err.Error()
	}
	return d
}

func refused(r Reason, err error) *RefusedError { return &RefusedError{Reason: r, Err: err} }

// AsRefused returns the RefusedError inside err, if any.
func AsRefused(err error) (*RefusedError, bool) {
	var re *RefusedError
	ok := errors.As(err, &re)
	return re, ok
}

// ErrUnavailable means a dependency (Kafka, or ClickHouse for the settings)
// failed: the callback was not stored, and WeCom should retry it.
var ErrUnavailable error = &errkind.Error{Kind: errkind.Unavailable, Msg: "wecom callback not stored; retry",
	Public: "not stored, retry: a dependency is unavailable"}
