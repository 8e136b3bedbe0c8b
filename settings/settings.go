// Package settings keeps a tenant's small settings (table tenant_settings,
// sql/0035): for now whether reps see customers' phones masked. Reads are
// cached for a short time, so that a customer read does not cost a query;
// a change made through this process is seen at once, through another
// replica within the cache's lifetime.
package settings

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/siyu-dev/siyu/errkind"
	siyusql "github.com/siyu-dev/siyu/sql"
	"github.com/siyu-dev/siyu/store"
)

// Settings are one tenant's settings; the zero value is the default.
type Settings struct {
	// MaskPhonesForReps shows reps a customer's phone as 138****8000.
	MaskPhonesForReps bool `json:"mask_phones_for_reps"`
	// UpdatedAt is when they were last changed (zero: never).
	UpdatedAt time.Time `json:"updated_at"`
}

// Store reads and writes the settings in ClickHouse.
type Store struct {
	conn  driver.Conn
	ttl   time.Duration
	now   func() time.Time
	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	s  Settings
	at time.Time
}

// NewStore returns the store over conn; reads are cached for ttl (0: not
// cached).
func NewStore(conn driver.Conn, ttl time.Duration) *Store {
	return &Store{conn: conn, ttl: ttl, now: time.Now, cache: map[string]cached{}}
}

var qGet = siyusql.Query("tenant_settings_get")

// ErrUnavailable wraps a failure to read or store the settings (503).
var ErrUnavailable = errkind.New(errkind.Unavailable, "the tenant settings are unavailable for now; retry")

// Get returns tenant's settings, the defaults when none were ever set.
func (s *Store) Get(ctx context.Context, tenant string) (Settings, error) {
	now := s.now()
	s.mu.Lock()
	c, ok := s.cache[tenant]
	s.mu.Unlock()
	if ok && now.Sub(c.at) < s.ttl {
		return c.s, nil
	}
	var out Settings
	var mask uint8
	err := s.conn.QueryRow(ctx, qGet, clickhouse.Named("tenant", tenant)).Scan(&mask, &out.UpdatedAt)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		out = Settings{}
	case err != nil:
		return Settings{}, fmt.Errorf("%w: read tenant settings: %w", ErrUnavailable, err)
	default:
		out.MaskPhonesForReps, out.UpdatedAt = mask == 1, out.UpdatedAt.UTC()
	}
	if s.ttl > 0 {
		s.mu.Lock()
		s.cache[tenant] = cached{s: out, at: now}
		s.mu.Unlock()
	}
	return out, nil
}

// Put replaces tenant's settings and returns them as stored.
func (s *Store) Put(ctx context.Context, tenant string, st Settings) (Settings, error) {
	now := s.now().UTC()
	st.UpdatedAt = now.Truncate(time.Second)
	var mask uint8
	if st.MaskPhonesForReps {
		mask = 1
	}
	err := store.Insert(ctx, s.conn,
		"INSERT INTO tenant_settings (tenant, mask_phones_for_reps, updated_at, version)",
		[]any{tenant, mask, st.UpdatedAt, uint64(now.UnixNano())})
	if err != nil {
		return Settings{}, fmt.Errorf("%w: store tenant settings: %w", ErrUnavailable, err)
	}
	s.mu.Lock()
	delete(s.cache, tenant)
	s.mu.Unlock()
	return st, nil
}

// MaskPhone keeps a phone's first 3 and last 4 digits (13800138000 →
// 138****8000; a +86 or 0086 country code is dropped first); a number of
// fewer than 8 digits is masked whole. "" stays "".
func MaskPhone(phone string) string {
	var b strings.Builder
	for _, r := range phone {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	d := b.String()
	switch {
	case len(d) == 13 && strings.HasPrefix(d, "86"):
		d = d[2:]
	case len(d) == 15 && strings.HasPrefix(d, "0086"):
		d = d[4:]
	}
	if phone == "" {
		return ""
	}
	if len(d) < 8 {
		return "****"
	}
	return d[:3] + "****" + d[len(d)-4:]
}
