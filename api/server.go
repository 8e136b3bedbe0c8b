// Package api is Siyu's HTTP API (Fiber). Reads come from ClickHouse; every
// write becomes an event on Kafka, the single source of truth. Every request
// is scoped to the tenant of its API key. The routes are documented in
// openapi.json, which a test keeps in step with the router.
package api

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/adoption"
	"github.com/siyu-dev/siyu/auth"
	"github.com/siyu-dev/siyu/cdp"
	"github.com/siyu-dev/siyu/dashboards"
	"github.com/siyu-dev/siyu/followup"
	"github.com/siyu-dev/siyu/kafka"
	"github.com/siyu-dev/siyu/metering"
	"github.com/siyu-dev/siyu/publish"
	"github.com/siyu-dev/siyu/settings"
	"github.com/siyu-dev/siyu/store"
	"github.com/siyu-dev/siyu/wecom"
)

// MaxBodyBytes bounds a request body (a batch of events: 10 MB).
const MaxBodyBytes = 10 << 20

// Deps are what the API needs.
type Deps struct {
	Keys *auth.Keys
	// Users is the console users and their sessions; without it sign-in
	// and the user routes answer 404, and a session cookie is ignored.
	Users    *auth.Users
	Profiles *cdp.Profiles
	Producer *kgo.Client
	Topics   kafka.Topics
	// Ready reports whether ClickHouse and Kafka answer, the schema is
	// current, and the other checks (ReadinessCheck) pass.
	Ready    func(context.Context) Readiness
	Gatherer prometheus.Gatherer
	Registry prometheus.Registerer
	Log      *slog.Logger
	// WeCom receives WeCom callbacks and keeps their settings; without it
	// the WeCom routes answer 404.
	WeCom *wecom.Receiver
	// WeComClients calls WeCom's API with each tenant's app (the JS-SDK's
	// signatures); without it GET /v1/wecom/jssdk answers 404.
	WeComClients *wecom.Clients
	// Adoption serves adoption and engagement metrics; without it the
	// /v1/metrics routes answer 404.
	Adoption *adoption.Service
	// Tags is the tenants' tag libraries; without it the tag routes answer 404.
	Tags *cdp.TagLibrary
	// Metering serves contact meters and billing usage; without it those routes answer 404.
	Metering *metering.Service
	// Segments evaluates segment definitions; without it the segment routes answer 404.
	Segments *cdp.Segments
	// Followup reads timelines and follow-up boards; without it the follow-up routes answer 404.
	Followup *followup.Reader
	// Boards serves boards from memory (followup.Boards); without it boards
	// are read from ClickHouse through Followup.
	Boards *followup.Boards
	// RepStats answers rep statistics from memory (followup.RepStats);
	// without it they are read from ClickHouse through Followup.
	RepStats *followup.RepStats
	// Pool decides claims, assignments, transfers and hand-overs; without
	// it the pool routes answer 404.
	Pool *followup.Pool
	// Stages holds the tenants' stage lists; without it the default list
	// applies and PUT /v1/followups/stages answers 404.
	Stages *followup.StageLists
	// Settings keeps the tenants' small settings (GET/PUT /v1/settings, the
	// reps' phone masking); without it those routes answer 404 and phones
	// are not masked.
	Settings *settings.Store
	// Committed tells how far the ingest group has committed; without it a
	// read with a write token does not wait (Siyu-Consistency: unknown).
	Committed *kafka.Committed
	// ReadAfterWait bounds that wait; 0 means DefaultReadAfterWait (2 s).
	ReadAfterWait time.Duration
	// SavedSegments and Jobs keep saved segments and run their bulk jobs
	// (with Segments and Tags); without them those routes answer 404.
	SavedSegments *cdp.SavedSegments
	Jobs          *cdp.Jobs
	// RequestTimeout bounds a read (GET, HEAD): its context ends then, and
	// with it the ClickHouse queries it runs (503, code timeout); 0 means
	// DefaultRequestTimeout (5 s). A request's context also ends when its
	// client disconnects.
	RequestTimeout time.Duration
	// WriteTimeout bounds any other request; 0 means DefaultWriteTimeout
	// (35 s: a batch of events waits up to 30 s for Kafka's acks).
	WriteTimeout time.Duration
	// Console is the web console, mounted beside the API; nil: none.
	Console UI
	// Grafana checks the deployment's Grafana live (GET
	// /v1/grafana/status); nil: no Grafana is configured.
	Grafana *dashboards.Probe
}

// Server is the API.
type Server struct {
	Deps
	app     *fiber.App
	log     *slog.Logger
	metrics *httpMetrics
	pub     *publish.Publisher // the API's own writes (10 s for the acks)
	// consistency is read-your-writes, for every /v1 read.
	consistency *consistency
}

// New builds the API and its routes.
func New(d Deps) *Server {
	s := &Server{Deps: d, log: d.Log, metrics: newHTTPMetrics(d.Registry),
		pub:         publish.New(d.Producer, d.Topics.Events, publish.DefaultTimeout),
		consistency: &consistency{Committed: d.Committed, ReadAfterWait: d.ReadAfterWait, Boards: d.Boards, log: d.Log}}
	s.app = fiber.New(fiber.Config{
		AppName:               "siyu",
		BodyLimit:             MaxBodyBytes,
		UnescapePath:          false, // pathID decodes ids, "+" included
		DisableStartupMessage: true,
		ErrorHandler:          s.errorHandler,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          60 * time.Second,
		IdleTimeout:           120 * time.Second,
	})
	s.routes()
	return s
}

// App is the Fiber app, for serving and for tests (app.Test).
func (s *Server) App() *fiber.App { return s.app }

// Listen serves on addr until ctx ends, then shuts down within 10 s.
func (s *Server) Listen(ctx context.Context, addr string) error {
	errc := make(chan error, 1)
	go func() { errc <- s.app.Listen(addr) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return s.app.ShutdownWithTimeout(10 * time.Second)
	}
}

func (s *Server) routes() {
	s.app.Use(s.metrics.middleware)
	s.app.Use(requestContext(cmp.Or(s.RequestTimeout, DefaultRequestTimeout), cmp.Or(s.WriteTimeout, DefaultWriteTimeout)))
	s.app.Get("/healthz", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"status": "ok"}) })
	s.app.Get("/readyz", s.readyz)
	s.app.Get("/metrics", adaptor.HTTPHandler(promhttp.HandlerFor(s.Gatherer, promhttp.HandlerOpts{})))
	s.app.Get("/openapi.json", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Send(openAPI)
	})
	// WeCom authenticates its callbacks by signature, not by API key.
	mount(s.app, (&wecomGroup{WeCom: s.WeCom}).callbackRoutes(), s.WeCom != nil, "not found")
	// Signing in needs no key: mounted ahead of the authenticated /v1.
	mount(s.app, (&sessionGroup{Users: s.Users}).publicRoutes(), s.Users != nil, usersOff)
	mount(s.app, (&wecomSignInGroup{Users: s.Users, Clients: s.WeComClients}).publicRoutes(),
		s.Users != nil && s.WeComClients != nil, "WeCom sign-in is not enabled on this server")
	v1 := s.app.Group("/v1", s.authenticate, s.consistency.readAfter)
	s.mountGroups(v1)
	if s.Console != nil {
		s.Console.Mount(s.app, &inProcess{app: s.app})
	}
	s.app.Use(func(c *fiber.Ctx) error {
		return notFound("no route " + c.Method() + " " + c.Path() + "; see /openapi.json")
	})
}

// readyz answers 200 when every readiness check passes, else 503 with the
// first failure's reason; both list every check's state, so an operator
// sees at once which part is down (ClickHouse, Kafka, ingest, the pool).
func (s *Server) readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(ctxOf(c), 3*time.Second)
	defer cancel()
	rep := s.Ready(ctx)
	if rep.Err != nil {
		return c.Status(fiber.StatusServiceUnavailable).JSON(rep.Body())
	}
	return c.JSON(rep.Body())
}

// principalKey is where authenticate leaves the caller in c.Locals.
const principalKey = "siyu.principal"

// authenticate checks the request's key, limiting the failures of each
// client address (auth.Keys.Check; the mapping is in auth_limit.go). A
// request without an Authorization header but with a session cookie is
// authenticated by its console session instead (authenticateSession).
func (s *Server) authenticate(c *fiber.Ctx) error {
	if s.Users != nil && c.Get(fiber.HeaderAuthorization) == "" {
		if token := c.Cookies(SessionCookie); token != "" {
			return s.authenticateSession(c, token)
		}
	}
	token, ok := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ")
	if !ok {
		token = ""
	}
	ctx, cancel := context.WithTimeout(ctxOf(c), keyCheckTimeout)
	p, err := s.Keys.Check(ctx, c.IP(), strings.TrimSpace(token))
	cancel()
	if err != nil {
		return keyCheckError(c, err)
	}
	c.Locals(principalKey, p)
	return c.Next()
}

func principal(c *fiber.Ctx) auth.Principal {
	p, _ := c.Locals(principalKey).(auth.Principal)
	return p
}

// tenantOf is the tenant a request acts on: the key's own, or for the
// platform operator the `tenant` query parameter.
func tenantOf(c *fiber.Ctx) (string, error) {
	p := principal(c)
	t := c.Query("tenant")
	if t != "" {
		if err := checkTenant(t); err != nil {
			return "", err
		}
	}
	if p.Role != auth.RolePlatform {
		if t != "" && t != p.Tenant {
			return "", forbidden("this key belongs to tenant " + strconv.Quote(p.Tenant) + "; it cannot act on another tenant")
		}
		return p.Tenant, nil
	}
	if t == "" {
		return "", badRequest("tenant", "a platform key must name the tenant: add ?tenant=<id>")
	}
	return strings.Clone(t), nil
}

// allow refuses callers without one of roles.
func allow(c *fiber.Ctx, roles ...auth.Role) error {
	if principal(c).Is(roles...) {
		return nil
	}
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	return forbidden("role " + string(principal(c).Role) + " may not do this; allowed: " + strings.Join(names, ", "))
}

// Check is one part of readiness: Fn returns nil when the part can do its
// work, or an error that says why not and what to do; State, when set,
// describes a ready part (e.g. the pool's role) in /readyz.
type Check struct {
	Name  string
	Fn    func(context.Context) error
	State func() string
}

// Readiness is the outcome of the checks: every check's state by name, and
// the first failure (nil when ready).
type Readiness struct {
	States map[string]string
	Err    error
}

// ReadinessCheck is the usual Deps.Ready: ClickHouse answers and its schema
// is current, Kafka answers, and then each of extra (ingest progress, the
// pool's decider). Every check runs, so /readyz shows them all.
func ReadinessCheck(conn driver.Conn, cl *kgo.Client, extra ...Check) func(context.Context) Readiness {
	checks := append([]Check{
		{Name: "clickhouse", Fn: func(ctx context.Context) error {
			if err := conn.Ping(ctx); err != nil {
				return fmt.Errorf("clickhouse: %w", err)
			}
			n, err := store.Pending(ctx, conn)
			if err != nil {
				return fmt.Errorf("clickhouse schema: %w", err)
			}
			if n > 0 {
				return fmt.Errorf("clickhouse schema: %d migrations pending: run `siyu migrate up`", n)
			}
			return nil
		}},
		{Name: "kafka", Fn: func(ctx context.Context) error {
			if err := cl.Ping(ctx); err != nil {
				return fmt.Errorf("kafka: %w", err)
			}
			return nil
		}},
	}, extra...)
	return func(ctx context.Context) Readiness {
		return RunChecks(ctx, checks)
	}
}

// Body is /readyz's answer: status "ready" or "unavailable", every check's
// state, and the first failure's reason.
func (r Readiness) Body() map[string]any {
	if r.Err != nil {
		return map[string]any{"status": "unavailable", "reason": r.Err.Error(), "checks": r.States}
	}
	return map[string]any{"status": "ready", "checks": r.States}
}

// RunChecks runs every check and reports each one's state.
func RunChecks(ctx context.Context, checks []Check) Readiness {
	r := Readiness{States: make(map[string]string, len(checks))}
	for _, c := range checks {
		err := c.Fn(ctx)
		switch {
		case err != nil:
			r.States[c.Name] = err.Error()
			if r.Err == nil {
				r.Err = err
			}
		case c.State != nil:
			r.States[c.Name] = c.State()
		default:
			r.States[c.Name] = "ok"
		}
	}
	return r
}
