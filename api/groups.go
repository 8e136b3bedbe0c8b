package api

import (
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-dev/siyu/adoption"
	"github.com/siyu-dev/siyu/auth"
	"github.com/siyu-dev/siyu/cdp"
	"github.com/siyu-dev/siyu/followup"
	"github.com/siyu-dev/siyu/kafka"
	"github.com/siyu-dev/siyu/metering"
	"github.com/siyu-dev/siyu/publish"
	"github.com/siyu-dev/siyu/settings"
	"github.com/siyu-dev/siyu/wecom"
)

// The API by domain: each group of routes is a type holding only what its
// handlers use, and lists its routes. New builds a group when Deps holds
// its parts and mounts it; a group a process does not serve answers its
// routes 404 saying so (mount), so no handler checks for a missing part.

// route is one route of a group.
type route struct {
	method, path string
	handlers     []fiber.Handler
}

func on(method, path string, handlers ...fiber.Handler) route {
	return route{method: method, path: path, handlers: handlers}
}

// mount registers routes on r: with their handlers when the group is
// served, else each answering 404 with off, so that a process without a
// part answers as it always has and the router still lists the routes.
func mount(r fiber.Router, routes []route, served bool, off string) {
	for _, rt := range routes {
		hs := rt.handlers
		if !served {
			hs = []fiber.Handler{func(*fiber.Ctx) error { return notFound(off) }}
		}
		r.Add(rt.method, rt.path, hs...)
	}
}

// allowRoles is a handler refusing callers without one of roles (allow).
func allowRoles(roles ...auth.Role) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := allow(c, roles...); err != nil {
			return err
		}
		return c.Next()
	}
}

// consistency is read-your-writes: a read carrying a write token waits
// (bounded) until the ingest group has committed past it (readAfter).
type consistency struct {
	// Committed tells how far the ingest group has committed; nil: a read
	// does not wait (Siyu-Consistency: unknown).
	Committed     *kafka.Committed
	ReadAfterWait time.Duration
	// Boards, when set, serves boards from memory: a board read waits for
	// the boards' tail instead (getBoard).
	Boards *followup.Boards
	log    *slog.Logger
}

// eventGroup is POST /v1/events.
type eventGroup struct {
	pub     *publish.Publisher
	metrics *httpMetrics
}

func (s *eventGroup) routes() []route {
	return []route{on(fiber.MethodPost, "/events", s.postEvents)}
}

// customerGroup reads customer profiles, with their assignment when
// follow-ups are served.
type customerGroup struct {
	Profiles *cdp.Profiles
	Settings *settings.Store  // nil: phones are not masked
	Followup *followup.Reader // nil: no assignment (follow-ups are not served)
	Boards   *followup.Boards // nil: assignments from ClickHouse
}

func (s *customerGroup) routes() []route {
	return []route{on(fiber.MethodGet, "/customers/:id", s.getCustomer)}
}

// wecomGroup is WeCom's callbacks (authenticated by signature, not by
// API key) and the tenants' WeCom settings.
type wecomGroup struct {
	WeCom *wecom.Receiver
}

func (s *wecomGroup) callbackRoutes() []route {
	return []route{
		on(fiber.MethodGet, "/wecom/callback/:tenant", s.wecomVerify),
		on(fiber.MethodPost, "/wecom/callback/:tenant", s.wecomCallback),
	}
}

func (s *wecomGroup) routes() []route {
	return []route{
		on(fiber.MethodPut, "/wecom/config", s.putWeComConfig),
		on(fiber.MethodGet, "/wecom/config", s.getWeComConfig),
	}
}

// settingsGroup is a tenant's small settings (/v1/settings).
type settingsGroup struct {
	Settings *settings.Store
}

func (s *settingsGroup) routes() []route {
	admins := allowRoles(auth.RoleAdmin, auth.RolePlatform)
	return []route{
		on(fiber.MethodGet, "/settings", admins, s.getSettings),
		on(fiber.MethodPut, "/settings", admins, s.putSettings),
	}
}

// jssdkGroup signs pages for WeCom's JS-SDK (the chat sidebar) with each
// tenant's app.
type jssdkGroup struct {
	Clients *wecom.Clients
}

func (s *jssdkGroup) routes() []route {
	return []route{on(fiber.MethodGet, "/wecom/jssdk", s.getJSSDK)}
}

// metricGroup is adoption and engagement metrics (/v1/metrics/...).
type metricGroup struct {
	Adoption *adoption.Service
}

func (s *metricGroup) routes() []route {
	readers := allowRoles(auth.RoleExec, auth.RoleAdmin, auth.RolePlatform)
	return []route{
		on(fiber.MethodGet, "/metrics", readers, s.getSeries),
		on(fiber.MethodGet, "/metrics/active", readers, s.getActive),
		on(fiber.MethodGet, "/metrics/retention", readers, s.getRetention),
	}
}

// tagGroup is the tenants' tag libraries and customer tagging.
type tagGroup struct {
	writer
	Tags     *cdp.TagLibrary
	Profiles *cdp.Profiles
}

func (s *tagGroup) routes() []route {
	return []route{
		on(fiber.MethodGet, "/tags", s.listTags),
		on(fiber.MethodPost, "/tags", s.createTag),
		on(fiber.MethodPut, "/tags/order", s.orderTags),
		on(fiber.MethodGet, "/tags/:id", s.getTag),
		on(fiber.MethodPatch, "/tags/:id", s.updateTag),
		on(fiber.MethodDelete, "/tags/:id", s.deleteTag),
		on(fiber.MethodPost, "/customers/:id/tags", s.tagCustomer),
	}
}

// meterGroup is contact meters and billing usage.
type meterGroup struct {
	Metering *metering.Service
}

func (s *meterGroup) routes() []route {
	return []route{
		on(fiber.MethodGet, "/meters/:meter", allowRoles(auth.RoleBilling, auth.RoleAdmin, auth.RoleExec, auth.RolePlatform), s.getMeter),
		on(fiber.MethodGet, "/billing/usage", allowRoles(auth.RoleBilling, auth.RolePlatform), s.getUsage),
	}
}

// segmentGroup previews segment definitions.
type segmentGroup struct {
	Segments *cdp.Segments
}

func (s *segmentGroup) routes() []route {
	return []route{on(fiber.MethodPost, "/segments/preview", s.previewSegment)}
}

// followupGroup is follow-ups, timelines, boards, stages, the day's
// reads and teams.
type followupGroup struct {
	writer
	*consistency
	Followup *followup.Reader
	Boards   *followup.Boards     // nil: boards and timelines from ClickHouse
	RepStats *followup.RepStats   // nil: rep statistics from ClickHouse
	Stages   *followup.StageLists // nil: the default list, PUT answers 404
	Profiles *cdp.Profiles
}

func (s *followupGroup) routes() []route {
	return []route{
		on(fiber.MethodPost, "/customers/:id/followups", s.logFollowup),
		on(fiber.MethodPut, "/customers/:id/stage", s.changeStage),
		on(fiber.MethodGet, "/customers/:id/timeline", s.getTimeline),
		on(fiber.MethodGet, "/followups/board", s.getBoard),
		on(fiber.MethodGet, "/followups/stages", s.getStages),
		on(fiber.MethodPut, "/followups/stages", s.putStages),
		on(fiber.MethodGet, "/followups/reminders", s.getReminders),
		on(fiber.MethodGet, "/followups/digest", s.getDigest),
		on(fiber.MethodGet, "/followups/funnel", s.getFunnel),
		on(fiber.MethodGet, "/followups/stats", s.getStats),
		on(fiber.MethodPut, "/staff/:id/manager", s.putManager),
		on(fiber.MethodDelete, "/staff/:id/manager", s.deleteManager),
		on(fiber.MethodGet, "/followups/team", s.getTeam),
	}
}

// poolGroup is the customer pool: claims, releases, assignments,
// transfers, departures and rules.
type poolGroup struct {
	Pool *followup.Pool
}

func (s *poolGroup) routes() []route {
	return []route{
		on(fiber.MethodGet, "/pool", s.getPool),
		on(fiber.MethodPost, "/pool/claim", s.claimFromPool),
		on(fiber.MethodGet, "/pool/rules", s.getPoolRules),
		on(fiber.MethodPut, "/pool/rules", s.putPoolRules),
		on(fiber.MethodPost, "/customers/transfer", s.transferCustomers),
		on(fiber.MethodPost, "/customers/:id/release", s.releaseCustomer),
		on(fiber.MethodPost, "/customers/:id/assign", s.assignCustomer),
		on(fiber.MethodPost, "/staff/:id/depart", s.departStaff),
		on(fiber.MethodGet, "/staff/:id/handover-preview", s.previewHandover),
	}
}

// savedGroup is saved segments and their bulk jobs.
type savedGroup struct {
	writer
	Segments      *cdp.Segments
	SavedSegments *cdp.SavedSegments
	Jobs          *cdp.Jobs
	Tags          *cdp.TagLibrary // nil: a segment cannot be tagged (404)
	log           *slog.Logger
}

func (s *savedGroup) routes() []route {
	return []route{
		on(fiber.MethodPost, "/segments", s.saveSegment),
		on(fiber.MethodGet, "/segments", s.listSegments),
		on(fiber.MethodGet, "/segments/:id", s.getSegment),
		on(fiber.MethodPut, "/segments/:id", s.replaceSegment),
		on(fiber.MethodDelete, "/segments/:id", s.deleteSegment),
		on(fiber.MethodGet, "/segments/:id/customers", s.segmentCustomers),
		on(fiber.MethodGet, "/segments/:id/export", s.exportSegment),
		on(fiber.MethodPost, "/segments/:id/tag", s.tagSegment),
		on(fiber.MethodGet, "/jobs/:id", s.getJob),
	}
}

// mountGroups builds every group Deps holds the parts of and mounts the
// routes, in the order the router has always had them.
func (s *Server) mountGroups(v1 fiber.Router) {
	d, w := s.Deps, writer{pub: s.pub}
	mount(v1, (&eventGroup{pub: s.pub, metrics: s.metrics}).routes(), true, "")
	mount(v1, (&customerGroup{Profiles: d.Profiles, Settings: d.Settings, Followup: d.Followup, Boards: d.Boards}).routes(), true, "")
	mount(v1, (&settingsGroup{Settings: d.Settings}).routes(), d.Settings != nil, "tenant settings are not served by this process")
	mount(v1, (&wecomGroup{WeCom: d.WeCom}).routes(), d.WeCom != nil, "not found")
	mount(v1, (&jssdkGroup{Clients: d.WeComClients}).routes(), d.WeComClients != nil,
		"the WeCom JS-SDK is not served by this process")
	mount(v1, (&metricGroup{Adoption: d.Adoption}).routes(), d.Adoption != nil, "metrics are not served by this process")
	mount(v1, (&tagGroup{writer: w, Tags: d.Tags, Profiles: d.Profiles}).routes(), d.Tags != nil,
		"tags are not enabled on this server")
	mount(v1, (&meterGroup{Metering: d.Metering}).routes(), d.Metering != nil, "metering is not served by this process")
	mount(v1, (&segmentGroup{Segments: d.Segments}).routes(), d.Segments != nil, "segments are not enabled on this server")
	mount(v1, (&followupGroup{writer: w, consistency: s.consistency, Followup: d.Followup, Boards: d.Boards, RepStats: d.RepStats,
		Stages: d.Stages, Profiles: d.Profiles}).routes(), d.Followup != nil, "follow-ups are not enabled on this server")
	mount(v1, (&poolGroup{Pool: d.Pool}).routes(), d.Pool != nil, "the customer pool is not enabled on this server")
	saved := &savedGroup{writer: w, Segments: d.Segments, SavedSegments: d.SavedSegments, Jobs: d.Jobs, Tags: d.Tags, log: s.log}
	mount(v1, (&sessionGroup{Users: d.Users}).routes(), d.Users != nil, usersOff)
	mount(v1, (&userGroup{Users: d.Users}).routes(), d.Users != nil, usersOff)
	mount(v1, (&keyGroup{Keys: d.Keys}).routes(), true, "")
	mount(v1, (&grafanaGroup{Probe: d.Grafana}).routes(), true, "")
	mount(v1, saved.routes(), d.Segments != nil && d.SavedSegments != nil && d.Jobs != nil,
		"saved segments are not enabled on this server")
}
