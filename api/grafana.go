package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/siyu-dev/siyu/auth"
	"github.com/siyu-dev/siyu/dashboards"
)

// grafanaGroup is the live check of the deployment's Grafana, for the
// admins who provision its dashboards.
type grafanaGroup struct {
	Probe *dashboards.Probe // nil: no Grafana configured
}

func (s *grafanaGroup) routes() []route {
	return []route{on(fiber.MethodGet, "/grafana/status", allowRoles(auth.RoleAdmin, auth.RolePlatform), s.getStatus)}
}

// grafanaStatus is GET /v1/grafana/status's answer: whether a Grafana is
// configured, whether its token is (without one only its health is
// checked), and what the check found.
type grafanaStatus struct {
	Configured bool `json:"configured"`
	TokenSet   bool `json:"token_set"`
	*dashboards.Status
}

// getStatus asks the configured Grafana, now: its health, and with a token
// whether the data source and each dashboard `siyu dashboards apply`
// provisions are there. It answers 200 whatever Grafana says: the status
// says it.
func (s *grafanaGroup) getStatus(c *fiber.Ctx) error {
	if s.Probe == nil || s.Probe.URL == "" {
		return c.JSON(grafanaStatus{})
	}
	st := s.Probe.Check(ctxOf(c))
	return c.JSON(grafanaStatus{Configured: true, TokenSet: s.Probe.Token != "", Status: &st})
}
