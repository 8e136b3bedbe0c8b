package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/siyu-dev/siyu/auth"
	"github.com/siyu-dev/siyu/cdp"
)

// getCustomer returns one customer profile. A rep sees only customers they
// hold a live relation with; anyone else's answer is 404, so that a rep
// cannot learn which customers exist.
func (s *customerGroup) getCustomer(c *fiber.Ctx) error {
	if err := allow(c, auth.RoleAdmin, auth.RoleManager, auth.RoleMarketer, auth.RoleRep, auth.RolePlatform); err != nil {
		return err
	}
	tenant, err := tenantOf(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id", "a customer id")
	if err != nil {
		return err
	}
	pr, err := s.Profiles.Get(ctxOf(c), tenant, id)
	if err != nil {
		return err
	}
	if p := principal(c); p.Role == auth.RoleRep && !pr.HasRelation(p.StaffID) {
		return cdp.ErrNotFound
	}
	return c.JSON(pr)
}
