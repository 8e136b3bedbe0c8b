package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-dev/siyu/auth"
	"github.com/siyu-dev/siyu/cdp"
	"github.com/siyu-dev/siyu/event"
)

// apiSource is the CloudEvents source of every event the API writes itself.
const apiSource = "siyu-api"

// maxTagsPerRequest bounds the add and remove lists of one customer tagging.
const maxTagsPerRequest = 100

// The roles that may read the library, change it, and tag customers (a rep
// only their own: see tagCustomer).
var (
	tagReaders = []auth.Role{auth.RoleAdmin, auth.RoleMarketer, auth.RoleManager, auth.RoleRep, auth.RolePlatform}
	tagWriters = []auth.Role{auth.RoleAdmin, auth.RoleMarketer, auth.RolePlatform}
	taggers    = []auth.Role{auth.RoleAdmin, auth.RoleMarketer, auth.RoleManager, auth.RoleRep, auth.RolePlatform}
)

type tagListResponse struct {
	Tags  []cdp.Tag `json:"tags"`
	Live  int       `json:"live"`
	Limit int       `json:"limit"`
}

// listTags returns the tenant's library, live tags only unless
// ?include_deleted=true.
func (s *tagGroup) listTags(c *fiber.Ctx) error {
	tenant, err := authorize(c, tagReaders)
	if err != nil {
		return err
	}
	lib, err := s.Tags.List(ctxOf(c), tenant)
	if err != nil {
		return err
	}
	return c.JSON(s.listOf(lib, c.QueryBool("include_deleted")))
}

// listOf is the library as GET /v1/tags answers it, sorted for display.
func (s *tagGroup) listOf(lib []cdp.Tag, withDeleted bool) tagListResponse {
	resp := tagListResponse{Tags: make([]cdp.Tag, 0, len(lib)), Limit: s.Tags.Limit}
	for _, t := range lib {
		if !t.Deleted {
			resp.Live++
		}
		if !t.Deleted || withDeleted {
			resp.Tags = append(resp.Tags, t)
		}
	}
	cdp.SortTags(resp.Tags)
	return resp
}

type tagOrderRequest struct {
	Tags []string `json:"tags"`
}

// orderTags orders the whole library at once: every live tag listed once,
// each group's tags together, in the order to show them (groups too);
// cdp.PlanOrder numbers them. Only the tags whose order changes get a
// tag.defined. It answers the library as GET /v1/tags does.
func (s *tagGroup) orderTags(c *fiber.Ctx) error {
	tenant, err := authorize(c, tagWriters)
	if err != nil {
		return err
	}
	var req tagOrderRequest
	if err := decodeBody(c, &req, `send {"tags": [every live tag id, in the order to show them]} as JSON`); err != nil {
		return err
	}
	if req.Tags == nil {
		return badRequest("tags", "list every live tag id, in the order to show them")
	}
	if len(req.Tags) > cdp.MaxTags {
		return badRequest("tags", fmt.Sprintf("at most %d tag ids (the library's limit)", cdp.MaxTags))
	}
	for i, id := range req.Tags {
		if err := checkID(fmt.Sprintf("tags[%d]", i), id); err != nil {
			return err
		}
	}
	lib, err := s.Tags.Reorder(ctxOf(c), tenant, req.Tags, s.publishTags(c, tenant))
	if err != nil {
		return err
	}
	return c.JSON(s.listOf(lib, false))
}

// getTag returns one tag, deleted or not.
func (s *tagGroup) getTag(c *fiber.Ctx) error {
	tenant, err := authorize(c, tagReaders)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id", "a tag id")
	if err != nil {
		return err
	}
	lib, err := s.Tags.List(ctxOf(c), tenant)
	if err != nil {
		return err
	}
	t, ok := cdp.FindTag(lib, id)
	if !ok {
		return fmt.Errorf("%w: %q", cdp.ErrTagNotFound, id)
	}
	return c.JSON(t)
}

type tagRequest struct {
	Name  *string `json:"name"`
	Group *string `json:"group"`
	Order *int64  `json:"order"`
}

// createTag defines a new tag under a new id.
func (s *tagGroup) createTag(c *fiber.Ctx) error {
	tenant, err := authorize(c, tagWriters)
	if err != nil {
		return err
	}
	var req tagRequest
	if err := decodeBody(c, &req, `send {"name", "group", "order"} as JSON`); err != nil {
		return err
	}
	if req.Name == nil {
		return badRequest("name", "a tag needs a name")
	}
	t := cdp.Tag{ID: "tag_" + randomHex(8)}
	req.apply(&t)
	if err := cdp.NormalizeTag(&t); err != nil {
		return err
	}
	t, err = s.Tags.Define(ctxOf(c), tenant, func([]cdp.Tag) (cdp.Tag, error) { return t, nil }, s.publishTag(c, tenant))
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(t)
}

// updateTag renames, regroups or reorders a live tag.
func (s *tagGroup) updateTag(c *fiber.Ctx) error {
	tenant, err := authorize(c, tagWriters)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id", "a tag id")
	if err != nil {
		return err
	}
	var req tagRequest
	if err := decodeBody(c, &req, `send any of {"name", "group", "order"} as JSON`); err != nil {
		return err
	}
	if req == (tagRequest{}) {
		return badRequest("body", `nothing to change: send any of "name", "group", "order"`)
	}
	return s.redefineTag(c, tenant, id, func(t *cdp.Tag) error {
		req.apply(t)
		return cdp.NormalizeTag(t)
	})
}

// deleteTag marks a tag deleted: it leaves the library and every profile.
func (s *tagGroup) deleteTag(c *fiber.Ctx) error {
	tenant, err := authorize(c, tagWriters)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id", "a tag id")
	if err != nil {
		return err
	}
	return s.redefineTag(c, tenant, id, func(t *cdp.Tag) error {
		t.Deleted = true
		return nil
	})
}

// redefineTag writes the next definition of a live tag, as change makes it.
func (s *tagGroup) redefineTag(c *fiber.Ctx, tenant, id string, change func(*cdp.Tag) error) error {
	plan := func(lib []cdp.Tag) (cdp.Tag, error) {
		t, ok := cdp.FindTag(lib, id)
		switch {
		case !ok:
			return t, fmt.Errorf("%w: %q", cdp.ErrTagNotFound, id)
		case t.Deleted:
			return t, fmt.Errorf("%w: %q was deleted", cdp.ErrTagNotFound, id)
		}
		return t, change(&t)
	}
	t, err := s.Tags.Define(ctxOf(c), tenant, plan, s.publishTag(c, tenant))
	if err != nil {
		return err
	}
	return c.JSON(t)
}

func (r tagRequest) apply(t *cdp.Tag) {
	if r.Name != nil {
		t.Name = *r.Name
	}
	if r.Group != nil {
		t.Group = *r.Group
	}
	if r.Order != nil {
		t.Order = *r.Order
	}
}

// publishTag stores a definition as a tag.defined event and answers its
// write token. The event carries the whole definition (docs/decisions.md,
// "Tags").
func (s *tagGroup) publishTag(c *fiber.Ctx, tenant string) func(context.Context, cdp.Tag) error {
	return func(ctx context.Context, t cdp.Tag) error {
		return s.publishAnswering(ctx, c, tagEvent(tenant, t))
	}
}

// tagEvent is the tag.defined event carrying t's whole definition.
func tagEvent(tenant string, t cdp.Tag) event.Event {
	ev := event.Event{ID: newEventID(), Source: apiSource, Type: event.TagDefined,
		Tenant: tenant, Subject: t.ID, Time: *t.UpdatedAt}
	ev.Data.Set(event.FName, t.Name)
	ev.Data.Set(event.FGroup, t.Group)
	ev.Data.SetInt(event.FOrder, t.Order)
	ev.Data.SetBool(event.FDeleted, t.Deleted)
	return ev
}

// publishTags stores definitions as tag.defined events, produced at once,
// answers each one's error and the write token of those stored.
func (s *tagGroup) publishTags(c *fiber.Ctx, tenant string) func(context.Context, []cdp.Tag) ([]error, error) {
	return func(ctx context.Context, tags []cdp.Tag) ([]error, error) {
		evs := make([]event.Event, len(tags))
		for i, t := range tags {
			evs[i] = tagEvent(tenant, t)
		}
		errs, ps, err := s.publishAt(ctx, evs...)
		if err != nil {
			return nil, err
		}
		setWriteToken(c, ps)
		return errs, nil
	}
}

type customerTagsRequest struct {
	Add    []string `json:"add"`
	Remove []string `json:"remove"`
}

// tagResult is the outcome for one tag of a customer tagging.
type tagResult struct {
	TagID  string `json:"tag_id"`
	Name   string `json:"name"`
	Action string `json:"action"` // add, remove
	Status string `json:"status"` // applied, failed
	Reason string `json:"reason,omitempty"`
}

type customerTagsResponse struct {
	ContactID string      `json:"contact_id"`
	Results   []tagResult `json:"results"`
}

// tagCustomer adds and removes library tags on one customer, as tag.added
// and tag.removed events. A rep may tag only customers they hold a live
// relation with; for anyone else's the answer is 404, as for GET.
func (s *tagGroup) tagCustomer(c *fiber.Ctx) error {
	tenant, err := authorize(c, taggers)
	if err != nil {
		return err
	}
	contact, err := pathID(c, "id", "a customer id")
	if err != nil {
		return err
	}
	var req customerTagsRequest
	if err := decodeBody(c, &req, `send {"add": [tag ids], "remove": [tag ids]} as JSON`); err != nil {
		return err
	}
	results, err := planTagging(req)
	if err != nil {
		return err
	}
	ctx := ctxOf(c)
	pr, err := s.Profiles.Get(ctx, tenant, contact)
	if err != nil {
		return err
	}
	p := principal(c)
	if p.Role == auth.RoleRep && !pr.HasRelation(p.StaffID) {
		return cdp.ErrNotFound
	}
	lib, err := s.Tags.List(ctx, tenant)
	if err != nil {
		return err
	}
	if err := resolveTags(lib, results); err != nil {
		return err
	}
	evs := taggingEvents(tenant, contact, p.StaffID, time.Now().UTC(), results)
	errs, ps, err := s.publishAt(ctx, evs...)
	if err != nil {
		return err
	}
	setWriteToken(c, ps)
	failed := false
	for i, err := range errs {
		results[i].Status = "applied"
		if err != nil {
			results[i].Status, results[i].Reason = "failed", err.Error()
			failed = true
		}
	}
	status := http.StatusOK
	if failed {
		status = http.StatusServiceUnavailable
	}
	return c.Status(status).JSON(customerTagsResponse{ContactID: contact, Results: results})
}

// planTagging checks the shape of a tagging request and lists one result
// per distinct tag: adds first, then removes.
func planTagging(req customerTagsRequest) ([]tagResult, error) {
	if len(req.Add)+len(req.Remove) == 0 {
		return nil, badRequest("add", `nothing to do: send tag ids in "add" or "remove"`)
	}
	if len(req.Add)+len(req.Remove) > maxTagsPerRequest {
		return nil, badRequest("add", fmt.Sprintf("at most %d tags per request", maxTagsPerRequest))
	}
	var out []tagResult
	seen := map[string]string{}
	for _, list := range []struct {
		field, action string
		ids           []string
	}{
		{"add", "add", req.Add}, {"remove", "remove", req.Remove},
	} {
		for i, id := range list.ids {
			if err := checkID(fmt.Sprintf("%s[%d]", list.field, i), id); err != nil {
				return nil, err
			}
			if prev, ok := seen[id]; ok && prev != list.action {
				return nil, badRequest(list.field, fmt.Sprintf("tag %q is in both add and remove", id))
			} else if ok {
				continue
			}
			seen[id] = list.action
			out = append(out, tagResult{TagID: id, Action: list.action})
		}
	}
	return out, nil
}

// resolveTags names each tag from the library and refuses unknown or
// deleted ones, naming them.
func resolveTags(lib []cdp.Tag, results []tagResult) error {
	var unknown []string
	field := ""
	for i := range results {
		t, ok := cdp.FindTag(lib, results[i].TagID)
		if !ok || t.Deleted {
			unknown = append(unknown, fmt.Sprintf("%q", results[i].TagID))
			if field == "" {
				field = results[i].Action
			}
			continue
		}
		results[i].Name = t.Name
	}
	if len(unknown) == 0 {
		return nil
	}
	return &Error{Status: http.StatusUnprocessableEntity, Code: "unknown_tag", Field: field,
		Message: "not in this tenant's tag library (unknown or deleted): " + strings.Join(unknown, ", ")}
}

// taggingEvents builds one tag.added or tag.removed event per result.
func taggingEvents(tenant, contact, staffID string, at time.Time, results []tagResult) []event.Event {
	evs := make([]event.Event, len(results))
	for i, r := range results {
		typ := event.TagAdded
		if r.Action == "remove" {
			typ = event.TagRemoved
		}
		evs[i] = event.Event{ID: newEventID(), Source: apiSource, Type: typ, Tenant: tenant, Subject: contact, Time: at}
		evs[i].Data.Set(event.FTagID, r.TagID)
		if staffID != "" {
			evs[i].Data.Set(event.FStaffID, staffID)
		}
	}
	return evs
}

// authorize checks the caller's role and returns the tenant it acts on.
func authorize(c *fiber.Ctx, roles []auth.Role) (string, error) {
	if err := allow(c, roles...); err != nil {
		return "", err
	}
	return tenantOf(c)
}

func newEventID() string { return apiSource + "-" + randomHex(16) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand, Go ≥ 1.24)
	return hex.EncodeToString(b)
}
