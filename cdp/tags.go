package cdp

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"github.com/siyu-dev/siyu/errkind"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	siyusql "github.com/siyu-dev/siyu/sql"
)

// Limits of a tag library. MaxTags is WeCom's limit of corp tags per
// enterprise; the name lengths are WeCom's for add_corp_tag, so that a tag
// defined in Siyu can be pushed to WeCom unchanged.
const (
	MaxTags         = 3000
	MaxTagNameRunes = 30
	MaxTagOrder     = 1<<32 - 1 // WeCom's order is a uint32; larger sorts first
)

// ErrTagNotFound means the tenant's library has no such tag.
var ErrTagNotFound = errkind.New(errkind.NotFound, "tag not found")

// Tag is one tag of a tenant's library, as of its latest tag.defined.
type Tag struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Group     string     `json:"group"`
	Order     int64      `json:"order"`
	Deleted   bool       `json:"deleted"`
	CreatedAt *time.Time `json:"created_at"`
	UpdatedAt *time.Time `json:"updated_at"`
}

// TagError is a tag definition that cannot be accepted. Conflict
// distinguishes a clash with the library (a taken name) from a malformed
// value; Field names the request field at fault.
type TagError struct {
	Field    string
	Reason   string
	Conflict bool
}

func (e *TagError) Error() string { return e.Field + ": " + e.Reason }

// Describe is a conflict for a clash with the library, else a validation error.
func (e *TagError) Describe() errkind.Error {
	k := errkind.Validation
	if e.Conflict {
		k = errkind.Conflict
	}
	return errkind.Error{Kind: k, Msg: e.Error(), Field: e.Field, Public: e.Reason}
}

// TagLimitError refuses a new tag when the library already holds Limit live tags.
type TagLimitError struct{ Limit int }

func (e *TagLimitError) Error() string {
	return fmt.Sprintf("the tag library holds at most %d tags (WeCom's limit): delete unused tags first", e.Limit)
}

// Describe is over the tenant's limit, code tag_limit.
func (e *TagLimitError) Describe() errkind.Error {
	return errkind.Error{Kind: errkind.Unprocessable, Msg: e.Error(), Code: "tag_limit", Public: e.Error()}
}

// NormalizeTag trims the name and group of t and checks their form and the
// order. It does not look at the library.
func NormalizeTag(t *Tag) error {
	t.Name, t.Group = strings.TrimSpace(t.Name), strings.TrimSpace(t.Group)
	if t.Name == "" {
		return &TagError{Field: "name", Reason: "a tag needs a name"}
	}
	if err := checkLabel("name", t.Name); err != nil {
		return err
	}
	if err := checkLabel("group", t.Group); err != nil {
		return err
	}
	if t.Order < 0 || t.Order > MaxTagOrder {
		return &TagError{Field: "order", Reason: fmt.Sprintf("must be 0–%d (larger sorts first)", int64(MaxTagOrder))}
	}
	return nil
}

func checkLabel(field, s string) error {
	if n := utf8.RuneCountInString(s); n > MaxTagNameRunes {
		return &TagError{Field: field, Reason: fmt.Sprintf("at most %d characters, got %d", MaxTagNameRunes, n)}
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return &TagError{Field: field, Reason: "must not contain control characters"}
	}
	return nil
}

// CheckTag validates t, already normalized, as the next definition of its
// tag against the library lib: its name must be free among the live tags of
// its group (case-sensitive), and a tag new to the library must fit under
// limit live tags.
func CheckTag(lib []Tag, t Tag, limit int) error {
	if t.Deleted {
		return nil // deleting is always allowed, even out of a clash made elsewhere
	}
	live, isNew := 0, true
	for _, o := range lib {
		if o.ID == t.ID {
			isNew = false
			continue
		}
		if o.Deleted {
			continue
		}
		live++
		if strings.TrimSpace(o.Group) == t.Group && strings.TrimSpace(o.Name) == t.Name {
			return &TagError{Field: "name", Conflict: true,
				Reason: fmt.Sprintf("group %q already has a tag named %q (%s)", t.Group, t.Name, o.ID)}
		}
	}
	if isNew && live >= limit {
		return &TagLimitError{Limit: limit}
	}
	return nil
}

// FindTag returns the tag with id in lib.
func FindTag(lib []Tag, id string) (Tag, bool) {
	for _, t := range lib {
		if t.ID == id {
			return t, true
		}
	}
	return Tag{}, false
}

// SortTags orders tags for display: groups by their highest order (larger
// first, then by name), and within a group by order (larger first, as in
// WeCom), then name and id. A group's place is its tags' orders: Siyu
// keeps no separate group order, so PlanOrder numbers the whole library at
// once, groups together. Deleted tags do not place their group.
func SortTags(tags []Tag) {
	top := map[string]int64{} // group → its highest live order (-1: none live)
	for _, t := range tags {
		if _, seen := top[t.Group]; !seen {
			top[t.Group] = -1
		}
		if !t.Deleted && t.Order > top[t.Group] {
			top[t.Group] = t.Order
		}
	}
	sort.Slice(tags, func(i, j int) bool {
		a, b := tags[i], tags[j]
		switch {
		case a.Group != b.Group && top[a.Group] != top[b.Group]:
			return top[a.Group] > top[b.Group]
		case a.Group != b.Group:
			return a.Group < b.Group
		case a.Order != b.Order:
			return a.Order > b.Order
		case a.Name != b.Name:
			return a.Name < b.Name
		}
		return a.ID < b.ID
	})
}

// PlanOrder numbers the library in the order ids lists it: every live tag
// once, each group's tags together (the groups in the order they come).
// The first tag gets the largest order, len(ids)-1, the last 0, so that
// SortTags shows the library as listed. It returns the tags whose order
// changes, renumbered. A tag missing, unknown or deleted means the library
// changed since the list was read: a conflict naming it.
func PlanOrder(lib []Tag, ids []string) ([]Tag, error) {
	byID := make(map[string]Tag, len(lib))
	live := 0
	for _, t := range lib {
		byID[t.ID] = t
		if !t.Deleted {
			live++
		}
	}
	at := make(map[string]int, len(ids))
	groupEnd := map[string]int{} // group → index of its last tag so far
	var changed []Tag
	for i, id := range ids {
		field := fmt.Sprintf("tags[%d]", i)
		t, ok := byID[id]
		if !ok || t.Deleted {
			return nil, &TagError{Field: field, Conflict: true,
				Reason: fmt.Sprintf("%q is not in the library (deleted meanwhile?): reload the library and order it again", id)}
		}
		if j, dup := at[id]; dup {
			return nil, &TagError{Field: field, Reason: fmt.Sprintf("%q is listed twice (tags[%d] too)", id, j)}
		}
		at[id] = i
		if end, seen := groupEnd[t.Group]; seen && end != i-1 {
			return nil, &TagError{Field: field, Reason: fmt.Sprintf("the tags of group %q must be listed together (tags[%d] is in it too)", t.Group, end)}
		}
		groupEnd[t.Group] = i
		if order := int64(len(ids) - 1 - i); t.Order != order {
			t.Order = order
			changed = append(changed, t)
		}
	}
	if len(ids) != live {
		for _, t := range lib {
			if _, listed := at[t.ID]; !listed && !t.Deleted {
				return nil, &TagError{Field: "tags", Conflict: true,
					Reason: fmt.Sprintf("%q (%s) is not listed: the library changed since it was read; reload it and order it again", t.ID, t.Name)}
			}
		}
	}
	return changed, nil
}

// Tags reads tag libraries from ClickHouse.
type Tags struct {
	conn driver.Conn
}

// NewTags returns a tag library reader over conn.
func NewTags(conn driver.Conn) *Tags { return &Tags{conn: conn} }

var (
	qTagList = siyusql.Query("tag_list")
	qTagGet  = siyusql.Query("tag_get")
)

// List returns every tag of tenant's library, deleted ones included.
func (r *Tags) List(ctx context.Context, tenant string) ([]Tag, error) {
	rows, err := r.conn.Query(ctx, qTagList, clickhouse.Named("tenant", tenant))
	if err != nil {
		return nil, fmt.Errorf("read tag library: %w", err)
	}
	defer rows.Close()
	var out []Tag
	for rows.Next() {
		t, err := scanTag(rows)
		if err != nil {
			return nil, fmt.Errorf("read tag library: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Get returns one tag of tenant's library, deleted or not, or ErrTagNotFound.
func (r *Tags) Get(ctx context.Context, tenant, id string) (Tag, error) {
	row := r.conn.QueryRow(ctx, qTagGet, clickhouse.Named("tenant", tenant), clickhouse.Named("tag_id", id))
	t, err := scanTag(row)
	if errors.Is(err, sqlNoRows) {
		return Tag{}, fmt.Errorf("%w: %q", ErrTagNotFound, id)
	}
	if err != nil {
		return Tag{}, fmt.Errorf("read tag: %w", err)
	}
	return t, nil
}

func scanTag(row interface{ Scan(...any) error }) (Tag, error) {
	var t Tag
	var deleted uint8
	var first, last int64
	if err := row.Scan(&t.ID, &t.Name, &t.Group, &t.Order, &deleted, &first, &last); err != nil {
		return Tag{}, err
	}
	t.Deleted, t.CreatedAt, t.UpdatedAt = deleted != 0, nsTime(first), nsTime(last)
	return t, nil
}

// TagLibrary serializes the writes to each tenant's library within this
// process. ClickHouse shows a definition only once the pipeline has folded
// it, a moment after Kafka acknowledged it; so the library remembers the
// definitions it published and lays them over what ClickHouse returns until
// ClickHouse has caught up. Two quick creates of the same name through one
// process therefore conflict as they should. Across several API processes
// nothing serializes the writes: two replicas may accept the same name in a
// group, or a 3,001st tag, within that moment (a known limit, see
// docs/decisions.md, "Tags").
type TagLibrary struct {
	reader *Tags
	// Limit is how many live tags a library may hold (default MaxTags).
	Limit int
	// Now is the clock (default time.Now).
	Now func() time.Time

	mu      sync.Mutex
	tenants map[string]*tenantTags
}

// recentTTL bounds how long a published definition overlays ClickHouse.
const recentTTL = 5 * time.Minute

type tenantTags struct {
	mu     sync.Mutex
	recent map[string]Tag // published, maybe not folded yet, by id
}

// NewTagLibrary returns a library over ClickHouse with the default limit.
func NewTagLibrary(conn driver.Conn) *TagLibrary {
	return &TagLibrary{reader: NewTags(conn), Limit: MaxTags, Now: time.Now, tenants: map[string]*tenantTags{}}
}

func (l *TagLibrary) tenant(tenant string) *tenantTags {
	l.mu.Lock()
	defer l.mu.Unlock()
	tt, ok := l.tenants[tenant]
	if !ok {
		tt = &tenantTags{recent: map[string]Tag{}}
		l.tenants[tenant] = tt
	}
	return tt
}

// List returns tenant's library, deleted tags included, with this process's
// latest writes.
func (l *TagLibrary) List(ctx context.Context, tenant string) ([]Tag, error) {
	tt := l.tenant(tenant)
	tt.mu.Lock()
	defer tt.mu.Unlock()
	return l.list(ctx, tenant, tt)
}

// list reads ClickHouse and overlays tt.recent; tt.mu is held.
func (l *TagLibrary) list(ctx context.Context, tenant string, tt *tenantTags) ([]Tag, error) {
	lib, err := l.reader.List(ctx, tenant)
	if err != nil {
		return nil, err
	}
	return overlay(lib, tt.recent, l.Now().Add(-recentTTL)), nil
}

// overlay lays the recent definitions over lib, forgetting those that lib
// already reflects or that are older than expired.
func overlay(lib []Tag, recent map[string]Tag, expired time.Time) []Tag {
	index := make(map[string]int, len(lib))
	for i, t := range lib {
		index[t.ID] = i
	}
	for id, r := range recent {
		i, known := index[id]
		switch {
		case known && lib[i].UpdatedAt != nil && !lib[i].UpdatedAt.Before(*r.UpdatedAt), r.UpdatedAt.Before(expired):
			delete(recent, id)
		case known:
			lib[i] = r
		default:
			lib = append(lib, r)
		}
	}
	return lib
}

// Define writes one tag definition of tenant. Under the tenant's lock it
// reads the library, lets plan build the next definition from it (plan
// returns a *TagError or ErrTagNotFound to refuse), checks it against the
// library, stamps its time, and calls publish, which must return only once
// the definition is stored (Kafka acknowledged it).
func (l *TagLibrary) Define(ctx context.Context, tenant string, plan func(lib []Tag) (Tag, error),
	publish func(context.Context, Tag) error) (Tag, error) {
	tt := l.tenant(tenant)
	tt.mu.Lock()
	defer tt.mu.Unlock()
	lib, err := l.list(ctx, tenant, tt)
	if err != nil {
		return Tag{}, err
	}
	t, err := plan(lib)
	if err != nil {
		return Tag{}, err
	}
	if err := CheckTag(lib, t, l.Limit); err != nil {
		return Tag{}, err
	}
	l.stamp(&t, lib)
	if err := publish(ctx, t); err != nil {
		return Tag{}, err
	}
	tt.recent[t.ID] = t
	return t, nil
}

// Reorder numbers tenant's library as ids lists it (PlanOrder), under the
// tenant's lock, and writes the tags whose order changes: publish gets them
// stamped, all at once, and answers per tag its error (nil once stored). It
// returns the library after the write; a tag that failed keeps its order
// and the error is the first failure.
func (l *TagLibrary) Reorder(ctx context.Context, tenant string, ids []string,
	publish func(context.Context, []Tag) ([]error, error)) ([]Tag, error) {
	tt := l.tenant(tenant)
	tt.mu.Lock()
	defer tt.mu.Unlock()
	lib, err := l.list(ctx, tenant, tt)
	if err != nil {
		return nil, err
	}
	changed, err := PlanOrder(lib, ids)
	if err != nil || len(changed) == 0 {
		return lib, err
	}
	for i := range changed {
		l.stamp(&changed[i], lib)
	}
	errs, err := publish(ctx, changed)
	if err != nil {
		return nil, err
	}
	index := make(map[string]int, len(lib))
	for i, t := range lib {
		index[t.ID] = i
	}
	var first error
	for i, t := range changed {
		if errs[i] != nil {
			first = cmp.Or(first, errs[i])
			continue
		}
		tt.recent[t.ID] = t
		lib[index[t.ID]] = t
	}
	return lib, first
}

// stamp sets t's time to now, after any earlier definition of the tag, so
// that the new one wins even against a clock step back.
func (l *TagLibrary) stamp(t *Tag, lib []Tag) {
	now := l.Now().UTC()
	prev, known := FindTag(lib, t.ID)
	if known && prev.UpdatedAt != nil && !now.After(*prev.UpdatedAt) {
		now = prev.UpdatedAt.Add(time.Nanosecond)
	}
	t.UpdatedAt = &now
	if known && prev.CreatedAt != nil {
		t.CreatedAt = prev.CreatedAt
	} else {
		t.CreatedAt = &now
	}
}
