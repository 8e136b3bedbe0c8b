package api

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-dev/siyu/auth"
	"github.com/siyu-dev/siyu/cdp"
)

// getCustomer returns one customer profile. A rep sees only customers they
// hold a live relation with; anyone else's answer is 404, so that a rep
// cannot learn which customers exist.
func (s *Server) getCustomer(c *fiber.Ctx) error {
	if err := allow(c, auth.RoleAdmin, auth.RoleManager, auth.RoleMarketer, auth.RoleRep, auth.RolePlatform); err != nil {
		return err
	}
	tenant, err := tenantOf(c)
	if err != nil {
		return err
	}
	id := strings.Clone(c.Params("id"))
	if id == "" || len(id) > 128 {
		return badRequest("id", "a customer id is 1–128 characters")
	}
	pr, err := s.Profiles.Get(c.UserContext(), tenant, id)
	if err != nil {
		return err
	}
	if p := principal(c); p.Role == auth.RoleRep && !pr.HasRelation(p.StaffID) {
		return cdp.ErrNotFound
	}
	return c.JSON(pr)
}
