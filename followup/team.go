package followup

import (
	"context"
	"fmt"
	"slices"

	"github.com/ClickHouse/clickhouse-go/v2"

	siyusql "github.com/siyu-dev/siyu/sql"
)

var qTeam = siyusql.Query("followup_team")

// Team returns the reps whose current manager is manager (staff.manager_set,
// last writer wins per rep), sorted.
func (r *Reader) Team(ctx context.Context, tenant, manager string) ([]string, error) {
	rows, err := r.conn.Query(ctx, qTeam, clickhouse.Named("tenant", tenant), clickhouse.Named("manager_id", manager))
	if err != nil {
		return nil, fmt.Errorf("read team: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var rep string
		if err := rows.Scan(&rep); err != nil {
			return nil, fmt.Errorf("read team: %w", err)
		}
		out = append(out, rep)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read team: %w", err)
	}
	return out, nil
}

// Scope is whose follow-ups a read covers: one rep (StaffID), else the reps
// of Team, else (both empty, Team nil) the whole tenant.
type Scope struct {
	StaffID string
	Team    []string
}

// Covers reports whether staff's follow-ups are in the scope.
func (s Scope) Covers(staff string) bool {
	switch {
	case s.StaffID != "":
		return staff == s.StaffID
	case s.Team != nil:
		return slices.Contains(s.Team, staff)
	}
	return true
}

// always lists the reps statistics list even without activity: the one
// asked for, or every rep of the team.
func (s Scope) always() []string {
	if s.StaffID != "" {
		return []string{s.StaffID}
	}
	return s.Team
}
