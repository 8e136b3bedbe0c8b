package console

import (
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/gofiber/fiber/v2"
)

// PendingTeamSite is the console over a fake API for a manager (any
// session cookie signs in) whose team statistics answer 503, as a large
// tenant's do while its memory loads, until ready is called: the browser
// test of a section that fills in by itself.
func PendingTeamSite(t *testing.T) (app *fiber.App, ready func()) {
	app, f := newFake(t, "manager", "m1")
	var done atomic.Bool
	stats := f.routes["GET /v1/followups/stats"]
	f.routes["GET /v1/followups/stats"] = func(q url.Values, body []byte) (int, any) {
		if !done.Load() {
			return http.StatusServiceUnavailable, refusalOf("timeout", "the request took longer than 5s")
		}
		return stats(q, body)
	}
	return app, func() { done.Store(true) }
}
