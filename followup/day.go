package followup

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/siyu-dev/siyu/adoption"
	"github.com/siyu-dev/siyu/internal/reporting"
	siyusql "github.com/siyu-dev/siyu/sql"
)

var (
	qStageChanges = siyusql.Query("followup_stage_changes")
	qStageCurrent = siyusql.Query("followup_stage_current")
	qRepStats     = siyusql.Query("followup_rep_stats")
	qDue          = siyusql.Query("followup_due")
)

// DueEntry is a customer whose next follow-up is scheduled, for one rep.
type DueEntry struct {
	StaffID        string    `json:"staff_id"`
	ContactID      string    `json:"contact_id"`
	Name           string    `json:"name"`
	Stage          string    `json:"stage"`
	NextFollowupAt time.Time `json:"next_followup_at"`
	Overdue        bool      `json:"overdue"`
}

// Due returns, per rep holding a live relation with them (staff "" = every
// rep of the tenant), the customers whose next follow-up is before before,
// ordered by rep, then next follow-up time. Overdue is set for those before
// overdueBefore.
func (r *Reader) Due(ctx context.Context, tenant, staff string, before, overdueBefore time.Time) ([]DueEntry, error) {
	rows, err := r.conn.Query(ctx, qDue, clickhouse.Named("tenant", tenant), clickhouse.Named("staff_id", staff),
		clickhouse.Named("before_ns", before.UnixNano()))
	if err != nil {
		return nil, fmt.Errorf("read due follow-ups: %w", err)
	}
	defer rows.Close()
	out := []DueEntry{}
	cut := overdueBefore.UnixNano()
	for rows.Next() {
		var e DueEntry
		var next int64
		if err := rows.Scan(&e.StaffID, &e.ContactID, &e.Name, &e.Stage, &next); err != nil {
			return nil, fmt.Errorf("read due follow-ups: %w", err)
		}
		e.NextFollowupAt, e.Overdue = time.Unix(0, next).UTC(), next < cut
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read due follow-ups: %w", err)
	}
	return out, nil
}

// Stats returns WeCom's rep statistics per rep per day of [from, to], for
// the reps of scope (the one asked for, or every rep of a team, listed even
// without activity), tallied in ClickHouse (followup_rep_stats.sql).
func (r *Reader) Stats(ctx context.Context, tenant string, scope Scope, from, to time.Time) ([]RepDay, error) {
	reps := scope.always() // nil: every rep
	if reps != nil && len(reps) == 0 {
		return []RepDay{}, nil // an empty team
	}
	days, err := r.tallies(ctx, tenant, adoption.DateDay(from), adoption.DateDay(to), reps)
	if err != nil {
		return nil, err
	}
	return statsFrom(days, scope, from, to), nil
}

// tallies reads the tallies of tenant's reps (nil: every rep) from day lo
// to hi.
func (r *Reader) tallies(ctx context.Context, tenant string, lo, hi adoption.Day, reps []string) (map[statsKey]dayTally, error) {
	every := uint8(0)
	if reps == nil {
		every, reps = 1, []string{""}
	}
	rows, err := r.conn.Query(ctx, qRepStats, clickhouse.Named("tenant", tenant),
		clickhouse.Named("from", lo.String()), clickhouse.Named("to", hi.String()),
		clickhouse.Named("every", every), clickhouse.Named("staff", reps))
	if err != nil {
		return nil, fmt.Errorf("read rep statistics: %w", err)
	}
	defer rows.Close()
	out := map[statsKey]dayTally{}
	for rows.Next() {
		var staff, day string
		var customers, chats, customerChats, answered, negative, added uint64
		var d dayTally
		if err := rows.Scan(&staff, &day, &customers, &chats, &d.messages, &customerChats, &answered,
			&d.replyNs, &negative, &added); err != nil {
			return nil, fmt.Errorf("read rep statistics: %w", err)
		}
		date, err := time.Parse(time.DateOnly, day)
		if err != nil {
			return nil, fmt.Errorf("read rep statistics: day %q: %w", day, err)
		}
		d.customers, d.chats, d.customerChats = int(customers), int(chats), int(customerChats)
		d.answered, d.negative, d.added = int(answered), int(negative), int(added)
		out[statsKey{staff: staff, day: adoption.DateDay(date)}] = d
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read rep statistics: %w", err)
	}
	return out, nil
}

// StageChanges returns the history before toNs of the tenant's customers
// with a stage change in [fromNs, toNs).
func (r *Reader) StageChanges(ctx context.Context, tenant string, fromNs, toNs int64) ([]StageChange, error) {
	rows, err := r.conn.Query(ctx, qStageChanges, clickhouse.Named("tenant", tenant),
		clickhouse.Named("from_ns", fromNs), clickhouse.Named("to_ns", toNs))
	if err != nil {
		return nil, fmt.Errorf("read stage changes: %w", err)
	}
	defer rows.Close()
	var out []StageChange
	for rows.Next() {
		var c StageChange
		if err := rows.Scan(&c.ContactID, &c.TimeNs, &c.ID, &c.Source, &c.StaffID, &c.Stage); err != nil {
			return nil, fmt.Errorf("read stage changes: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read stage changes: %w", err)
	}
	return out, nil
}

// currentStages counts the customers of scope per stage at endNs (see
// ComputeFunnel).
func (r *Reader) currentStages(ctx context.Context, tenant string, scope Scope, endNs int64) (map[string]int, error) {
	rows, err := r.conn.Query(ctx, qStageCurrent, clickhouse.Named("tenant", tenant), clickhouse.Named("end_ns", endNs))
	if err != nil {
		return nil, fmt.Errorf("read current stages: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var stage, staff string
		var n uint64
		if err := rows.Scan(&stage, &staff, &n); err != nil {
			return nil, fmt.Errorf("read current stages: %w", err)
		}
		if scope.Covers(staff) {
			out[stage] += int(n)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read current stages: %w", err)
	}
	return out, nil
}

// Funnel computes the funnel over [from, to] (days in Asia/Shanghai,
// inclusive) as ComputeFunnel defines it: current counts in ClickHouse,
// conversions replayed in Go over the customers active in the period.
func (r *Reader) Funnel(ctx context.Context, tenant string, stages []string, scope Scope, from, to time.Time) (*Funnel, error) {
	q := FunnelQuery{Stages: stages, Scope: scope, FromNs: DayStart(from), ToNs: DayStart(to.AddDate(0, 0, 1))}
	current, err := r.currentStages(ctx, tenant, scope, q.ToNs)
	if err != nil {
		return nil, err
	}
	changes, err := r.StageChanges(ctx, tenant, q.FromNs, q.ToNs)
	if err != nil {
		return nil, err
	}
	return &Funnel{StaffID: scope.StaffID, Team: scope.Team, From: from.Format(time.DateOnly), To: to.Format(time.DateOnly),
		Stages: stages, Current: CurrentCounts(stages, current), Conversions: ComputeConversions(q, changes)}, nil
}

// DayStart is the first instant of d's calendar day in Asia/Shanghai, in
// Unix nanoseconds (d's own zone is ignored: only its date counts).
func DayStart(d time.Time) int64 {
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, reporting.Zone).UnixNano()
}

// RepDigest is one rep's due and overdue follow-ups of a day.
type RepDigest struct {
	StaffID      string     `json:"staff_id"`
	DueCount     int        `json:"due_count"`
	OverdueCount int        `json:"overdue_count"`
	Due          []DueEntry `json:"due"`
	Overdue      []DueEntry `json:"overdue"`
}

// MaxDigestItems bounds the customers listed per rep and kind in a digest
// (the counts are exact).
const MaxDigestItems = 100

// Digest groups due entries (as Due returns them, overdue before the day)
// per rep; reps without any are left out.
func Digest(entries []DueEntry) []RepDigest {
	out := []RepDigest{}
	for _, e := range entries {
		if len(out) == 0 || out[len(out)-1].StaffID != e.StaffID {
			out = append(out, RepDigest{StaffID: e.StaffID, Due: []DueEntry{}, Overdue: []DueEntry{}})
		}
		d := &out[len(out)-1]
		if e.Overdue {
			d.OverdueCount++
			if len(d.Overdue) < MaxDigestItems {
				d.Overdue = append(d.Overdue, e)
			}
			continue
		}
		d.DueCount++
		if len(d.Due) < MaxDigestItems {
			d.Due = append(d.Due, e)
		}
	}
	return out
}

// DailyDigest is the digest of date (its calendar day, taken as a day in
// Asia/Shanghai) for the reps of scope: due that day, or overdue at its
// start. GET /v1/followups/digest and `siyu followups digest` both answer it.
func (r *Reader) DailyDigest(ctx context.Context, tenant string, scope Scope, date time.Time) ([]RepDigest, error) {
	start := time.Unix(0, DayStart(date))
	due, err := r.Due(ctx, tenant, scope.StaffID, start.AddDate(0, 0, 1), start)
	if err != nil {
		return nil, err
	}
	due = slices.DeleteFunc(due, func(e DueEntry) bool { return !scope.Covers(e.StaffID) })
	return Digest(due), nil
}
