package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-dev/siyu/auth"
	"github.com/siyu-dev/siyu/cdp"
	"github.com/siyu-dev/siyu/event"
)

// segmentMarketers may save, list, page, export and bulk-tag saved
// segments (and read the jobs that tag them).
var segmentMarketers = []auth.Role{auth.RoleAdmin, auth.RoleMarketer, auth.RolePlatform}

// exportTimeout bounds one export stream.
const exportTimeout = 30 * time.Minute

type saveSegmentRequest struct {
	Name       *string         `json:"name"`
	Definition json.RawMessage `json:"definition"`
}

// saveSegment saves a new segment under a new id, as a segment.saved event.
func (s *savedGroup) saveSegment(c *fiber.Ctx) error {
	tenant, err := authorize(c, segmentMarketers)
	if err != nil {
		return err
	}
	seg, err := saveRequestOf(c)
	if err != nil {
		return err
	}
	seg.ID, seg.CreatedBy = "seg_"+randomHex(8), principal(c).StaffID
	saved, err := s.SavedSegments.Save(ctxOf(c), tenant, seg, nil, s.publishSegment(c, tenant))
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(saved)
}

// replaceSegment saves the next name and definition of a live saved
// segment under its id, as a segment.saved event. Its members, exports and
// counts follow the new definition at once; a bulk job already started
// finishes on the definition it began with (a job is keyed by the
// segment's version, so tagging the new definition is a new job).
func (s *savedGroup) replaceSegment(c *fiber.Ctx) error {
	tenant, prev, err := s.savedSegment(c)
	if err != nil {
		return err
	}
	seg, err := saveRequestOf(c)
	if err != nil {
		return err
	}
	seg.ID = prev.ID
	saved, err := s.SavedSegments.Save(ctxOf(c), tenant, seg, &prev, s.publishSegment(c, tenant))
	if err != nil {
		return err
	}
	return c.JSON(saved)
}

// saveRequestOf decodes the body of a save or a replacement and validates
// the segment's name and definition, naming the field at fault. The
// definition is kept compact.
func saveRequestOf(c *fiber.Ctx) (cdp.SavedSegment, error) {
	var req saveSegmentRequest
	if err := decodeBody(c, &req, `send {"name": "...", "definition": {...}} as JSON`); err != nil {
		return cdp.SavedSegment{}, err
	}
	if req.Name == nil {
		return cdp.SavedSegment{}, badRequest("name", "a segment needs a name")
	}
	name, err := cdp.NormalizeSegmentName(*req.Name)
	if err != nil {
		return cdp.SavedSegment{}, badRequest("name", err.(*cdp.SegmentNameError).Reason)
	}
	if len(req.Definition) == 0 || string(req.Definition) == "null" {
		return cdp.SavedSegment{}, badRequest("definition", "a segment definition is required")
	}
	if _, err := parseDefinition(req.Definition); err != nil {
		return cdp.SavedSegment{}, err
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, req.Definition); err != nil {
		return cdp.SavedSegment{}, badRequest("definition", "not valid JSON: "+err.Error())
	}
	return cdp.SavedSegment{Name: name, Definition: json.RawMessage(compact.String())}, nil
}

// parseDefinition parses a segment definition, mapping a refusal to a 400
// whose field is the JSON path under "definition".
func parseDefinition(def []byte) (*cdp.Segment, error) {
	seg, err := cdp.ParseSegment(def)
	if se, ok := cdp.AsSegmentError(err); ok {
		return nil, badRequest(strings.TrimSuffix("definition."+se.Path, "."), se.Error())
	}
	return seg, err
}

type segmentListResponse struct {
	Segments []cdp.SavedSegment `json:"segments"`
}

// listSegments returns the tenant's live saved segments, by id.
func (s *savedGroup) listSegments(c *fiber.Ctx) error {
	tenant, err := authorize(c, segmentMarketers)
	if err != nil {
		return err
	}
	list, err := s.SavedSegments.List(ctxOf(c), tenant)
	if err != nil {
		return err
	}
	return c.JSON(segmentListResponse{Segments: list})
}

// getSegment returns one live saved segment.
func (s *savedGroup) getSegment(c *fiber.Ctx) error {
	_, seg, err := s.savedSegment(c)
	if err != nil {
		return err
	}
	return c.JSON(seg)
}

// deleteSegment marks a saved segment deleted (a segment.saved with
// deleted=true): it leaves the list; jobs already started finish.
func (s *savedGroup) deleteSegment(c *fiber.Ctx) error {
	tenant, seg, err := s.savedSegment(c)
	if err != nil {
		return err
	}
	next := seg
	next.Deleted = true
	if _, err := s.SavedSegments.Save(ctxOf(c), tenant, next, &seg, s.publishSegment(c, tenant)); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}

// savedSegment authorizes a segment marketer and reads the segment the
// path names.
func (s *savedGroup) savedSegment(c *fiber.Ctx) (string, cdp.SavedSegment, error) {
	tenant, err := authorize(c, segmentMarketers)
	if err != nil {
		return "", cdp.SavedSegment{}, err
	}
	id, err := pathID(c, "id", "a segment id")
	if err != nil {
		return "", cdp.SavedSegment{}, err
	}
	seg, err := s.SavedSegments.Get(ctxOf(c), tenant, id)
	return tenant, seg, err
}

// publishSegment stores a definition as a segment.saved event carrying the
// whole definition (the JSON in note).
func (s *savedGroup) publishSegment(c *fiber.Ctx, tenant string) func(context.Context, cdp.SavedSegment) error {
	return func(ctx context.Context, seg cdp.SavedSegment) error {
		ev := event.Event{ID: newEventID(), Source: apiSource, Type: event.SegmentSaved,
			Tenant: tenant, Subject: seg.ID, Time: *seg.UpdatedAt}
		ev.Data.Set(event.FName, seg.Name)
		ev.Data.Set(event.FNote, string(seg.Definition))
		if seg.CreatedBy != "" {
			ev.Data.Set(event.FStaffID, seg.CreatedBy)
		}
		if seg.Deleted {
			ev.Data.SetBool(event.FDeleted, true)
		}
		return s.publishAnswering(ctx, c, ev)
	}
}

type memberPage struct {
	Customers  []cdp.SegmentMember `json:"customers"`
	NextCursor string              `json:"next_cursor"`
}

// segmentCustomers pages through the members of a saved segment by
// contact id: the cursor is the last contact id of the previous page, and
// each page is a range read after it (no OFFSET).
func (s *savedGroup) segmentCustomers(c *fiber.Ctx) error {
	tenant, saved, err := s.savedSegment(c)
	if err != nil {
		return err
	}
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	seg, err := saved.Parse()
	if err != nil {
		return fmt.Errorf("saved segment %s: %v", saved.ID, err)
	}
	cursor, err := queryID(c, "cursor", "a cursor (the last contact id of the previous page)")
	if err != nil {
		return err
	}
	page, err := s.Segments.Page(ctxOf(c), tenant, seg, time.Now(), cursor, limit)
	if err != nil {
		return err
	}
	resp := memberPage{Customers: page}
	if len(page) == limit {
		resp.NextCursor = page[len(page)-1].ContactID
	}
	return c.JSON(resp)
}

func queryLimit(c *fiber.Ctx) (int, error) {
	raw := c.Query("limit")
	if raw == "" {
		return defaultSegmentPage, nil
	}
	var n int
	if _, err := fmt.Sscanf(raw, "%d", &n); err != nil || fmt.Sprint(n) != raw || n < 1 || n > cdp.MaxSegmentPage {
		return 0, badRequest("limit", fmt.Sprintf("limit is a whole number 1–%d", cdp.MaxSegmentPage))
	}
	return n, nil
}

// exportSegment streams every member of a saved segment as CSV or Parquet.
// The rows go from ClickHouse to the client as they come, through a
// buffered writer: memory is bounded by a ClickHouse block (and, for
// Parquet, one row group), not by the segment. Once streaming has begun
// the status is sent; a failure later truncates the file (a Parquet file
// then has no footer, so it does not parse) and is logged.
func (s *savedGroup) exportSegment(c *fiber.Ctx) error {
	tenant, saved, err := s.savedSegment(c)
	if err != nil {
		return err
	}
	format := exportFormat(c)
	if format != "csv" && format != "parquet" {
		return badRequest("format", "format is csv or parquet")
	}
	seg, err := saved.Parse()
	if err != nil {
		return fmt.Errorf("saved segment %s: %v", saved.ID, err)
	}
	now := time.Now()
	c.Set(fiber.HeaderContentType, map[string]string{"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}[format])
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s.%s"`, saved.ID, format))
	conn := c.Context().Conn()
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		ctx, cancel := context.WithTimeout(context.Background(), exportTimeout)
		defer cancel()
		if err := s.streamMembers(ctx, w, format, tenant, seg, now, conn); err != nil {
			s.log.Error("segment export cut short", "tenant", tenant, "segment", saved.ID, "err", err)
		}
	})
	return nil
}

// exportFormat is ?format= (csv by default), copied: the body stream
// writer uses it after the handler has returned.
func exportFormat(c *fiber.Ctx) string {
	return strings.Clone(c.Query("format", "csv"))
}

// exportWriteWindow is how long the client may take to read what an export
// wrote: the server's WriteTimeout bounds a whole response, so a long
// export moves the connection's write deadline on as it makes progress (a
// client that stops reading still times out).
const exportWriteWindow = time.Minute

func (s *savedGroup) streamMembers(ctx context.Context, w *bufio.Writer, format, tenant string, seg *cdp.Segment,
	now time.Time, conn net.Conn) error {
	mw, err := cdp.NewMemberWriter(format, w)
	if err != nil {
		return err
	}
	n := 0
	err = s.Segments.Each(ctx, tenant, seg, now, "", func(m *cdp.SegmentMember) error {
		if n++; n%1000 == 1 && conn != nil {
			_ = conn.SetWriteDeadline(time.Now().Add(exportWriteWindow))
		}
		return mw.Write(m)
	})
	if err != nil {
		return err
	}
	if err := mw.Close(); err != nil {
		return err
	}
	return w.Flush()
}

type tagSegmentRequest struct {
	TagID *string `json:"tag_id"`
}

// tagSegment starts the job adding a library tag to every member of a saved
// segment: 202 with the job when it starts, 200 with it when the same
// request already has a job (running or done). The job id follows from the
// segment's version and the tag, or from the Idempotency-Key header.
func (s *savedGroup) tagSegment(c *fiber.Ctx) error {
	tenant, saved, err := s.savedSegment(c)
	if err != nil {
		return err
	}
	var req tagSegmentRequest
	if err := decodeBody(c, &req, `send {"tag_id": "..."} as JSON`); err != nil {
		return err
	}
	if req.TagID == nil {
		return badRequest("tag_id", "a tag id is required")
	}
	if err := checkID("tag_id", *req.TagID); err != nil {
		return err
	}
	key := c.Get("Idempotency-Key")
	if key != "" {
		if err := checkID("Idempotency-Key", key); err != nil {
			return err
		}
	}
	if err := s.checkLiveTag(ctxOf(c), tenant, *req.TagID); err != nil {
		return err
	}
	seg, err := saved.Parse()
	if err != nil {
		return fmt.Errorf("saved segment %s: %v", saved.ID, err)
	}
	id := cdp.TagJobID(tenant, saved.Version(), *req.TagID, key)
	job, started, err := s.Jobs.TagSegment(ctxOf(c), tenant, id, seg, saved.ID, *req.TagID)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if started {
		status = http.StatusAccepted
	}
	c.Set(fiber.HeaderLocation, "/v1/jobs/"+job.ID)
	return c.Status(status).JSON(job)
}

// checkLiveTag refuses a tag the tenant's library does not hold live.
func (s *savedGroup) checkLiveTag(ctx context.Context, tenant, id string) error {
	if s.Tags == nil {
		return notFound("tags are not enabled on this server")
	}
	lib, err := s.Tags.List(ctx, tenant)
	if err != nil {
		return err
	}
	return resolveTags(lib, []tagResult{{TagID: id, Action: "tag_id"}})
}

// getJob returns the state of a bulk job.
func (s *savedGroup) getJob(c *fiber.Ctx) error {
	tenant, err := authorize(c, segmentMarketers)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id", "a job id")
	if err != nil {
		return err
	}
	job, err := s.Jobs.Get(ctxOf(c), tenant, id)
	if err != nil {
		return err
	}
	return c.JSON(job)
}

// JobSource is the CloudEvents source of the events bulk jobs write.
const JobSource = apiSource
