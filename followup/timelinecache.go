package followup

import (
	"context"
	"slices"
	"sync"

	"github.com/siyu-dev/siyu/kafka"
)

// maxCachedPages bounds the timeline cache: at most this many first pages
// (a page of 50 readable events is ~15 KB).
const maxCachedPages = 10_000

// timelineCache keeps customers' first timeline pages (docs/decisions.md,
// "Board", B9). Exact: the tail drops a customer's pages at each event of
// the customer (invalidate); a page read from ClickHouse is kept only when,
// before the read, the ingest group had committed everything the tail had
// passed (so ClickHouse held every event before the tail's position), and
// no event of the customer reached the tail during the read (its flight
// was not marked).
type timelineCache struct {
	mu       sync.Mutex
	max      int
	pages    map[pageKey]*TimelinePage
	inflight map[contactKey][]*flight
}

type contactKey struct{ tenant, contact string }

type pageKey struct {
	contactKey
	limit int
}

// flight is one read from ClickHouse under way; changed is set when an
// event of its customer reaches the tail meanwhile.
type flight struct{ changed bool }

func newTimelineCache(limit int) *timelineCache {
	return &timelineCache{max: limit, pages: map[pageKey]*TimelinePage{}, inflight: map[contactKey][]*flight{}}
}

func (tc *timelineCache) get(k pageKey) *TimelinePage {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return tc.pages[k]
}

// begin records a read of k's customer from ClickHouse.
func (tc *timelineCache) begin(k contactKey) *flight {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	f := &flight{}
	tc.inflight[k] = append(tc.inflight[k], f)
	return f
}

// end closes f and keeps page (when not nil) unless f saw a change. A full
// cache first drops about half its pages (map order is random).
func (tc *timelineCache) end(k pageKey, f *flight, page *TimelinePage) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	fs := tc.inflight[k.contactKey]
	for i, g := range fs {
		if g == f {
			fs = append(fs[:i], fs[i+1:]...)
			break
		}
	}
	if len(fs) == 0 {
		delete(tc.inflight, k.contactKey)
	} else {
		tc.inflight[k.contactKey] = fs
	}
	if page == nil || f.changed {
		return
	}
	if len(tc.pages) >= tc.max {
		dropped := 0
		for old := range tc.pages {
			delete(tc.pages, old)
			if dropped++; dropped >= tc.max/2 {
				break
			}
		}
	}
	tc.pages[k] = page
}

// invalidate drops the customer's pages and marks its reads under way: an
// event of the customer reached the tail.
func (tc *timelineCache) invalidate(tenant, subject string) {
	k := contactKey{tenant, subject}
	tc.mu.Lock()
	defer tc.mu.Unlock()
	for _, f := range tc.inflight[k] {
		f.changed = true
	}
	for _, limit := range commonLimits {
		delete(tc.pages, pageKey{k, limit})
	}
}

// purgeTenant drops the pages of tenant and marks its reads under way: its
// memory board was dropped, so the tail no longer invalidates them.
func (tc *timelineCache) purgeTenant(tenant string) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	for k := range tc.pages {
		if k.tenant == tenant {
			delete(tc.pages, k)
		}
	}
	for k, fs := range tc.inflight {
		if k.tenant == tenant {
			for _, f := range fs {
				f.changed = true
			}
		}
	}
}

// commonLimits are the page sizes the cache keeps: the API's default and
// the usual choices; other sizes are read from ClickHouse every time.
var commonLimits = []int{10, 20, 50, 100}

// Timeline returns a page of the customer's timeline; first pages of
// tenants with a complete memory board come from the cache when they can
// (fresh: false when the client asked to bypass it or named writes to
// reflect — then ClickHouse answers, the API having waited for them).
func (bs *Boards) Timeline(ctx context.Context, tenant, contact, cursor string, limit int, fresh bool, after []kafka.Position) (*TimelinePage, error) {
	k := pageKey{contactKey{tenant, contact}, limit}
	tb, ready := bs.boards.Get(tenant)
	cacheable := cursor == "" && !fresh && len(after) == 0 && isCommonLimit(limit) && ready
	if !cacheable {
		if cursor == "" {
			bs.timeline.WithLabelValues("bypass").Inc()
		}
		return bs.reader.Timeline(ctx, tenant, contact, cursor, limit)
	}
	if page := bs.pages.get(k); page != nil {
		bs.timeline.WithLabelValues("hit").Inc()
		return page, nil
	}
	bs.timeline.WithLabelValues("miss").Inc()
	f := bs.pages.begin(k.contactKey)
	complete, err := bs.tail.Committed().Passed(ctx, bs.tail.Positions())
	if err != nil || !bs.boards.Registered(tenant, tb) { // evicted since: the tail no longer marks f
		complete = false
	}
	page, err := bs.reader.Timeline(ctx, tenant, contact, cursor, limit)
	keep := page
	if err != nil || !complete {
		keep = nil
	}
	bs.pages.end(k, f, keep)
	return page, err
}

func isCommonLimit(limit int) bool { return slices.Contains(commonLimits, limit) }
