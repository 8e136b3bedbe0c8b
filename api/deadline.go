package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Request deadlines (docs/decisions.md): every request runs under a context
// with a deadline, cancelled as well when the client goes away, so that a
// slow ClickHouse query is bounded and a query nobody waits for any more is
// cancelled (clickhouse-go cancels the query on the server when its context
// ends). Handlers take that context with ctxOf.

// The default request deadlines: a read answers within seconds or not at
// all; a write waits for Kafka's acks, up to 30 s for a batch of events
// (eventsTimeout), so its deadline leaves room for that.
const (
	DefaultRequestTimeout = 5 * time.Second
	DefaultWriteTimeout   = 35 * time.Second
)

// ctxOf is the request's context: its deadline, cancelled when the client
// disconnects (requestContext), with the read-your-writes token when the
// request carries one (readAfter). Every call to ClickHouse or Kafka on a
// request's behalf takes it.
func ctxOf(c *fiber.Ctx) context.Context { return c.UserContext() }

// requestContext gives each request a context that ends at its deadline
// (reads for GET and HEAD, writes for the rest) or when the client closes
// its connection, whichever comes first, and is cancelled when the handler
// returns.
func requestContext(reads, writes time.Duration) fiber.Handler {
	return func(c *fiber.Ctx) error {
		timeout := writes
		if c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead {
			timeout = reads
		}
		ctx, cancel := context.WithTimeout(parentContext(c), timeout)
		defer cancel()
		stop := watchDisconnect(c.Context().Conn(), cancel)
		defer stop()
		c.SetUserContext(ctx)
		err := c.Next()
		if err != nil && ended(ctx) != nil && toError(err).Status >= http.StatusInternalServerError {
			return endedError(ended(ctx))
		}
		return err
	}
}

// ended is why ctx has ended, nil if it has not. A deadline counts from
// its instant: a driver whose socket deadline is the context's (as
// clickhouse-go sets it) may fail a moment before the context's own timer
// has fired.
func ended(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}

// endedError is the answer of a request whose handler failed after its
// context ended: whatever the failure looks like (a driver's i/o timeout,
// a cancelled query), the deadline or the client's leaving is its cause.
func endedError(cause error) *Error {
	if errors.Is(cause, context.DeadlineExceeded) {
		return &Error{Status: http.StatusServiceUnavailable, Code: "timeout",
			Message: "the request did not finish within its deadline: retry later, or ask for less (a shorter period, a smaller page)"}
	}
	return &Error{Status: http.StatusServiceUnavailable, Code: "canceled", Message: "the request was cancelled: its client went away"}
}
