package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-dev/siyu/event"
)

// Input hygiene, one way for every route (docs/decisions.md, "Input
// hygiene"): a JSON body goes through decodeBody, an id the request names
// (path, query or body) through event.CheckID (pathID, queryID, checkID),
// a date or time through event.CheckInputTime. Each refusal is a 4xx
// naming the field, before anything is read or written.

// The media types a JSON body may be sent as: application/json, and for
// POST /v1/events CloudEvents' own structured and batch types.
var (
	jsonMediaTypes  = []string{fiber.MIMEApplicationJSON}
	eventMediaTypes = []string{fiber.MIMEApplicationJSON, "application/cloudevents+json", "application/cloudevents-batch+json"}
)

// requireMediaType refuses a request whose Content-Type is not one of
// types: 415 naming the header.
func requireMediaType(c *fiber.Ctx, types []string) error {
	if reason := checkMediaType(c.Get(fiber.HeaderContentType), types); reason != "" {
		return &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
			Field: fiber.HeaderContentType, Message: reason}
	}
	return nil
}

// checkMediaType says what is wrong with a Content-Type header ("" when
// it is one of types). The one parameter allowed is charset=utf-8: JSON is
// UTF-8 (RFC 8259), a body in another charset would be read as garbage.
func checkMediaType(header string, types []string) string {
	want := "send Content-Type: " + strings.Join(types, " or ")
	if header == "" {
		return want
	}
	mt, params, err := mime.ParseMediaType(header)
	if err != nil || !slices.Contains(types, mt) {
		return fmt.Sprintf("%s, not %q", want, header)
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return fmt.Sprintf("%s (with at most charset=utf-8), not %q", want, header)
		}
	}
	return ""
}

// decodeBody decodes the request's JSON body into v (decodeJSON), once its
// Content-Type says JSON. hint tells the caller what to send.
func decodeBody(c *fiber.Ctx, v any, hint string) error {
	if err := requireMediaType(c, jsonMediaTypes); err != nil {
		return err
	}
	return decodeJSON(c.Body(), v, hint)
}

// decodeJSON decodes body into v strictly: exactly one JSON value with
// nothing but white space after it, no field v does not have, valid UTF-8
// and no lone surrogate escape (\ud800), which encoding/json would silently
// turn into U+FFFD. A refusal is a 400 naming the field at fault (its JSON
// path, e.g. "customer_ids[2]"), or "body".
func decodeJSON(body []byte, v any, hint string) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, hint)
	}
	end := int(dec.InputOffset())
	if rest := bytes.TrimLeft(body[end:], " \t\r\n"); len(rest) > 0 {
		return badRequest("body", fmt.Sprintf("%s: one JSON value only, but more follows at byte %d", hint, len(body)-len(rest)))
	}
	value := body[:end]
	if i := invalidUTF8(value); i >= 0 {
		return badRequest(fieldAt(value, i), fmt.Sprintf("not valid UTF-8 (byte %d): %s", i, hint))
	}
	if i := event.LoneSurrogate(value); i >= 0 {
		return badRequest(fieldAt(value, i), fmt.Sprintf(`not valid UTF-8: a lone surrogate escape %s (byte %d) stands for no character`, value[i:i+6], i))
	}
	return nil
}

// jsonError maps encoding/json's refusals to a 400 naming the field.
func jsonError(err error, hint string) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF):
		return badRequest("body", hint+": the body is empty")
	case errors.As(err, &te) && te.Field != "":
		return badRequest(te.Field, fmt.Sprintf("must be %s: %s", te.Type, hint))
	case errors.As(err, &se):
		return badRequest("body", fmt.Sprintf("%s: not JSON at byte %d: %v", hint, se.Offset, se))
	}
	// encoding/json has no type for an unknown field, only this message.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if field, err := strconv.Unquote(name); err == nil && field != "" {
			return badRequest(field, "unknown field: "+hint)
		}
	}
	return badRequest("body", hint+": "+err.Error())
}

// invalidUTF8 is the offset of the first byte of b that is not UTF-8, or -1.
func invalidUTF8(b []byte) int {
	if utf8.Valid(b) {
		return -1
	}
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

// fieldAt is the JSON path ("a.b[2]") of the key or value that holds byte
// off of the valid JSON value b, for an error to name; "body" at the top.
func fieldAt(b []byte, off int) string {
	type level struct {
		object  bool
		key     string
		index   int
		wantKey bool
	}
	var stack []level
	path := func() string {
		var sb strings.Builder
		for _, l := range stack {
			switch {
			case l.object && l.key != "":
				if sb.Len() > 0 {
					sb.WriteByte('.')
				}
				sb.WriteString(l.key)
			case !l.object:
				sb.WriteString("[" + strconv.Itoa(l.index) + "]")
			}
		}
		if sb.Len() == 0 {
			return "body"
		}
		return sb.String()
	}
	// valueDone moves the enclosing level past a value that just ended.
	valueDone := func() {
		if n := len(stack); n > 0 {
			if stack[n-1].object {
				stack[n-1].wantKey = true
			} else {
				stack[n-1].index++
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := dec.Token()
		if err != nil {
			return path()
		}
		top := len(stack) - 1
		if s, ok := tok.(string); ok && top >= 0 && stack[top].object && stack[top].wantKey {
			stack[top].key, stack[top].wantKey = s, false
			if int(dec.InputOffset()) > off {
				return path()
			}
			continue
		}
		if int(dec.InputOffset()) > off {
			return path()
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, level{object: true, wantKey: true})
		case json.Delim('['):
			stack = append(stack, level{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:top]
			valueDone()
		default:
			valueDone()
		}
	}
}

// pathID returns a copy of the path parameter name, percent-decoded, an id
// by the one id rule (event.CheckID), or a 400 naming the parameter. The
// server matches routes on the raw path (Config.UnescapePath is off) and
// decodes ids here, as RFC 3986 says: Fiber's own unescaping would read a
// "+" as a space ("+86 138..." a leading space) and a %2F as a separator.
// Decoded, %00 is a NUL and %ff a byte 0xff, which the rule refuses.
func pathID(c *fiber.Ctx, name, what string) (string, error) {
	id, err := url.PathUnescape(c.Params(name))
	if err != nil {
		return "", badRequest(name, what+" is not valid percent-encoding")
	}
	if err := event.CheckID(name, id); err != nil {
		return "", idError(err, what)
	}
	return strings.Clone(id), nil
}

// queryID returns a copy of the query parameter name ("" when absent), an
// id by the one id rule, or a 400 naming the parameter.
func queryID(c *fiber.Ctx, name, what string) (string, error) {
	id := c.Query(name)
	if id == "" {
		return "", nil
	}
	if err := event.CheckID(name, id); err != nil {
		return "", idError(err, what)
	}
	return strings.Clone(id), nil
}

// checkID applies the one id rule to an id of a body, field naming it.
func checkID(field, id string) error {
	if err := event.CheckID(field, id); err != nil {
		return idError(err, field)
	}
	return nil
}

func idError(err error, what string) error {
	ve, _ := event.AsValidation(err)
	return badRequest(ve.Field, what+" "+ve.Reason)
}

// checkTenant refuses a ?tenant= that is not a well-formed tenant id.
func checkTenant(t string) error {
	if !event.ValidTenant(t) {
		return badRequest("tenant", "a tenant id matches [a-z0-9][a-z0-9_-]{0,63}")
	}
	return nil
}

// checkInputTime refuses a date or time outside the input years
// (event.CheckInputTime): 400 naming field.
func checkInputTime(field string, t time.Time) error {
	if err := event.CheckInputTime(field, t); err != nil {
		ve, _ := event.AsValidation(err)
		return badRequest(ve.Field, field+" "+ve.Reason)
	}
	return nil
}
