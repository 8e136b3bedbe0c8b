package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/siyu-dev/siyu/auth"
	"github.com/siyu-dev/siyu/cdp"
	"github.com/siyu-dev/siyu/settings"
)

// customerResponse is a profile and, when follow-ups are served, who the
// customer is assigned to.
type customerResponse struct {
	*cdp.Profile
	Assignment *assignment `json:"assignment,omitempty"`
}

// assignment is the customer's place in the pool: in it (no assignee), or
// assigned. A rep learns the assignee only when it is themselves: another
// rep's customer shows in_pool false and no assignee.
type assignment struct {
	InPool   bool   `json:"in_pool"`
	Assignee string `json:"assignee"`
}

// getCustomer returns one customer profile with its assignment. A rep sees
// only customers they hold a live relation with or are the assignee of;
// anyone else's answer is 404, so that a rep cannot learn which customers
// exist.
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
	withAssignment, err := includeAssignment(c)
	if err != nil {
		return err
	}
	p := principal(c)
	rep := p.Role == auth.RoleRep
	// A rep without a relation may still be the assignee: the assignment
	// is read for the wall even when not asked for.
	var a *assignment
	if s.Followup != nil && (withAssignment || rep && !pr.HasRelation(p.StaffID)) {
		staff, err := assigneeOf(c, s.Boards, s.Followup, tenant, id)
		if err != nil {
			return err
		}
		a = &assignment{InPool: staff == "", Assignee: staff}
	}
	resp := customerResponse{Profile: pr}
	if withAssignment {
		resp.Assignment = a
	}
	if !rep {
		return c.JSON(resp)
	}
	mine := a != nil && p.StaffID != "" && a.Assignee == p.StaffID
	if !pr.HasRelation(p.StaffID) && !mine {
		return cdp.ErrNotFound
	}
	if a != nil && !mine {
		a.Assignee = ""
	}
	if s.Settings != nil {
		st, err := s.Settings.Get(ctxOf(c), tenant)
		if err != nil {
			return err
		}
		if st.MaskPhonesForReps {
			resp.Profile = maskPhones(pr)
		}
	}
	return c.JSON(resp)
}

// includeAssignment reads include: "assignment" adds the customer's
// assignment to the profile (a read of the pool's state that a profile
// read does not otherwise pay for).
func includeAssignment(c *fiber.Ctx) (bool, error) {
	switch c.Query("include") {
	case "":
		return false, nil
	case "assignment":
		return true, nil
	}
	return false, badRequest("include", "the only thing a profile can include is assignment")
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
