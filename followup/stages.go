package followup

import (
	"context"
	"errors"
	"fmt"
	"github.com/siyu-dev/siyu/errkind"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	siyusql "github.com/siyu-dev/siyu/sql"
)

// Limits of a stage list: WeCom-sized names, a list a board can show.
const (
	MinStages     = 2
	MaxStages     = 20
	MaxStageRunes = 30
)

// FieldError is a refused input, naming the field and the reason.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Describe is a validation error of Field.
func (e *FieldError) Describe() errkind.Error {
	return errkind.Error{Kind: errkind.Validation, Msg: e.Error(), Field: e.Field, Public: e.Reason}
}

// AsFieldError reports whether err is a FieldError.
func AsFieldError(err error) (*FieldError, bool) {
	var fe *FieldError
	ok := errors.As(err, &fe)
	return fe, ok
}

// NormalizeStages checks an ordered stage list and returns it trimmed:
// 2–20 distinct names of 1–30 characters, without commas (the event joins
// them with commas) or control characters.
func NormalizeStages(in []string) ([]string, error) {
	if len(in) < MinStages || len(in) > MaxStages {
		return nil, &FieldError{"stages", fmt.Sprintf("give %d to %d stages, in order", MinStages, MaxStages)}
	}
	out := make([]string, 0, len(in))
	for i, s := range in {
		s = strings.TrimSpace(s)
		field := fmt.Sprintf("stages[%d]", i)
		switch {
		case s == "" || utf8.RuneCountInString(s) > MaxStageRunes:
			return nil, &FieldError{field, fmt.Sprintf("a stage name is 1–%d characters", MaxStageRunes)}
		case strings.ContainsRune(s, ',') || strings.IndexFunc(s, unicode.IsControl) >= 0:
			return nil, &FieldError{field, "a stage name has no commas or control characters"}
		case slices.Contains(out, s):
			return nil, &FieldError{field, fmt.Sprintf("stage %q is listed twice", s)}
		}
		out = append(out, s)
	}
	return out, nil
}

// JoinStages and SplitStages are the event form of a list (data.stages).
func JoinStages(stages []string) string { return strings.Join(stages, ",") }

// SplitStages is the inverse of JoinStages.
func SplitStages(s string) []string { return strings.Split(s, ",") }

// StageList is a tenant's ordered stage list.
type StageList struct {
	Stages  []string   `json:"stages"`
	Default bool       `json:"default"`
	SetAt   *time.Time `json:"set_at"`
}

// stageTTL is how long a process trusts a list it read or wrote: another
// replica's change takes effect here within it.
const stageTTL = 10 * time.Second

// StageLists reads tenants' stage lists, caching each for stageTTL; a list
// this process wrote is seen at once (Remember).
type StageLists struct {
	conn  driver.Conn
	mu    sync.Mutex
	cache map[string]cachedList
	now   func() time.Time
}

type cachedList struct {
	list StageList
	at   time.Time
}

// NewStageLists returns stage lists read from conn.
func NewStageLists(conn driver.Conn) *StageLists {
	return &StageLists{conn: conn, cache: map[string]cachedList{}, now: time.Now}
}

var qStageList = siyusql.Query("followup_stage_list")

// Get returns the tenant's list: the latest stages.defined, else the default.
func (l *StageLists) Get(ctx context.Context, tenant string) (StageList, error) {
	l.mu.Lock()
	c, ok := l.cache[tenant]
	l.mu.Unlock()
	if ok && l.now().Sub(c.at) < stageTTL {
		return c.list, nil
	}
	list, err := l.read(ctx, tenant)
	if err != nil {
		return StageList{}, err
	}
	l.put(tenant, list)
	return list, nil
}

// Remember makes a list this process just wrote the tenant's list here.
func (l *StageLists) Remember(tenant string, list StageList) { l.put(tenant, list) }

func (l *StageLists) put(tenant string, list StageList) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.cache) > 100_000 {
		clear(l.cache)
	}
	l.cache[tenant] = cachedList{list: list, at: l.now()}
}

func (l *StageLists) read(ctx context.Context, tenant string) (StageList, error) {
	rows, err := l.conn.Query(ctx, qStageList, clickhouse.Named("tenant", tenant))
	if err != nil {
		return StageList{}, fmt.Errorf("read stage list: %w", err)
	}
	defer rows.Close()
	list := StageList{Stages: slices.Clone(Stages), Default: true}
	for rows.Next() {
		var joined string
		var setNs int64
		if err := rows.Scan(&joined, &setNs); err != nil {
			return StageList{}, fmt.Errorf("read stage list: %w", err)
		}
		if joined != "" {
			list = StageList{Stages: SplitStages(joined), SetAt: nsTime(setNs)}
		}
	}
	if err := rows.Err(); err != nil {
		return StageList{}, fmt.Errorf("read stage list: %w", err)
	}
	return list, nil
}
