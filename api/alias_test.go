package api

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/auth"
)

// TestFiberStringsOutliveTheRequest checks that the strings the handlers
// keep (map keys of the tag library, the memory registries and the pool's
// deciders; job ids; export formats) do not alias the buffers fasthttp
// reuses. The app is not Immutable, so c.Query, c.Params and c.Get return
// strings over the request's own buffer: kept past the handler, the first
// tenant's key would silently become the next request's tenant. Each case
// keeps what the first request extracted, serves more requests on the same
// server, and requires the kept string to be unchanged.
func TestFiberStringsOutliveTheRequest(t *testing.T) {
	cases := []struct {
		name    string
		route   string
		target  func(v string) string
		extract func(c *fiber.Ctx) (string, error)
	}{
		{"tenantOf, platform key", "/t", func(v string) string { return "/t?tenant=" + v }, tenantOf},
		{"pathID", "/p/:id", func(v string) string { return "/p/" + v }, func(c *fiber.Ctx) (string, error) {
			return pathID(c, "id", "an id")
		}},
		{"queryID", "/q", func(v string) string { return "/q?staff_id=" + v }, func(c *fiber.Ctx) (string, error) {
			return queryID(c, "staff_id", "a staff id")
		}},
		{"wecomParams", "/w", func(v string) string { return "/w?nonce=" + v }, func(c *fiber.Ctx) (string, error) {
			return wecomParams(c).Nonce, nil
		}},
		{"exportFormat", "/e", func(v string) string { return "/e?format=" + v }, func(c *fiber.Ctx) (string, error) {
			return exportFormat(c), nil
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			app := fiber.New(fiber.Config{DisableStartupMessage: true}) // like New: not Immutable
			var kept []string
			app.Get(tc.route, func(c *fiber.Ctx) error {
				c.Locals(principalKey, auth.Principal{Tenant: "ops", Role: auth.RolePlatform})
				v, err := tc.extract(c)
				if err != nil {
					return err
				}
				kept = append(kept, v)
				return c.SendString(v)
			})
			values := []string{"tenant-aaaa", "tenant-bbbb", "tenant-cccc", "tenant-dddd"}
			for _, v := range values {
				resp, err := app.Test(httptest.NewRequest("GET", tc.target(v), nil), -1)
				require.NoError(t, err)
				body, _ := io.ReadAll(resp.Body)
				require.Equal(t, v, string(body))
			}
			require.Equal(t, values, kept, "a string kept past its handler changed: it aliases a reused buffer")
			for _, k := range kept {
				require.True(t, strings.HasPrefix(k, "tenant-"))
			}
		})
	}
}
