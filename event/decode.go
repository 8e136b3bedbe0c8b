package event

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/siyu-dev/siyu/errkind"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/valyala/fastjson"
)

// ValidationError says which attribute or data field made an event invalid,
// and why. Field is "" for a problem with the whole event ("not JSON"), an
// envelope attribute name ("time"), or "data.<name>".
type ValidationError struct {
	Field  string
	Reason string
}

func (e *ValidationError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// Describe is a validation error of Field.
func (e *ValidationError) Describe() errkind.Error {
	return errkind.Error{Kind: errkind.Validation, Msg: e.Error(), Field: e.Field, Public: e.Reason}
}

func invalid(field, format string, args ...any) *ValidationError {
	// Reasons go into Kafka headers and API answers; fastjson's messages can
	// quote a few bytes cut in the middle of a character.
	return &ValidationError{Field: field, Reason: strings.ToValidUTF8(fmt.Sprintf(format, args...), "\uFFFD")}
}

// AsValidation returns the ValidationError inside err, if any.
func AsValidation(err error) (*ValidationError, bool) {
	var ve *ValidationError
	ok := errors.As(err, &ve)
	return ve, ok
}

// Decoder decodes and validates events. It reuses its buffers: the strings of
// an Event it returns alias them and stay valid only until the next call
// (Clone an event to keep it). A Decoder is not safe for concurrent use.
type Decoder struct {
	p   fastjson.Parser
	ev  Event
	now func() time.Time
	// lastSource is the last source that passed validation: producers send
	// one source over and over, and parsing it as a URI is not free.
	lastSource string
}

// NewDecoder returns a Decoder that judges "too far in the future" against now.
func NewDecoder(now func() time.Time) *Decoder {
	if now == nil {
		now = time.Now
	}
	return &Decoder{now: now}
}

// Decode parses one event from JSON and validates it against the contract.
func (d *Decoder) Decode(b []byte) (*Event, error) {
	if !utf8.Valid(b) {
		return nil, invalid("", "not valid UTF-8")
	}
	v, err := d.p.ParseBytes(b)
	if err != nil {
		return nil, invalid("", "not JSON: %v", err)
	}
	if err := ValidateJSON(b); err != nil {
		return nil, err
	}
	if err := d.fromValue(v); err != nil {
		return nil, err
	}
	return &d.ev, nil
}

// ValidateJSON reports whether b is strict JSON with only valid Unicode
// escapes. fastjson's parser is lenient where it need not look: it takes
// numbers such as 01 or 1-2, unknown escapes, raw control characters and
// lone surrogate escapes (\ud800, kept as six characters), and Data.Raw
// would carry them on as invalid JSON or altered strings. Decode calls it;
// callers of DecodeValue should call it on the bytes they parsed. Call it
// only on bytes fastjson has parsed: the parse bounds the nesting depth,
// which fastjson.Validate's recursion does not.
func ValidateJSON(b []byte) error {
	if err := fastjson.ValidateBytes(b); err != nil {
		return invalid("", "not JSON: %v", err)
	}
	return checkSurrogates(b)
}

// checkSurrogates refuses a \u escape of a UTF-16 surrogate that is not
// half of a pair: it stands for no character, so the string is not valid
// UTF-8.
func checkSurrogates(b []byte) error {
	i := LoneSurrogate(b)
	if i < 0 {
		return nil
	}
	return invalid("", `not valid UTF-8: a lone surrogate escape \u%04x`, hex4(b[i+2:i+6]))
}

// LoneSurrogate returns the offset in b of the first \u escape of a UTF-16
// surrogate that is not half of a pair, or -1. b must be valid JSON (every
// backslash then starts an escape): Go's encoding/json and fastjson both
// take such an escape, the one as U+FFFD, the other kept as six characters.
// The API's body decoder and this package's ValidateJSON both call it.
func LoneSurrogate(b []byte) int {
	off := 0
	for {
		i := bytes.IndexByte(b[off:], '\\')
		if i < 0 {
			return -1
		}
		i += off
		if b[i+1] != 'u' {
			off = i + 2
			continue
		}
		r := hex4(b[i+2 : i+6])
		off = i + 6
		if r < 0xd800 || r > 0xdfff {
			continue
		}
		next := b[off:]
		if r >= 0xdc00 || len(next) < 6 || next[0] != '\\' || next[1] != 'u' {
			return i
		}
		if r2 := hex4(next[2:6]); r2 < 0xdc00 || r2 > 0xdfff {
			return i
		}
		off += 6
	}
}

// hex4 decodes four hex digits that fastjson.Validate has checked.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= 'a':
			c -= 'a' - 10
		case c >= 'A':
			c -= 'A' - 10
		default:
			c -= '0'
		}
		r = r<<4 | rune(c)
	}
	return r
}

// DecodeValue validates an event already parsed, as one element of a batch.
// The returned event aliases v and the decoder.
func (d *Decoder) DecodeValue(v *fastjson.Value) (*Event, error) {
	if err := d.fromValue(v); err != nil {
		return nil, err
	}
	return &d.ev, nil
}

func (d *Decoder) fromValue(v *fastjson.Value) error {
	obj, err := v.Object()
	if err != nil {
		return invalid("", "an event must be a JSON object")
	}
	ev := &d.ev
	raw := ev.Data.Raw[:0]
	*ev = Event{}
	var sv specSeen
	var data *fastjson.Object
	var dataValue *fastjson.Value
	var firstErr error
	obj.Visit(func(k []byte, val *fastjson.Value) {
		if firstErr != nil {
			return
		}
		switch string(k) {
		case "specversion":
			sv.spec = true
			s, err := stringOf("specversion", val)
			if err == nil && s != "1.0" {
				err = invalid("specversion", `must be "1.0", got %q`, s)
			}
			firstErr = err
		case "id":
			sv.id = true
			ev.ID, firstErr = idOf("id", val)
		case "source":
			sv.source = true
			ev.Source, firstErr = d.sourceOf(val)
		case "type":
			sv.typ = true
			var s string
			s, firstErr = stringOf("type", val)
			ev.Type = Type(s)
		case "time":
			sv.time = true
			ev.Time, firstErr = timeOf("time", val)
		case "tenant":
			sv.tenant = true
			ev.Tenant, firstErr = tenantOf(val)
		case "subject":
			sv.subject = true
			ev.Subject, firstErr = idOf("subject", val)
		case "data":
			dataValue = val
			data, err = val.Object()
			if err != nil {
				firstErr = invalid("data", "must be a JSON object")
			}
		}
	})
	if firstErr != nil {
		return firstErr
	}
	if missing := sv.missing(data != nil); missing != "" {
		return invalid(missing, "is required")
	}
	spec, ok := types[ev.Type]
	if !ok {
		return invalid("type", "unknown event type %q (see the catalogue in events.md)", ev.Type)
	}
	if spec.subject == subjectTenant && ev.Subject != ev.Tenant {
		return invalid("subject", "must equal tenant for %s", ev.Type)
	}
	if ev.Time.After(d.now().Add(MaxFutureSkew)) {
		return invalid("time", "is more than 24h in the future")
	}
	if err := d.decodeData(data); err != nil {
		return err
	}
	ev.Data.Raw = AppendValue(raw, dataValue)
	return nil
}

// specSeen tracks which required envelope attributes appeared.
type specSeen struct{ spec, id, source, typ, time, tenant, subject bool }

func (s specSeen) missing(hasData bool) string {
	switch {
	case !s.spec:
		return "specversion"
	case !s.id:
		return "id"
	case !s.source:
		return "source"
	case !s.typ:
		return "type"
	case !s.time:
		return "time"
	case !s.tenant:
		return "tenant"
	case !s.subject:
		return "subject"
	case !hasData:
		return "data"
	}
	return ""
}

func (d *Decoder) decodeData(obj *fastjson.Object) error {
	ev := &d.ev
	mask := masks[ev.Type]
	var firstErr error
	obj.Visit(func(k []byte, val *fastjson.Value) {
		if firstErr != nil {
			return
		}
		f, ok := fieldByName[string(k)]
		if !ok || mask.allowed&(1<<f) == 0 || val.Type() == fastjson.TypeNull {
			return
		}
		firstErr = setField(&ev.Data, f, val)
		ev.Data.Present |= 1 << f
	})
	if firstErr != nil {
		return firstErr
	}
	for f, allowed := range mask.enums {
		if s := *fields[f].str(&ev.Data); ev.Data.Present.Has(f) && !oneOf(s, allowed) {
			return invalid(dataPaths[f], "must be one of %s, got %q", strings.Join(allowed, ", "), s)
		}
	}
	if lack := mask.required &^ ev.Data.Present; lack != 0 {
		for f := Field(0); f < numFields; f++ {
			if lack.Has(f) {
				return invalid("data."+fields[f].name, "is required for %s", ev.Type)
			}
		}
	}
	return nil
}

// dataPaths are the fields' names as errors report them ("data.staff_id"),
// built once rather than on every decoded field.
var dataPaths = func() (p [numFields]string) {
	for i := range fields {
		p[i] = "data." + fields[i].name
	}
	return p
}()

func setField(d *Data, f Field, val *fastjson.Value) error {
	spec := &fields[f]
	name := dataPaths[f]
	switch spec.kind {
	case kindString:
		s, err := stringOf(name, val)
		if err != nil {
			return err
		}
		if err := checkString(spec, name, s); err != nil {
			return err
		}
		*spec.str(d) = s
	case kindInt:
		if val.Type() != fastjson.TypeNumber {
			return invalid(name, "must be an integer, got %s", val.Type())
		}
		n, err := val.Int64()
		if err != nil {
			return invalid(name, "must be an integer")
		}
		if n < spec.min || (spec.max != 0 && n > spec.max) {
			return invalid(name, "is out of range")
		}
		*spec.num(d) = n
	case kindBool:
		b, err := val.Bool()
		if err != nil {
			return invalid(name, "must be true or false, got %s", val.Type())
		}
		*spec.flag(d) = b
	case kindTime:
		t, err := timeOf(name, val)
		if err != nil {
			return err
		}
		*spec.num(d) = t.UnixNano()
	}
	return nil
}

func checkString(spec *fieldSpec, name, s string) error {
	switch {
	case spec.id:
		return CheckID(name, s)
	case spec.nonEmpt && s == "":
		return invalid(name, "must not be empty")
	case spec.oneOf != nil && !oneOf(s, spec.oneOf):
		return invalid(name, "must be one of %s, got %q", strings.Join(spec.oneOf, ", "), s)
	}
	return nil
}

func oneOf(s string, allowed []string) bool {
	for _, a := range allowed {
		if s == a {
			return true
		}
	}
	return false
}

// stringOf returns a JSON string's value as a view of the parser's buffer.
func stringOf(name string, v *fastjson.Value) (string, error) {
	b, err := v.StringBytes()
	if err != nil {
		return "", invalid(name, "must be a string, got %s", v.Type())
	}
	// Escapes such as a lone \ud800 can decode to bytes that are not UTF-8.
	if !utf8.Valid(b) {
		return "", invalid(name, "is not valid UTF-8")
	}
	return unsafe.String(unsafe.SliceData(b), len(b)), nil
}

// idOf reads an id (CheckID).
func idOf(name string, v *fastjson.Value) (string, error) {
	s, err := stringOf(name, v)
	if err != nil {
		return "", err
	}
	return s, CheckID(name, s)
}

func boundedString(name string, v *fastjson.Value, max int) (string, error) {
	s, err := stringOf(name, v)
	if err != nil {
		return "", err
	}
	if s == "" || utf8.RuneCountInString(s) > max {
		return "", invalid(name, "must be 1–%d characters", max)
	}
	return s, nil
}

func (d *Decoder) sourceOf(v *fastjson.Value) (string, error) {
	s, err := boundedString("source", v, 256)
	if err != nil || s == d.lastSource {
		return s, err
	}
	if strings.ContainsAny(s, " \t\r\n") {
		return "", invalid("source", "must be a URI-reference without white space")
	}
	if _, err := url.Parse(s); err != nil {
		return "", invalid("source", "must be a URI-reference")
	}
	d.lastSource = strings.Clone(s)
	return s, nil
}

func tenantOf(v *fastjson.Value) (string, error) {
	s, err := stringOf("tenant", v)
	if err != nil {
		return "", err
	}
	if !ValidTenant(s) {
		return "", invalid("tenant", "must match [a-z0-9][a-z0-9_-]{0,63}")
	}
	return s, nil
}

// ValidTenant reports whether s is a well-formed tenant id.
func ValidTenant(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

func timeOf(name string, v *fastjson.Value) (time.Time, error) {
	s, err := stringOf(name, v)
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, invalid(name, "must be RFC 3339 with an offset, e.g. 2026-11-21T10:00:00+08:00")
	}
	// The range is of instants: next_at is stored and written back in UTC,
	// so 1970-01-01T05:00:00+08:00 (1969 in UTC) would not decode again.
	if u := t.UTC(); u.Year() < 1970 || u.Year() > 2200 {
		return time.Time{}, invalid(name, "is out of range (1970–2200)")
	}
	return t, nil
}

// FirstInputYear and LastInputYear bound the years that a period, a date or
// a time typed into the API or the CLI may name (from, to, date, period,
// cohort ranges, next_at): inside what the contract stores (1970–2200, in
// events of any source) and far inside what int64 nanoseconds hold (to
// 2262), and wide enough for any real billing period or follow-up. A year
// outside is a typo or a probe, refused before anything is read or written
// (docs/decisions.md, "Input hygiene").
const (
	FirstInputYear = 2000
	LastInputYear  = 2100
)

// CheckInputTime refuses t when its year (in UTC) is outside
// FirstInputYear–LastInputYear, naming field.
func CheckInputTime(field string, t time.Time) error {
	if y := t.UTC().Year(); y < FirstInputYear || y > LastInputYear {
		return invalid(field, "must be within the years %d–%d", FirstInputYear, LastInputYear)
	}
	return nil
}
