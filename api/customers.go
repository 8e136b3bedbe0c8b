package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/siyu-dev/siyu/auth"
	"github.com/siyu-dev/siyu/cdp"
	"github.com/siyu-dev/siyu/settings"
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
	if p := principal(c); p.Role == auth.RoleRep {
		if !pr.HasRelation(p.StaffID) {
			return cdp.ErrNotFound
		}
		if s.Settings != nil {
			st, err := s.Settings.Get(ctxOf(c), tenant)
			if err != nil {
				return err
			}
			if st.MaskPhonesForReps {
				return c.JSON(maskPhones(pr))
			}
		}
	}
	return c.JSON(pr)
}

// maskPhones is pr as a rep sees it when the tenant masks phones: the phone
// and every phone among the ids (all digits, as phone identifiers are)
// keep their first 3 and last 4 digits.
func maskPhones(pr *cdp.Profile) *cdp.Profile {
	masked := *pr
	masked.Phone = settings.MaskPhone(pr.Phone)
	masked.IDs = make([]string, len(pr.IDs))
	for i, id := range pr.IDs {
		if cdp.PhoneID(id) == id {
			id = settings.MaskPhone(id)
		}
		masked.IDs[i] = id
	}
	return &masked
}
