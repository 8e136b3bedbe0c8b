package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-dev/siyu/auth"
)

// keyCheckTimeout bounds the ClickHouse lookup of a key the cache does not
// hold: a slow ClickHouse answers 503 rather than holding the request.
const keyCheckTimeout = 5 * time.Second

// keyCheckError maps a failed key check to its response. A client that
// failed too many checks gets 429 with Retry-After (whole seconds, at least
// one) and code too_many_failures; its key was not looked up.
//
// The client is Fiber's c.IP(): the TCP peer, since the app sets no
// ProxyHeader. Behind a load balancer every client would share its address
// (and one bucket); trusting X-Forwarded-For then needs fiber.Config
// ProxyHeader together with EnableTrustedProxyCheck and TrustedProxies, or
// any client could pick its own address and escape the limit.
func keyCheckError(c *fiber.Ctx, err error) error {
	var tooMany *auth.TooManyFailuresError
	switch {
	case errors.As(err, &tooMany):
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(retryAfterSeconds(tooMany.RetryAfter)))
		return &Error{Status: http.StatusTooManyRequests, Code: "too_many_failures",
			Message: "too many failed API key checks from this address; retry after " + strconv.Itoa(retryAfterSeconds(tooMany.RetryAfter)) + " s with a valid key"}
	case errors.Is(err, auth.ErrMissingKey):
		return unauthorized("missing API key: send `Authorization: Bearer <key>`")
	case errors.Is(err, auth.ErrInvalidKey):
		return err
	}
	return unavailable("cannot check the API key right now: " + err.Error())
}

// retryAfterSeconds rounds a wait up to whole seconds, at least one.
func retryAfterSeconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}
