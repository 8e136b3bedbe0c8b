package api

import (
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-dev/siyu/auth"
	"github.com/siyu-dev/siyu/followup"
)

// Who may do what with the customer pool: reps claim and release for
// themselves; managers and admins also assign, transfer and hand over;
// admins set the rules.
var (
	poolRoles    = []auth.Role{auth.RoleAdmin, auth.RoleManager, auth.RoleRep}
	managerRoles = []auth.Role{auth.RoleAdmin, auth.RoleManager}
	adminRoles   = []auth.Role{auth.RoleAdmin}
)

// maxPoolIDs bounds the customers of one claim or transfer.
const (
	maxPoolIDs       = 100
	maxReleaseReason = 500
	maxRuleValue     = 1_000_000
)

func (s *poolGroup) getPool(c *fiber.Ctx) error {
	tenant, err := authorize(c, poolRoles)
	if err != nil {
		return err
	}
	limit, err := pageLimit(c)
	if err != nil {
		return err
	}
	page, err := s.Pool.Page(ctxOf(c), tenant, c.Query("cursor"), limit)
	if err != nil {
		return err
	}
	return c.JSON(page)
}

type claimRequest struct {
	CustomerIDs []string `json:"customer_ids"`
}

type claimResponse struct {
	StaffID string             `json:"staff_id"`
	Claimed []string           `json:"claimed"`
	Refused []followup.Refusal `json:"refused"`
}

// claimFromPool claims customers for the key's own staff member; each
// refusal names its rule.
func (s *poolGroup) claimFromPool(c *fiber.Ctx) error {
	tenant, err := authorize(c, poolRoles)
	if err != nil {
		return err
	}
	staff := principal(c).StaffID
	if staff == "" {
		return badRequest("staff_id", "this key has no staff id: a claim is for the key's own staff member (managers assign with POST /v1/customers/{id}/assign)")
	}
	var req claimRequest
	if err := decodeBody(c, &req, `send {"customer_ids": [...]} as JSON`); err != nil {
		return err
	}
	if err := checkIDs("customer_ids", req.CustomerIDs); err != nil {
		return err
	}
	out, err := s.Pool.Claim(ctxOf(c), tenant, staff, req.CustomerIDs)
	setWriteToken(c, out.Written)
	if err != nil {
		return err
	}
	return c.JSON(claimResponse{StaffID: staff, Claimed: nonNil(out.Accepted), Refused: nonNilRefusals(out.Refused)})
}

type releaseRequest struct {
	Reason string `json:"reason"`
}

// releaseCustomer returns a customer to the pool: a rep only their own.
func (s *poolGroup) releaseCustomer(c *fiber.Ctx) error {
	tenant, err := authorize(c, poolRoles)
	if err != nil {
		return err
	}
	contact, err := pathID(c, "id", "a customer id")
	if err != nil {
		return err
	}
	var req releaseRequest
	if len(c.Body()) > 0 {
		if err := decodeBody(c, &req, `send {"reason": "..."} as JSON`); err != nil {
			return err
		}
	}
	if len(req.Reason) > maxReleaseReason {
		return badRequest("reason", "at most "+strconv.Itoa(maxReleaseReason)+" bytes")
	}
	p := principal(c)
	written, err := s.Pool.Release(ctxOf(c), tenant, p.StaffID, p.Role == auth.RoleRep, contact, req.Reason)
	if err != nil {
		return err
	}
	setWriteToken(c, written)
	return c.JSON(fiber.Map{"customer_id": contact, "assignee": nil})
}

type assignRequest struct {
	StaffID string `json:"staff_id"`
}

// assignCustomer makes a staff member the customer's assignee (managers).
func (s *poolGroup) assignCustomer(c *fiber.Ctx) error {
	tenant, err := authorize(c, managerRoles)
	if err != nil {
		return err
	}
	contact, err := pathID(c, "id", "a customer id")
	if err != nil {
		return err
	}
	var req assignRequest
	if err := decodeBody(c, &req, `send {"staff_id": "..."} as JSON`); err != nil {
		return err
	}
	if err := checkID("staff_id", req.StaffID); err != nil {
		return err
	}
	written, err := s.Pool.Assign(ctxOf(c), tenant, contact, req.StaffID)
	if err != nil {
		return err
	}
	setWriteToken(c, written)
	return c.JSON(fiber.Map{"customer_id": contact, "assignee": req.StaffID})
}

type transferRequest struct {
	From        string   `json:"from"`
	To          string   `json:"to"`
	CustomerIDs []string `json:"customer_ids"`
}

type transferResponse struct {
	From        string             `json:"from"`
	To          string             `json:"to"`
	Transferred []string           `json:"transferred"`
	Refused     []followup.Refusal `json:"refused"`
}

// transferCustomers moves customers between reps, at most twice per
// customer in 90 days.
func (s *poolGroup) transferCustomers(c *fiber.Ctx) error {
	tenant, err := authorize(c, managerRoles)
	if err != nil {
		return err
	}
	var req transferRequest
	if err := decodeBody(c, &req, `send {"from", "to", "customer_ids": [...]} as JSON`); err != nil {
		return err
	}
	if err := checkID("from", req.From); err != nil {
		return err
	}
	if err := checkID("to", req.To); err != nil {
		return err
	}
	if req.From == req.To {
		return badRequest("to", "must differ from \"from\"")
	}
	if err := checkIDs("customer_ids", req.CustomerIDs); err != nil {
		return err
	}
	out, err := s.Pool.Transfer(ctxOf(c), tenant, req.From, req.To, req.CustomerIDs)
	setWriteToken(c, out.Written)
	if err != nil {
		return err
	}
	return c.JSON(transferResponse{From: req.From, To: req.To, Transferred: nonNil(out.Accepted), Refused: nonNilRefusals(out.Refused)})
}

type departRequest struct {
	Successor string `json:"successor"`
}

// departStaff records a departure and hands the rep's customers over.
func (s *poolGroup) departStaff(c *fiber.Ctx) error {
	tenant, err := authorize(c, managerRoles)
	if err != nil {
		return err
	}
	staff, err := pathID(c, "id", "a staff id")
	if err != nil {
		return err
	}
	var req departRequest
	if len(c.Body()) > 0 {
		if err := decodeBody(c, &req, `send {"successor": "..."} as JSON (omit it: to the pool)`); err != nil {
			return err
		}
	}
	if req.Successor != "" {
		if err := checkID("successor", req.Successor); err != nil {
			return err
		}
		if req.Successor == staff {
			return badRequest("successor", "must differ from the departing staff member")
		}
	}
	out, err := s.Pool.Depart(ctxOf(c), tenant, staff, req.Successor)
	if err != nil {
		return err
	}
	setWriteToken(c, out.Written)
	return c.Status(http.StatusCreated).JSON(fiber.Map{"staff_id": staff, "successor": req.Successor, "moved": nonNil(out.Accepted)})
}

type handoverPreview struct {
	StaffID   string   `json:"staff_id"`
	Successor string   `json:"successor"`
	Moves     []string `json:"moves"`
}

// previewHandover is what POST /v1/staff/{id}/depart with the same
// successor would move now, decided by the pool and not written.
func (s *poolGroup) previewHandover(c *fiber.Ctx) error {
	tenant, err := authorize(c, managerRoles)
	if err != nil {
		return err
	}
	staff, err := pathID(c, "id", "a staff id")
	if err != nil {
		return err
	}
	successor, err := queryID(c, "successor", "a staff id")
	if err != nil {
		return err
	}
	if successor == staff {
		return badRequest("successor", "must differ from the departing staff member")
	}
	moves, err := s.Pool.DepartPreview(ctxOf(c), tenant, staff, successor)
	if err != nil {
		return err
	}
	return c.JSON(handoverPreview{StaffID: staff, Successor: successor, Moves: nonNil(moves)})
}

func (s *poolGroup) getPoolRules(c *fiber.Ctx) error {
	tenant, err := authorize(c, poolRoles)
	if err != nil {
		return err
	}
	r, err := s.Pool.Rules(ctxOf(c), tenant)
	if err != nil {
		return err
	}
	return c.JSON(r)
}

func (s *poolGroup) putPoolRules(c *fiber.Ctx) error {
	tenant, err := authorize(c, adminRoles)
	if err != nil {
		return err
	}
	var r followup.Rules
	if err := decodeBody(c, &r, `send {"max_hold", "max_claims_per_day", "recycle_days", "cooldown_days"} as JSON integers (0 = no limit)`); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		v    int64
	}{{"max_hold", r.MaxHold}, {"max_claims_per_day", r.MaxClaimsPerDay}, {"recycle_days", r.RecycleDays}, {"cooldown_days", r.CooldownDays}} {
		if f.v < 0 || f.v > maxRuleValue {
			return badRequest(f.name, "must be an integer from 0 (no limit) to "+strconv.Itoa(maxRuleValue))
		}
	}
	if err := s.Pool.SetRules(ctxOf(c), tenant, r); err != nil {
		return err
	}
	return c.JSON(r)
}

func checkIDs(field string, ids []string) error {
	if len(ids) == 0 || len(ids) > maxPoolIDs {
		return badRequest(field, "must list 1 to "+strconv.Itoa(maxPoolIDs)+" customer ids")
	}
	for i, id := range ids {
		if err := checkID(field+"["+strconv.Itoa(i)+"]", id); err != nil {
			return err
		}
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilRefusals(r []followup.Refusal) []followup.Refusal {
	if r == nil {
		return []followup.Refusal{}
	}
	return r
}

// isAssignee reports whether staff is the customer's assignee (a rep may
// follow up on customers they claimed without being their WeCom friend).
func (s *followupGroup) isAssignee(c *fiber.Ctx, tenant, contact, staff string) (bool, error) {
	a, err := assigneeOf(c, s.Boards, s.Followup, tenant, contact)
	return a != "" && a == staff, err
}

// assigneeOf is the customer's assignee ("" = the pool): from the memory
// board when it is loaded and the request waits for no write of its own,
// else from ClickHouse (boards may be nil).
func assigneeOf(c *fiber.Ctx, boards *followup.Boards, reader *followup.Reader, tenant, contact string) (string, error) {
	if boards != nil && len(readAfterPositions(c)) == 0 {
		if a, ok := boards.Assignee(tenant, contact); ok {
			return a, nil
		}
	}
	return reader.Assignee(ctxOf(c), tenant, contact)
}
