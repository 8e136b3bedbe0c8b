package api

import (
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-dev/siyu/auth"
	"github.com/siyu-dev/siyu/cdp"
	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/followup"
	"github.com/siyu-dev/siyu/publish"
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
// where domain errors become HTTP statuses.
func toError(err error) *Error {
	var ae *Error
	var fe *fiber.Error
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, cdp.ErrNotFound):
		return notFound(err.Error())
	case errors.Is(err, publish.ErrTooLarge):
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: err.Error()}
	case errors.Is(err, auth.ErrInvalidKey):
		return unauthorized("the API key is invalid or revoked: create one with `siyu keys create`")
	case errors.As(err, &fe):
		return &Error{Status: fe.Code, Code: codeFor(fe.Code), Message: fe.Message}
	}
	if ve, ok := event.AsValidation(err); ok {
		return badRequest(ve.Field, ve.Reason)
	}
	if we, ok := wecomError(err); ok {
		return we
	}
	if te, ok := tagError(err); ok {
		return te
	}
	if pe, ok := poolError(err); ok {
		return pe
	}
	if fe, ok := followup.AsFieldError(err); ok {
		return badRequest(fe.Field, fe.Reason)
	}
	if se, ok := segmentError(err); ok {
		return se
	}
	return &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error; see the server log"}
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
