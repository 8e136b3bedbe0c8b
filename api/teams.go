package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-dev/siyu/auth"
	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/kafka"
)

// Teams: admins put reps in managers' teams (staff.manager_set); a manager
// whose key has a staff id then reads the day routes of their team only.
var teamReaders = []auth.Role{auth.RoleAdmin, auth.RoleManager, auth.RolePlatform}

type managerRequest struct {
	ManagerID string `json:"manager_id"`
}

type managerResponse struct {
	ID         string `json:"id"`
	StaffID    string `json:"staff_id"`
	ManagerID  string `json:"manager_id"`
	WriteToken string `json:"write_token"`
}

// putManager makes the body's manager the manager of the rep in the path.
func (s *followupGroup) putManager(c *fiber.Ctx) error {
	var req managerRequest
	if err := decodeBody(c, &req, `send {"manager_id": "<staff id>"} as JSON`); err != nil {
		return err
	}
	if req.ManagerID == "" {
		return badRequest("manager_id", "the manager's staff id is required (DELETE removes a rep's manager)")
	}
	if err := checkID("manager_id", req.ManagerID); err != nil {
		return err
	}
	return s.setManager(c, req.ManagerID)
}

// deleteManager leaves the rep without a manager.
func (s *followupGroup) deleteManager(c *fiber.Ctx) error { return s.setManager(c, "") }

func (s *followupGroup) setManager(c *fiber.Ctx, manager string) error {
	tenant, err := authorize(c, stageAdmins)
	if err != nil {
		return err
	}
	rep, err := pathID(c, "id", "a staff id")
	if err != nil {
		return err
	}
	if rep == manager {
		return badRequest("manager_id", "a rep cannot be their own manager")
	}
	ev := event.Event{ID: newEventID(), Source: apiSource, Type: event.StaffManagerSet, Tenant: tenant, Subject: rep, Time: time.Now().UTC()}
	if manager != "" {
		ev.Data.Set(event.FStaffID, manager)
	} else {
		ev.Data.SetBool(event.FDeleted, true)
	}
	ps, err := s.publishPositions(ctxOf(c), ev)
	if err != nil {
		return err
	}
	token := kafka.FormatPositions(ps)
	c.Set(WriteTokenHeader, token)
	return c.Status(http.StatusOK).JSON(managerResponse{ID: ev.ID, StaffID: rep, ManagerID: manager, WriteToken: token})
}

type teamResponse struct {
	ManagerID string   `json:"manager_id"`
	Members   []string `json:"members"`
}

// getTeam lists a manager's reps: a manager key with a staff id its own,
// admins (and managers without a staff id) the manager_id named.
func (s *followupGroup) getTeam(c *fiber.Ctx) error {
	tenant, err := authorize(c, teamReaders)
	if err != nil {
		return err
	}
	p := principal(c)
	manager, err := queryID(c, "manager_id", "a staff id")
	switch {
	case err != nil:
		return err
	case p.Role == auth.RoleManager && p.StaffID != "" && manager != "" && manager != p.StaffID:
		return forbidden("this key is manager " + strconv.Quote(p.StaffID) + "; it reads only its own team")
	case manager == "" && p.StaffID != "":
		manager = p.StaffID
	case manager == "":
		return badRequest("manager_id", "this key has no staff id: add ?manager_id=<staff id>")
	}
	members, err := s.Followup.Team(ctxOf(c), tenant, manager)
	if err != nil {
		return err
	}
	return c.JSON(teamResponse{ManagerID: manager, Members: members})
}
