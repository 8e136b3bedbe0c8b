package api

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-dev/siyu/auth"
	"github.com/siyu-dev/siyu/cdp"
)

// defaultSegmentPage is the page size of a preview that names none.
const defaultSegmentPage = 100

// segmentReaders may preview segments. A rep previews only their own
// customers: the segment is narrowed to those they hold a live relation with.
var segmentReaders = []auth.Role{auth.RoleAdmin, auth.RoleMarketer, auth.RoleManager, auth.RoleRep, auth.RolePlatform}

type previewRequest struct {
	Definition json.RawMessage `json:"definition"`
	Limit      *int            `json:"limit"`
	After      string          `json:"after"`
}

type previewResponse struct {
	Count     uint64              `json:"count"`
	Customers []cdp.SegmentMember `json:"customers"`
}

// previewSegment answers the exact size of a segment and its first page
// (or the page after "after"), by contact id.
func (s *segmentGroup) previewSegment(c *fiber.Ctx) error {
	tenant, err := authorize(c, segmentReaders)
	if err != nil {
		return err
	}
	var req previewRequest
	if err := decodeBody(c, &req, `send {"definition": {...}, "limit": 100, "after": "<contact id>"} as JSON`); err != nil {
		return err
	}
	if req.After != "" {
		if err := checkID("after", req.After); err != nil {
			return err
		}
	}
	limit := defaultSegmentPage
	if req.Limit != nil {
		limit = *req.Limit
	}
	if limit < 0 || limit > cdp.MaxSegmentPage {
		return badRequest("limit", "limit is 0–1000")
	}
	if len(req.Definition) == 0 || string(req.Definition) == "null" {
		return badRequest("definition", "a segment definition is required")
	}
	seg, err := cdp.ParseSegment(req.Definition)
	if se, ok := cdp.AsSegmentError(err); ok {
		return badRequest(strings.TrimSuffix("definition."+se.Path, "."), se.Error())
	}
	if err != nil {
		return err
	}
	if p := principal(c); p.Role == auth.RoleRep {
		seg = seg.ForStaff(p.StaffID)
	}
	ctx, now := ctxOf(c), time.Now()
	n, err := s.Segments.Count(ctx, tenant, seg, now)
	if err != nil {
		return err
	}
	page, err := s.Segments.Page(ctx, tenant, seg, now, strings.Clone(req.After), limit)
	if err != nil {
		return err
	}
	return c.JSON(previewResponse{Count: n, Customers: page})
}
