package api

import (
	"cmp"
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-dev/siyu/errkind"
)

// Error is an API error, rendered as {"error": {"code", "message", "field"}}.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *Error) Error() string { return e.Message }

func badRequest(field, msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid_request", Field: field, Message: msg}
}

func forbidden(msg string) *Error {
	return &Error{Status: http.StatusForbidden, Code: "forbidden", Message: msg}
}

func notFound(msg string) *Error {
	return &Error{Status: http.StatusNotFound, Code: "not_found", Message: msg}
}

func unauthorized(msg string) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: "unauthorized", Message: msg}
}

func unavailable(msg string) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: msg}
}

// toError maps any error a handler returns to an API error: the one place
// where domain errors become HTTP statuses. Domain packages give their
// errors a kind (errkind); statusOf says what each kind answers.
func toError(err error) *Error {
	var ae *Error
	var fe *fiber.Error
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &fe):
		return &Error{Status: fe.Code, Code: codeFor(fe.Code), Message: fe.Message}
	}
	if k, ok := errkind.Of(err); ok && k.Kind != errkind.Internal {
		st := statusOf[k.Kind]
		return &Error{Status: st.status, Code: cmp.Or(k.Code, st.code), Field: k.Field, Message: cmp.Or(k.Public, err.Error())}
	}
	return &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error; see the server log"}
}

// statusOf is the status and code of each kind of error.
var statusOf = map[errkind.Kind]struct {
	status int
	code   string
}{
	errkind.Validation:    {http.StatusBadRequest, "invalid_request"},
	errkind.Unauthorized:  {http.StatusUnauthorized, "unauthorized"},
	errkind.Forbidden:     {http.StatusForbidden, "forbidden"},
	errkind.NotFound:      {http.StatusNotFound, "not_found"},
	errkind.Conflict:      {http.StatusConflict, "conflict"},
	errkind.TooLarge:      {http.StatusRequestEntityTooLarge, "too_large"},
	errkind.Unprocessable: {http.StatusUnprocessableEntity, "unprocessable"},
	errkind.Unavailable:   {http.StatusServiceUnavailable, "unavailable"},
	errkind.RateLimited:   {http.StatusTooManyRequests, "too_many_requests"},
}

func codeFor(status int) string {
	switch status {
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	}
	if status >= 500 {
		return "internal"
	}
	return "invalid_request"
}

// errorHandler renders every error as JSON and logs server faults.
func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
	ae := toError(err)
	if ae.Status >= 500 {
		s.log.Error("request failed", "method", c.Method(), "path", c.Path(), "err", err)
	}
	return c.Status(ae.Status).JSON(fiber.Map{"error": ae})
}
