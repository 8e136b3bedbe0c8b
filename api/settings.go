package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/siyu-dev/siyu/settings"
)

// settingsRequest is the body of PUT /v1/settings: every setting, each
// required, so that a save never resets one the client did not know of.
type settingsRequest struct {
	MaskPhonesForReps *bool `json:"mask_phones_for_reps"`
}

// getSettings shows the tenant's settings (the defaults when never set).
func (s *settingsGroup) getSettings(c *fiber.Ctx) error {
	tenant, err := tenantOf(c)
	if err != nil {
		return err
	}
	st, err := s.Settings.Get(ctxOf(c), tenant)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"tenant": tenant, "mask_phones_for_reps": st.MaskPhonesForReps, "updated_at": nullTime(st)})
}

// putSettings replaces the tenant's settings.
func (s *settingsGroup) putSettings(c *fiber.Ctx) error {
	tenant, err := tenantOf(c)
	if err != nil {
		return err
	}
	var req settingsRequest
	if err := decodeBody(c, &req, `send {"mask_phones_for_reps": true|false}`); err != nil {
		return err
	}
	if req.MaskPhonesForReps == nil {
		return badRequest("mask_phones_for_reps", "mask_phones_for_reps is required: true or false")
	}
	st, err := s.Settings.Put(ctxOf(c), tenant, settings.Settings{MaskPhonesForReps: *req.MaskPhonesForReps})
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"tenant": tenant, "mask_phones_for_reps": st.MaskPhonesForReps, "updated_at": nullTime(st)})
}

func nullTime(st settings.Settings) any {
	if st.UpdatedAt.IsZero() {
		return nil
	}
	return st.UpdatedAt
}
