package api

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-dev/siyu/auth"
	"github.com/siyu-dev/siyu/cdp"
	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/followup"
)

// followupRoles may log follow-ups, change stages and read timelines and
// boards; a rep only for customers they hold a live relation with.
var followupRoles = []auth.Role{auth.RoleAdmin, auth.RoleManager, auth.RoleRep}

// Page sizes of timelines and boards.
const (
	defaultPageLimit = 50
	maxPageLimit     = 200
	maxNoteBytes     = 4000
)

type followupRequest struct {
	StaffID string `json:"staff_id"`
	Channel string `json:"channel"`
	Note    string `json:"note"`
	NextAt  string `json:"next_at"`
}

type stageRequest struct {
	StaffID string `json:"staff_id"`
	Stage   string `json:"stage"`
}

type writeResponse struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	ContactID  string `json:"contact_id"`
	WriteToken string `json:"write_token"`
}

// logFollowup records a follow-up as a followup.logged event.
func (s *followupGroup) logFollowup(c *fiber.Ctx) error {
	var req followupRequest
	if err := decodeBody(c, &req, `send {"channel", "note", "next_at"} as JSON`); err != nil {
		return err
	}
	if !followup.ValidChannel(req.Channel) {
		return badRequest("channel", "must be one of "+strings.Join(followup.Channels, ", "))
	}
	if len(req.Note) > maxNoteBytes {
		return badRequest("note", "at most "+strconv.Itoa(maxNoteBytes)+" bytes")
	}
	var next time.Time
	if req.NextAt != "" {
		t, err := time.Parse(time.RFC3339, req.NextAt)
		if err != nil {
			return badRequest("next_at", "must be an RFC 3339 time, e.g. 2026-01-02T10:00:00+08:00")
		}
		if err := checkInputTime("next_at", t); err != nil {
			return err
		}
		next = t
	}
	ev, err := s.followupEvent(c, event.FollowupLogged, req.StaffID)
	if err != nil {
		return err
	}
	ev.Data.Set(event.FChannel, req.Channel)
	if req.Note != "" {
		ev.Data.Set(event.FNote, req.Note)
	}
	if !next.IsZero() {
		ev.Data.SetTime(event.FNextAt, next)
	}
	return s.publishOne(c, ev)
}

// changeStage moves a customer to a stage of the default list, as a
// followup.stage_changed event.
func (s *followupGroup) changeStage(c *fiber.Ctx) error {
	var req stageRequest
	if err := decodeBody(c, &req, `send {"stage"} as JSON`); err != nil {
		return err
	}
	ev, err := s.followupEvent(c, event.FollowupStageChange, req.StaffID)
	if err != nil {
		return err
	}
	if err := s.checkStage(ctxOf(c), ev.Tenant, req.Stage); err != nil {
		return err
	}
	ev.Data.Set(event.FStage, req.Stage)
	return s.publishOne(c, ev)
}

// followupEvent checks the caller may write about the customer and starts
// the event. The staff id is the key's; a key without one (admin, manager)
// names it in the body.
func (s *followupGroup) followupEvent(c *fiber.Ctx, typ event.Type, bodyStaff string) (event.Event, error) {
	tenant, contact, err := s.followupCustomer(c)
	if err != nil {
		return event.Event{}, err
	}
	staff := principal(c).StaffID
	switch {
	case staff == "" && bodyStaff == "":
		return event.Event{}, badRequest("staff_id", "this key has no staff id: name the staff member in \"staff_id\"")
	case staff == "":
		staff = bodyStaff
	case bodyStaff != "" && bodyStaff != staff:
		return event.Event{}, forbidden("this key acts as staff " + strconv.Quote(staff) + "; it cannot write as another")
	}
	if err := checkID("staff_id", staff); err != nil {
		return event.Event{}, err
	}
	ev := event.Event{ID: newEventID(), Source: apiSource, Type: typ, Tenant: tenant, Subject: contact, Time: time.Now().UTC()}
	ev.Data.Set(event.FStaffID, staff)
	return ev, nil
}

// followupCustomer checks the caller's role and returns the tenant and the
// customer, which must exist; a rep must hold a live relation with it or be
// its assignee (404 otherwise, as for GET /v1/customers/{id}).
func (s *followupGroup) followupCustomer(c *fiber.Ctx) (string, string, error) {
	tenant, err := authorize(c, followupRoles)
	if err != nil {
		return "", "", err
	}
	contact, err := pathID(c, "id", "a customer id")
	if err != nil {
		return "", "", err
	}
	p := principal(c)
	if s.Boards != nil && len(readAfterPositions(c)) == 0 {
		staff := ""
		if p.Role == auth.RoleRep {
			staff = p.StaffID
		}
		if s.Boards.MayRead(tenant, contact, staff) {
			return tenant, contact, nil // shown by memory; a "no" is ClickHouse's to say
		}
	}
	pr, err := s.Profiles.GetHolders(ctxOf(c), tenant, contact)
	if err != nil {
		return "", "", err
	}
	if p.Role == auth.RoleRep && !pr.HasRelation(p.StaffID) {
		if ok, err := s.isAssignee(c, tenant, contact, p.StaffID); err != nil || !ok {
			return "", "", cmp.Or(err, cdp.ErrNotFound)
		}
	}
	return tenant, contact, nil
}

// getTimeline returns a page of the customer's events, newest first. A
// first page may come from the timeline cache (followup.Boards.Timeline);
// Cache-Control: no-cache reads ClickHouse.
func (s *followupGroup) getTimeline(c *fiber.Ctx) error {
	tenant, contact, err := s.followupCustomer(c)
	if err != nil {
		return err
	}
	limit, err := pageLimit(c)
	if err != nil {
		return err
	}
	var page *followup.TimelinePage
	if s.Boards != nil {
		fresh := strings.Contains(strings.ToLower(c.Get(fiber.HeaderCacheControl)), "no-cache")
		page, err = s.Boards.Timeline(ctxOf(c), tenant, contact, c.Query("cursor"), limit, fresh, readAfterPositions(c))
	} else {
		page, err = s.Followup.Timeline(ctxOf(c), tenant, contact, c.Query("cursor"), limit)
	}
	if err != nil {
		return err
	}
	return c.JSON(page)
}

// getBoard returns a page of a staff member's board. A rep sees only their
// own, a manager with a staff id their team's, others name the staff member
// (dayScope).
func (s *followupGroup) getBoard(c *fiber.Ctx) error {
	tenant, scope, err := s.dayRead(c, true)
	if err != nil {
		return err
	}
	stage := strings.Clone(c.Query("stage"))
	if stage != "" {
		if err := s.checkStage(ctxOf(c), tenant, stage); err != nil {
			return err
		}
	}
	view := strings.Clone(c.Query("view", followup.ViewAll))
	if !slices.Contains(followup.Views, view) {
		return badRequest("view", "must be one of "+strings.Join(followup.Views, ", "))
	}
	limit, err := pageLimit(c)
	if err != nil {
		return err
	}
	q := followup.BoardQuery{Tenant: tenant, StaffID: scope.StaffID, View: view, Stage: stage,
		Cursor: c.Query("cursor"), Limit: limit, Now: time.Now(), After: readAfterPositions(c)}
	page, err := s.board(c, q)
	if err != nil {
		return err
	}
	return c.JSON(page)
}

// board reads q's page: from the memory board when it is loaded and (for a
// read after writes) its tail has passed them, else from ClickHouse once
// the ingest group has committed them.
func (s *followupGroup) board(c *fiber.Ctx, q followup.BoardQuery) (*followup.BoardPage, error) {
	ctx := ctxOf(c)
	if s.Boards == nil {
		return s.Followup.Board(ctx, q)
	}
	if len(q.After) == 0 {
		return s.Boards.Board(ctx, q)
	}
	if s.Boards.Ready(q.Tenant) && s.Boards.WaitPassed(ctx, q.After) {
		c.Set(ConsistencyHeader, "fresh")
		return s.Boards.Board(ctx, q)
	}
	s.awaitCommitted(c, q.After)
	return s.Followup.Board(ctx, q)
}

// checkStage refuses a stage that is not one of the tenant's.
func (s *followupGroup) checkStage(ctx context.Context, tenant, stage string) error {
	list, err := s.stageList(ctx, tenant)
	if err != nil {
		return err
	}
	if !slices.Contains(list.Stages, stage) {
		return badRequest("stage", "must be one of the tenant's stages: "+strings.Join(list.Stages, ", "))
	}
	return nil
}

func pageLimit(c *fiber.Ctx) (int, error) {
	q := c.Query("limit")
	if q == "" {
		return defaultPageLimit, nil
	}
	n, err := strconv.Atoi(q)
	if err != nil || n < 1 || n > maxPageLimit {
		return 0, badRequest("limit", "must be an integer from 1 to "+strconv.Itoa(maxPageLimit))
	}
	return n, nil
}
