package metering

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/siyu-dev/siyu/adoption"
	"github.com/siyu-dev/siyu/errkind"
	"github.com/siyu-dev/siyu/internal/freshness"
	siyusql "github.com/siyu-dev/siyu/sql"
	"github.com/siyu-dev/siyu/store"
)

// ErrInvalid marks a query that is not valid.
var ErrInvalid = errkind.New(errkind.Validation, "invalid metering query")

// Service reads meters and exports usage.
type Service struct {
	conn    driver.Conn
	now     func() time.Time
	stored  *freshness.Table[done, *batch] // metering_changes
	dailies freshness.Memo[map[string][]Daily]
}

// NewService returns a Service over conn; now decides which periods are
// closed (nil: time.Now).
func NewService(conn driver.Conn, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	s := &Service{conn: conn, now: now}
	s.stored = s.storedTable()
	s.dailies = freshness.Memo[map[string][]Daily]{Conn: conn, Margin: freshness.DefaultMargin}
	return s
}

var (
	qChanges = siyusql.Query("metering_daily_changes")
	qCaps    = siyusql.Query("metering_caps")
	qExports = siyusql.Query("billing_exports")
)

const insertExport = "INSERT INTO billing_exports (tenant, period, meter, seq, value, exported_at)"

// Daily returns every tenant's meters (tenant "" = all tenants) for each
// day of [from, to]. Concurrent reads of one tenant and range share one
// read (the executive page asks two meters at once), and the answer is
// kept while the tenant's inputs do not move (freshness.Memo); it is read
// only, by every caller.
func (s *Service) Daily(ctx context.Context, tenant string, from, to adoption.Day) (map[string][]Daily, error) {
	if from > to {
		return nil, fmt.Errorf("%w: from after to", ErrInvalid)
	}
	key := strconv.Itoa(int(from)) + " " + strconv.Itoa(int(to))
	return s.dailies.Get(ctx, tenant, key, func(ctx context.Context) (map[string][]Daily, error) { return s.readDaily(ctx, tenant, from, to) })
}

func (s *Service) readDaily(ctx context.Context, tenant string, from, to adoption.Day) (map[string][]Daily, error) {
	changes, tenants, err := s.storedChanges(ctx, tenant, from, to)
	if err != nil {
		return nil, err
	}
	caps, err := s.caps(ctx, tenant)
	if err != nil {
		return nil, err
	}
	return FromChanges(changes, tenants, caps, from, to), nil
}

// Series is meter m over [from, to] in windows w, for one tenant or (""),
// summed over all tenants.
func (s *Service) Series(ctx context.Context, m Meter, w Window, tenant string, from, to adoption.Day) ([]Point, error) {
	daily, err := s.Daily(ctx, tenant, from, to)
	if err != nil {
		return nil, err
	}
	all := make([][]Daily, 0, len(daily))
	for _, ds := range daily {
		all = append(all, ds)
	}
	return Aggregate(m, w, all, from, to), nil
}

// Usage is the export of a period for one tenant or ("") all. The first
// export of a closed period records its lines; later ones repeat them and
// record adjustments (Reconcile).
func (s *Service) Usage(ctx context.Context, tenant string, p Period) (Usage, error) {
	if err := p.check(); err != nil {
		return Usage{}, err
	}
	now := s.now()
	closed := p.Closed(now)
	daily, err := s.Daily(ctx, tenant, p.From, p.To)
	if err != nil {
		return Usage{}, err
	}
	figures := map[string]map[string]int64{}
	for tn, ds := range daily {
		figures[tn] = usageFigures(ds)
	}
	var recorded []Record
	if closed {
		if recorded, err = s.recorded(ctx, tenant, p.String()); err != nil {
			return Usage{}, err
		}
	}
	u, add := Reconcile(p.String(), closed, figures, recorded)
	if len(add) > 0 {
		rows := make([][]any, len(add))
		for i, r := range add {
			rows[i] = []any{r.Tenant, p.String(), r.Meter, r.Seq, r.Value, now.UTC().Truncate(time.Second)}
		}
		if err := store.Insert(ctx, s.conn, insertExport, rows...); err != nil {
			return Usage{}, fmt.Errorf("record billing export: %w", err)
		}
	}
	return u, nil
}

// changes reads the daily changes of the meters up to the end of to,
// folded in ClickHouse (docs/decisions.md, M7).
func (s *Service) changes(ctx context.Context, tenant string, from, to adoption.Day) ([]Change, error) {
	rows, err := s.conn.Query(ctx, qChanges, clickhouse.Named("tenant", tenant),
		clickhouse.Named("from", from.String()), clickhouse.Named("end_ns", to.EndNs()))
	if err != nil {
		return nil, fmt.Errorf("read meter changes: %w", err)
	}
	return scanChanges(rows)
}

func scanChanges(rows driver.Rows) ([]Change, error) {
	defer rows.Close()
	var out []Change
	for rows.Next() {
		var c Change
		var day time.Time
		var lost, added, linked uint64
		if err := rows.Scan(&c.Tenant, &day, &c.TotalChange, &lost, &added, &linked); err != nil {
			return nil, fmt.Errorf("scan meter changes: %w", err)
		}
		c.Day, c.Lost, c.New, c.Linked = adoption.DateDay(day), int64(lost), int64(added), int64(linked)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read meter changes: %w", err)
	}
	return out, nil
}

func (s *Service) caps(ctx context.Context, tenant string) ([]Cap, error) {
	rows, err := s.conn.Query(ctx, qCaps, clickhouse.Named("tenant", tenant))
	if err != nil {
		return nil, fmt.Errorf("read contact caps: %w", err)
	}
	defer rows.Close()
	var out []Cap
	for rows.Next() {
		var c Cap
		if err := rows.Scan(&c.Tenant, &c.TimeNs, &c.ID, &c.Source, &c.ContactCap); err != nil {
			return nil, fmt.Errorf("scan contact caps: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read contact caps: %w", err)
	}
	return out, nil
}

func (s *Service) recorded(ctx context.Context, tenant, period string) ([]Record, error) {
	rows, err := s.conn.Query(ctx, qExports, clickhouse.Named("tenant", tenant), clickhouse.Named("period", period))
	if err != nil {
		return nil, fmt.Errorf("read billing exports: %w", err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		var r Record
		if err := rows.Scan(&r.Tenant, &r.Meter, &r.Seq, &r.Value); err != nil {
			return nil, fmt.Errorf("scan billing exports: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read billing exports: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out, nil
}
