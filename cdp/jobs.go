package cdp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/siyu-dev/siyu/errkind"
	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/publish"
	siyusql "github.com/siyu-dev/siyu/sql"
)

// Job states.
const (
	JobQueued  = "queued"
	JobRunning = "running"
	JobDone    = "done"
	JobFailed  = "failed"
)

// JobSegmentTag is the kind of the job that tags every member of a segment.
const JobSegmentTag = "segment_tag"

// ErrJobNotFound means the tenant has no job with that id.
var ErrJobNotFound = errkind.New(errkind.NotFound, "job not found")

// Job is the state of one bulk job.
type Job struct {
	ID        string     `json:"id"`
	Kind      string     `json:"kind"`
	State     string     `json:"state"`
	Processed int64      `json:"processed"`
	Total     int64      `json:"total"`
	Error     string     `json:"error"`
	TagID     string     `json:"tag_id,omitempty"`
	Target    string     `json:"target,omitempty"`
	CreatedAt *time.Time `json:"created_at"`
	UpdatedAt *time.Time `json:"updated_at"`
}

// tagJobBatch is how many tag.added events a job produces at once.
const tagJobBatch = 1000

// progressEvery bounds how often a running job records its progress.
const progressEvery = time.Second

var qJobGet = siyusql.Query("job_get")

// Jobs runs bulk jobs in this process and records their state as
// job.progressed events, which ClickHouse folds into job_state: the state
// of a job survives a restart of the process, and a job found "running" in
// ClickHouse but not here was cut short and is resumed by a retry of the
// request that started it (see docs/decisions.md, "Segments").
type Jobs struct {
	conn     driver.Conn
	segments *Segments
	pub      *publish.Publisher
	source   string
	log      *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time

	ctx    context.Context // jobs outlive their request, not the process
	cancel context.CancelFunc
	wg     sync.WaitGroup

	start sync.Mutex // serializes TagSegment: one run per job here
	mu    sync.Mutex
	// live holds the jobs run here (tenant + "\x00" + id), kept after they
	// end until ClickHouse shows their outcome.
	live map[string]*Job
}

// NewJobs returns the job runner: it reads members with segments, stores
// events with pub (as source, the CloudEvents source) and reads the
// state of jobs it does not run from conn.
func NewJobs(conn driver.Conn, segments *Segments, pub *publish.Publisher, source string, log *slog.Logger) *Jobs {
	ctx, cancel := context.WithCancel(context.Background())
	return &Jobs{conn: conn, segments: segments, pub: pub, source: source, log: log,
		Now: time.Now, ctx: ctx, cancel: cancel, live: map[string]*Job{}}
}

// store publishes evs and returns once Kafka acknowledged every one of
// them, or with the first failure.
func (j *Jobs) store(ctx context.Context, evs ...event.Event) error {
	res, err := j.pub.Publish(ctx, evs...)
	if err != nil {
		return err
	}
	if err := res.Err(); err != nil {
		return fmt.Errorf("not stored in Kafka, retry: %w", err)
	}
	return nil
}

// Close stops the running jobs (each records itself failed, to be resumed
// by a retry) and waits for them.
func (j *Jobs) Close() {
	j.cancel()
	j.wg.Wait()
}

// Get returns the state of tenant's job id, or ErrJobNotFound: a job
// running here as it is now, else the latest of what ClickHouse folded and
// what this process last recorded (ClickHouse shows a record a moment after
// Kafka acknowledged it).
func (j *Jobs) Get(ctx context.Context, tenant, id string) (Job, error) {
	mem, inMem := j.running(tenant, id)
	if inMem && !mem.ended() {
		return mem, nil
	}
	stored, err := j.stored(ctx, tenant, id)
	switch {
	case errors.Is(err, ErrJobNotFound) && inMem:
		return mem, nil
	case err != nil:
		return Job{}, err
	case inMem && stored.UpdatedAt.Before(*mem.UpdatedAt):
		return mem, nil
	}
	j.forget(tenant, id)
	return stored, nil
}

func (j *Job) ended() bool { return j.State == JobDone || j.State == JobFailed }

// forget drops a job that ended here once ClickHouse shows its outcome.
func (j *Jobs) forget(tenant, id string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if job, ok := j.live[tenant+"\x00"+id]; ok && job.ended() {
		delete(j.live, tenant+"\x00"+id)
	}
}

// stored reads the state of a job from job_state.
func (j *Jobs) stored(ctx context.Context, tenant, id string) (Job, error) {
	row := j.conn.QueryRow(ctx, qJobGet, clickhouse.Named("tenant", tenant), clickhouse.Named("job_id", id))
	var job Job
	var first, last int64
	err := row.Scan(&job.ID, &job.Kind, &job.State, &job.Processed, &job.Total, &job.TagID, &job.Target,
		&job.Error, &first, &last)
	switch {
	case errors.Is(err, sqlNoRows):
		return Job{}, fmt.Errorf("%w: %q", ErrJobNotFound, id)
	case err != nil:
		return Job{}, fmt.Errorf("read job: %w", err)
	}
	job.CreatedAt, job.UpdatedAt = nsTime(first), nsTime(last)
	return job, nil
}

func (j *Jobs) running(tenant, id string) (Job, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	job, ok := j.live[tenant+"\x00"+id]
	if !ok {
		return Job{}, false
	}
	return *job, true
}

// TagJobID is the id of the job tagging the members of a segment version
// with tagID, or, given an idempotency key, of the job that key names for
// that segment and tag: a retry of the same request finds the same job.
func TagJobID(tenant, segmentVersion, tagID, idempotencyKey string) string {
	h := sha256.Sum256([]byte(tenant + "\x00" + segmentVersion + "\x00" + tagID + "\x00" + idempotencyKey))
	return "job_" + hex.EncodeToString(h[:12])
}

// TagEventID is the id of the tag.added event job jobID writes for contact:
// the same on every run of the job, so that a resumed job or a redelivered
// event folds into the rows already stored.
func TagEventID(jobID, contact, tagID string) string {
	h := sha256.Sum256([]byte(jobID + "\x00" + contact + "\x00" + tagID))
	return "segtag-" + hex.EncodeToString(h[:16])
}

// TagSegment starts (or finds) the job jobID adding tagID to every member
// of seg (saved as target) in tenant. A job running here or done is
// returned as is; a new, failed or interrupted one is (re)started, with the
// time of its first start: members are evaluated and tagged as of then, so
// every run writes the same events. started reports whether it started.
func (j *Jobs) TagSegment(ctx context.Context, tenant, jobID string, seg *Segment, target, tagID string) (job Job, started bool, err error) {
	j.start.Lock()
	defer j.start.Unlock()
	key := tenant + "\x00" + jobID
	if live, ok := j.running(tenant, jobID); ok && !live.ended() {
		return live, false, nil
	}
	prev, err := j.Get(ctx, tenant, jobID)
	switch {
	case errors.Is(err, ErrJobNotFound):
		now := j.Now().UTC()
		prev = Job{ID: jobID, Kind: JobSegmentTag, TagID: tagID, Target: target, CreatedAt: &now}
	case err != nil:
		return Job{}, false, err
	case prev.State == JobDone:
		return prev, false, nil
	}
	run := &tagRun{jobs: j, tenant: tenant, seg: seg, at: *prev.CreatedAt}
	run.job = Job{ID: jobID, Kind: JobSegmentTag, State: JobQueued, TagID: tagID, Target: target,
		CreatedAt: prev.CreatedAt, UpdatedAt: prev.UpdatedAt}
	if err := run.record(ctx); err != nil {
		return Job{}, false, err
	}
	j.mu.Lock()
	j.live[key] = &run.job
	job = run.job
	j.mu.Unlock()
	j.wg.Add(1)
	go func() {
		defer j.wg.Done()
		run.run(j.ctx)
	}()
	return job, true, nil
}

// tagRun is one run of a segment tagging job. job is shared with Get
// through Jobs.live: it changes only under Jobs.mu.
type tagRun struct {
	jobs   *Jobs
	tenant string
	seg    *Segment
	at     time.Time // the job's first start: the segment's now and the events' time
	job    Job
	last   time.Time // when progress was last recorded
}

func (r *tagRun) run(ctx context.Context) {
	err := r.tag(ctx)
	r.update(func(j *Job) {
		j.State = JobDone
		if err != nil {
			j.State, j.Error = JobFailed, err.Error()
		}
	})
	// Record the outcome even when the process is stopping.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := r.record(rctx); err != nil {
		r.jobs.log.Error("record job outcome", "job", r.job.ID, "err", err)
	}
}

// tag counts the members, then streams them and produces their tag.added
// events in batches, recording progress at most every progressEvery.
func (r *tagRun) tag(ctx context.Context) error {
	total, err := r.jobs.segments.Count(ctx, r.tenant, r.seg, r.at)
	if err != nil {
		return err
	}
	r.update(func(j *Job) { j.State, j.Total, j.Processed, j.Error = JobRunning, int64(total), 0, "" })
	if err := r.record(ctx); err != nil {
		return err
	}
	batch := make([]event.Event, 0, tagJobBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := r.jobs.store(ctx, batch...); err != nil {
			return fmt.Errorf("produce tag.added: %w", err)
		}
		n := int64(len(batch))
		batch = batch[:0]
		r.update(func(j *Job) { j.Processed += n })
		if time.Since(r.last) < progressEvery {
			return nil
		}
		return r.record(ctx)
	}
	err = r.jobs.segments.EachID(ctx, r.tenant, r.seg, r.at, "", func(contact string) error {
		batch = append(batch, r.tagEvent(contact))
		if len(batch) < tagJobBatch {
			return nil
		}
		return flush()
	})
	if err != nil {
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	// Members may have changed while the job streamed them: done means
	// every member streamed was tagged, and total says how many that was.
	r.update(func(j *Job) { j.Total = j.Processed })
	return nil
}

// tagEvent is the tag.added of contact: no staff_id (a bulk action is not
// a rep's activity), the job's time and a deterministic id.
func (r *tagRun) tagEvent(contact string) event.Event {
	ev := event.Event{ID: TagEventID(r.job.ID, contact, r.job.TagID), Source: r.jobs.source, Type: event.TagAdded,
		Tenant: r.tenant, Subject: contact, Time: r.at}
	ev.Data.Set(event.FTagID, r.job.TagID)
	return ev
}

func (r *tagRun) update(change func(*Job)) {
	r.jobs.mu.Lock()
	defer r.jobs.mu.Unlock()
	change(&r.job)
}

// record stores the job's state as a job.progressed event, stamped after
// the previous one so that the latest state wins in job_state.
func (r *tagRun) record(ctx context.Context) error {
	r.jobs.mu.Lock()
	now := r.jobs.Now().UTC()
	switch {
	case r.job.UpdatedAt == nil:
		// The first record is at the job's start exactly: job_state's
		// first time is then the time a resumed run evaluates and tags at.
		now = r.at
	case !now.After(*r.job.UpdatedAt):
		now = r.job.UpdatedAt.Add(time.Nanosecond)
	}
	r.job.UpdatedAt = &now
	job := r.job
	r.jobs.mu.Unlock()
	r.last = time.Now()
	ev := event.Event{ID: job.ID + "-" + strconv.FormatInt(now.UnixNano(), 10), Source: r.jobs.source,
		Type: event.JobProgressed, Tenant: r.tenant, Subject: job.ID, Time: now}
	ev.Data.Set(event.FKind, job.Kind)
	ev.Data.Set(event.FStage, job.State)
	ev.Data.SetInt(event.FProcessed, job.Processed)
	ev.Data.SetInt(event.FTotal, job.Total)
	ev.Data.Set(event.FTagID, job.TagID)
	ev.Data.Set(event.FNote, job.Target)
	if job.Error != "" {
		ev.Data.Set(event.FFailReason, job.Error)
	}
	if err := r.jobs.store(ctx, ev); err != nil {
		return fmt.Errorf("record job %s: %w", job.ID, err)
	}
	return nil
}
