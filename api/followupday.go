package api

import (
	"context"
	"github.com/siyu-dev/siyu/internal/reporting"
	"slices"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-dev/siyu/auth"
	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/followup"
	"github.com/siyu-dev/siyu/kafka"
)

// Read-your-writes headers: a write answers WriteTokenHeader; a read sent
// with ReadAfterHeader waits (at most Deps.ReadAfterWait, by default
// DefaultReadAfterWait) until the pipeline has committed past it, and says
// in ConsistencyHeader whether it did.
const (
	WriteTokenHeader     = "Siyu-Write-Token"
	ReadAfterHeader      = "Siyu-Read-After"
	ConsistencyHeader    = "Siyu-Consistency"
	DefaultReadAfterWait = 2 * time.Second
)

// Bounds of the day reads: the longest reminder window and period, and the
// most reminders one answer lists.
const (
	maxReminderWindow = 7 * 24 * time.Hour
	maxStatsDays      = 92
	maxReminderItems  = 1000
)

// Who may set stage lists and teams, and who may read stage lists.
var (
	stageAdmins  = []auth.Role{auth.RoleAdmin, auth.RolePlatform}
	stageReaders = []auth.Role{auth.RoleAdmin, auth.RoleManager, auth.RoleRep, auth.RolePlatform}
)

// readAfterPositions are the positions the request's Siyu-Read-After named
// (readAfter puts them in the request's context, where the services read
// them too).
func readAfterPositions(c *fiber.Ctx) []kafka.Position {
	return kafka.ReadAfter(ctxOf(c))
}

// readAfter makes a GET carrying a write token wait until the pipeline has
// committed past it (bounded), and answers Siyu-Consistency.
func (s *consistency) readAfter(c *fiber.Ctx) error {
	token := c.Get(ReadAfterHeader)
	if token == "" || c.Method() != fiber.MethodGet {
		return c.Next()
	}
	ps, err := kafka.ParsePositions(token)
	if err != nil {
		return badRequest(ReadAfterHeader, err.Error())
	}
	c.SetUserContext(kafka.WithReadAfter(ctxOf(c), ps))
	if s.Boards != nil && c.Path() == boardPath {
		return c.Next() // getBoard waits for the memory board's tail, or for the commit
	}
	s.awaitCommitted(c, ps)
	return c.Next()
}

// boardPath is the route whose reads may be served from memory.
const boardPath = "/v1/followups/board"

// awaitCommitted waits (bounded) until the ingest group has committed past
// ps, and answers Siyu-Consistency.
func (s *consistency) awaitCommitted(c *fiber.Ctx, ps []kafka.Position) {
	state := "unknown"
	if s.Committed != nil {
		wait := s.ReadAfterWait
		if wait <= 0 {
			wait = DefaultReadAfterWait
		}
		ctx, cancel := context.WithTimeout(ctxOf(c), wait)
		ok, err := s.Committed.Wait(ctx, ps)
		cancel()
		switch {
		case ok:
			state = "fresh"
		case err != nil:
			s.log.Warn("read-your-writes: cannot read committed offsets", "err", err)
			state = "stale"
		default:
			state = "stale"
		}
	}
	c.Set(ConsistencyHeader, state)
}

// stageList is the tenant's stage list (the default without a store).
func (s *followupGroup) stageList(ctx context.Context, tenant string) (followup.StageList, error) {
	if s.Stages == nil {
		return followup.StageList{Stages: followup.Stages, Default: true}, nil
	}
	return s.Stages.Get(ctx, tenant)
}

func (s *followupGroup) getStages(c *fiber.Ctx) error {
	tenant, err := authorize(c, stageReaders)
	if err != nil {
		return err
	}
	list, err := s.stageList(ctxOf(c), tenant)
	if err != nil {
		return err
	}
	return c.JSON(list)
}

type stagesRequest struct {
	Stages []string `json:"stages"`
}

// putStages sets the tenant's ordered stage list as a stages.defined event.
func (s *followupGroup) putStages(c *fiber.Ctx) error {
	tenant, err := authorize(c, stageAdmins)
	if err != nil {
		return err
	}
	if s.Stages == nil {
		return notFound("configurable stages are not enabled on this server")
	}
	var req stagesRequest
	if err := decodeBody(c, &req, `send {"stages": ["new", "contacted", ...]} as JSON`); err != nil {
		return err
	}
	stages, err := followup.NormalizeStages(req.Stages)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	ev := event.Event{ID: newEventID(), Source: apiSource, Type: event.StagesDefined, Tenant: tenant, Subject: tenant, Time: now}
	ev.Data.Set(event.FStages, followup.JoinStages(stages))
	if staff := principal(c).StaffID; staff != "" {
		ev.Data.Set(event.FStaffID, staff)
	}
	ps, err := s.publishPositions(ctxOf(c), ev)
	if err != nil {
		return err
	}
	list := followup.StageList{Stages: stages, SetAt: &now}
	s.Stages.Remember(tenant, list)
	c.Set(WriteTokenHeader, kafka.FormatPositions(ps))
	return c.JSON(list)
}

// dayRead authorizes a read of the rep's day (followupRoles) and gives its
// tenant and scope (dayScope).
func (s *followupGroup) dayRead(c *fiber.Ctx, required bool) (string, followup.Scope, error) {
	tenant, err := authorize(c, followupRoles)
	if err != nil {
		return "", followup.Scope{}, err
	}
	scope, err := s.dayScope(c, tenant, required)
	return tenant, scope, err
}

// dayScope is whose follow-ups a day read covers. A rep: their own
// (another staff_id: 403). A manager whose key has a staff id: their team
// (staff.manager_set) and themselves, or one rep of it (another: 403).
// Managers without a staff id, admins and the platform: the whole tenant,
// or the staff_id named. required: the read is about one rep (the key's own
// when none is named).
func (s *followupGroup) dayScope(c *fiber.Ctx, tenant string, required bool) (followup.Scope, error) {
	p := principal(c)
	staff, err := queryID(c, "staff_id", "a staff id")
	switch {
	case err != nil:
		return followup.Scope{}, err
	case p.Role == auth.RoleRep && staff != "" && staff != p.StaffID:
		return followup.Scope{}, forbidden("a rep sees only their own follow-ups")
	case p.Role == auth.RoleRep:
		return followup.Scope{StaffID: p.StaffID}, nil
	case p.Role == auth.RoleManager && p.StaffID != "":
		return s.teamScope(c, tenant, staff, required)
	case staff == "" && required && p.StaffID != "":
		return followup.Scope{StaffID: p.StaffID}, nil
	case staff == "" && required:
		return followup.Scope{}, badRequest("staff_id", "this key has no staff id: add ?staff_id=<id>")
	}
	return followup.Scope{StaffID: staff}, nil
}

// teamScope is dayScope for a manager with a staff id.
func (s *followupGroup) teamScope(c *fiber.Ctx, tenant, staff string, required bool) (followup.Scope, error) {
	me := principal(c).StaffID
	team, err := s.Followup.Team(ctxOf(c), tenant, me)
	if err != nil {
		return followup.Scope{}, err
	}
	if !slices.Contains(team, me) {
		team = append(team, me)
		slices.Sort(team)
	}
	switch {
	case staff != "" && !slices.Contains(team, staff):
		return followup.Scope{}, forbidden("a manager sees their team only; " + strconv.Quote(staff) + " is not in " + strconv.Quote(me) + "'s team")
	case staff != "":
		return followup.Scope{StaffID: staff}, nil
	case required:
		return followup.Scope{StaffID: me}, nil
	}
	return followup.Scope{Team: team}, nil
}

type remindersResponse struct {
	StaffID   string              `json:"staff_id"`
	Now       time.Time           `json:"now"`
	Until     time.Time           `json:"until"`
	Items     []followup.DueEntry `json:"items"`
	Truncated bool                `json:"truncated"`
}

// getReminders and getDigest read the memory boards when they are served
// (followup.Boards.Due), else ClickHouse.

// getReminders lists the rep's customers whose next follow-up falls before
// now+within: overdue ones (before now) flagged, earliest first.
func (s *followupGroup) getReminders(c *fiber.Ctx) error {
	tenant, scope, err := s.dayRead(c, true)
	if err != nil {
		return err
	}
	staff := scope.StaffID
	within, err := time.ParseDuration(c.Query("within", "1h"))
	if err != nil || within <= 0 || within > maxReminderWindow {
		return badRequest("within", "a duration from 1s to 168h, e.g. 30m, 1h, 24h")
	}
	now := time.Now().UTC()
	var due []followup.DueEntry
	if s.Boards != nil {
		due, err = s.Boards.Due(ctxOf(c), tenant, staff, now.Add(within), now, readAfterPositions(c))
	} else {
		due, err = s.Followup.Due(ctxOf(c), tenant, staff, now.Add(within), now)
	}
	if err != nil {
		return err
	}
	resp := remindersResponse{StaffID: staff, Now: now, Until: now.Add(within), Items: due}
	if len(due) > maxReminderItems {
		resp.Items, resp.Truncated = due[:maxReminderItems], true
	}
	return c.JSON(resp)
}

type digestResponse struct {
	Date string               `json:"date"`
	Reps []followup.RepDigest `json:"reps"`
}

// getDigest is the daily digest of a date: per rep, the follow-ups due that
// day and those overdue at its start.
func (s *followupGroup) getDigest(c *fiber.Ctx) error {
	tenant, scope, err := s.dayRead(c, false)
	if err != nil {
		return err
	}
	date, err := queryDate(c, "date", time.Now())
	if err != nil {
		return err
	}
	var reps []followup.RepDigest
	if s.Boards != nil {
		reps, err = s.Boards.DailyDigest(ctxOf(c), tenant, scope, date, readAfterPositions(c))
	} else {
		reps, err = s.Followup.DailyDigest(ctxOf(c), tenant, scope, date)
	}
	if err != nil {
		return err
	}
	return c.JSON(digestResponse{Date: date.Format(time.DateOnly), Reps: reps})
}

// getFunnel is the stage funnel over [from, to] of a rep, a manager's team
// or the tenant (see dayScope).
func (s *followupGroup) getFunnel(c *fiber.Ctx) error {
	tenant, scope, err := s.dayRead(c, false)
	if err != nil {
		return err
	}
	from, to, err := queryPeriod(c)
	if err != nil {
		return err
	}
	list, err := s.stageList(ctxOf(c), tenant)
	if err != nil {
		return err
	}
	f, err := s.Followup.Funnel(ctxOf(c), tenant, list.Stages, scope, from, to)
	if err != nil {
		return err
	}
	return c.JSON(f)
}

type statsResponse struct {
	From string            `json:"from"`
	To   string            `json:"to"`
	Days []followup.RepDay `json:"days"`
}

// getStats is WeCom's rep statistics per rep per day of [from, to].
func (s *followupGroup) getStats(c *fiber.Ctx) error {
	tenant, scope, err := s.dayRead(c, false)
	if err != nil {
		return err
	}
	from, to, err := queryPeriod(c)
	if err != nil {
		return err
	}
	stats := s.Followup.Stats
	if s.RepStats != nil {
		stats = s.RepStats.Stats
	}
	days, err := stats(ctxOf(c), tenant, scope, from, to)
	if err != nil {
		return err
	}
	return c.JSON(statsResponse{From: from.Format(time.DateOnly), To: to.Format(time.DateOnly), Days: days})
}

// queryDate parses a YYYY-MM-DD parameter; absent: def's day in Shanghai.
func queryDate(c *fiber.Ctx, name string, def time.Time) (time.Time, error) {
	q := c.Query(name)
	if q == "" {
		d := def.In(reporting.Zone)
		return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC), nil
	}
	d, err := time.Parse(time.DateOnly, q)
	if err != nil {
		return time.Time{}, badRequest(name, "a date, YYYY-MM-DD (a day in Asia/Shanghai)")
	}
	return d, checkInputTime(name, d)
}

// queryPeriod parses from and to (inclusive days); to defaults to today,
// from to six days before to.
func queryPeriod(c *fiber.Ctx) (time.Time, time.Time, error) {
	to, err := queryDate(c, "to", time.Now())
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	from, err := queryDate(c, "from", to.AddDate(0, 0, -6))
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	switch {
	case from.After(to):
		return time.Time{}, time.Time{}, badRequest("from", "must not be after to")
	case to.Sub(from) >= maxStatsDays*24*time.Hour:
		return time.Time{}, time.Time{}, badRequest("from", "a period is at most "+strconv.Itoa(maxStatsDays)+" days")
	}
	return from, to, nil
}
