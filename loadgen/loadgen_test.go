package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"github.com/siyu-dev/siyu/internal/reporting"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/event"
)

var farFuture = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)

func decoder() *event.Decoder { return event.NewDecoder(func() time.Time { return farFuture }) }

func baseConfig() Config {
	return Config{
		Seed:              7,
		Tenants:           3,
		StaffPerTenant:    8,
		ContactsPerTenant: 300,
		Events:            20_000,
		Start:             time.Date(2026, 10, 1, 0, 0, 0, 0, reporting.Zone),
		Days:              30,
		PaidShare:         0.5,
	}
}

func with(f func(*Config)) Config {
	c := baseConfig()
	f(&c)
	return c
}

// collect runs g to the end and returns its events encoded.
func collect(t *testing.T, g *Generator) [][]byte {
	t.Helper()
	var out [][]byte
	var e event.Event
	for g.Next(&e) {
		out = append(out, event.AppendJSON(nil, &e))
	}
	require.Len(t, out, g.Total())
	return out
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		err  string
	}{
		{"base", baseConfig(), ""},
		{"defaults", Config{Tenants: 1, StaffPerTenant: 1, ContactsPerTenant: 1, Events: 1}, ""},
		{"names only", with(func(c *Config) { c.Tenants, c.TenantNames = 0, []string{"demo"} }), ""},
		{"no tenants", with(func(c *Config) { c.Tenants = 0 }), "tenants must be positive"},
		{"names mismatch", with(func(c *Config) { c.TenantNames = []string{"a", "b"} }), "tenant names"},
		{"bad name", with(func(c *Config) { c.Tenants, c.TenantNames = 0, []string{"Demo"} }), "must match"},
		{"repeated name", with(func(c *Config) { c.Tenants, c.TenantNames = 0, []string{"a", "a"} }), "given twice"},
		{"no staff", with(func(c *Config) { c.StaffPerTenant = 0 }), "staff per tenant"},
		{"no contacts", with(func(c *Config) { c.ContactsPerTenant = 0 }), "contacts per tenant"},
		{"no events", with(func(c *Config) { c.Events = 0 }), "events must be"},
		{"negative days", with(func(c *Config) { c.Days = -1 }), "days must be"},
		{"ancient start", with(func(c *Config) { c.Start = time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC) }), "start must"},
		{"negative tags", with(func(c *Config) { c.TagsPerTenant = -1 }), "tags per tenant"},
		{"paid share", with(func(c *Config) { c.PaidShare = 1.5 }), "paid share"},
		{"duplicate share", with(func(c *Config) { c.DuplicateShare = -0.1 }), "duplicate share"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.err == "" {
				require.NoError(t, err)
				_, err = New(tt.cfg)
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.err)
			_, err = New(tt.cfg)
			require.Error(t, err)
		})
	}
}

// TestEventsValid decodes every event with the contract's decoder, checks
// that re-encoding the decoded event gives the same bytes (no field was
// dropped as unknown to its type), and checks the stream's plausibility.
func TestEventsValid(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"multi tenant", baseConfig()},
		{"demo tenant", with(func(c *Config) {
			c.Tenants, c.TenantNames, c.StaffPerTenant, c.ContactsPerTenant = 0, []string{"demo"}, 20, 2000
		})},
		{"many contacts", with(func(c *Config) { c.ContactsPerTenant = 1_000_000 })},
		{"small teams", with(func(c *Config) { c.StaffPerTenant, c.Tenants = 2, 10 })},
		{"one staff", with(func(c *Config) { c.StaffPerTenant = 1 })},
		{"few tags", with(func(c *Config) { c.TagsPerTenant = 2 })},
		{"more tags than vocabulary", with(func(c *Config) { c.TagsPerTenant = 80 })},
		{"set-up only", with(func(c *Config) { c.Events = 100 })},
		{"one day", with(func(c *Config) { c.Days, c.Events = 1, 5000 })},
		{"defaults", Config{Seed: 3, Tenants: 2, StaffPerTenant: 5, ContactsPerTenant: 100, Events: 5000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := New(tt.cfg)
			require.NoError(t, err)
			evs := collect(t, g)
			cfg := tt.cfg.withDefaults()
			end := cfg.Start.AddDate(0, 0, cfg.Days)
			w := newWorld()
			dec := decoder()
			var prev time.Time
			for i, b := range evs {
				e, err := dec.Decode(b)
				require.NoError(t, err, "event %d: %s", i, b)
				require.Equal(t, string(b), string(event.AppendJSON(nil, e)))
				require.Equal(t, Source, e.Source)
				require.False(t, e.Time.Before(cfg.Start), "event %d before start: %s", i, b)
				require.True(t, e.Time.Before(end), "event %d after end: %s", i, b)
				require.False(t, e.Time.Before(prev), "event %d out of order: %s", i, b)
				prev = e.Time
				w.check(t, e.Clone(), string(b))
			}
		})
	}
}

// world replays a stream and checks that it could have happened.
type world struct {
	ids      map[string]bool // tenant/id
	tags     map[string]bool // tenant/tag id
	contacts map[string]*seenContact
	departed map[string]bool // tenant/staff id
}

type seenContact struct {
	owner   string
	removed bool
	tags    map[string]bool
}

func newWorld() *world {
	return &world{ids: map[string]bool{}, tags: map[string]bool{}, contacts: map[string]*seenContact{}, departed: map[string]bool{}}
}

func (w *world) check(t *testing.T, e event.Event, raw string) {
	t.Helper()
	key := e.Tenant + "/" + e.ID
	require.False(t, w.ids[key], "repeated id: %s", raw)
	w.ids[key] = true
	staff := func(id string) {
		require.False(t, w.departed[e.Tenant+"/"+id], "departed staff at work: %s", raw)
	}
	switch e.Type {
	case event.TagDefined:
		w.tags[e.Tenant+"/"+e.Subject] = true
		return
	case event.SubscriptionChanged:
		return
	case event.StaffActive:
		staff(e.Subject)
		return
	case event.StaffDeparted:
		staff(e.Subject)
		staff(e.Data.SuccessorStaffID)
		w.departed[e.Tenant+"/"+e.Subject] = true
		return
	case event.ContactAdded:
		_, seen := w.contacts[e.Tenant+"/"+e.Subject]
		require.False(t, seen, "contact added twice: %s", raw)
		require.True(t, strings.HasPrefix(e.Subject, "wm"))
		staff(e.Data.StaffID)
		w.contacts[e.Tenant+"/"+e.Subject] = &seenContact{owner: e.Data.StaffID, tags: map[string]bool{}}
		return
	}
	c := w.contacts[e.Tenant+"/"+e.Subject]
	require.NotNil(t, c, "event before contact.added: %s", raw)
	require.False(t, c.removed, "event after contact.removed: %s", raw)
	switch e.Type {
	case event.ContactTransferred:
		require.Equal(t, c.owner, e.Data.FromStaffID, raw)
		require.NotEqual(t, e.Data.FromStaffID, e.Data.ToStaffID, raw)
		staff(e.Data.ToStaffID)
		c.owner = e.Data.ToStaffID
		return
	case event.TagAdded:
		require.True(t, w.tags[e.Tenant+"/"+e.Data.TagID], "undefined tag: %s", raw)
		require.False(t, c.tags[e.Data.TagID], "tag added twice: %s", raw)
		c.tags[e.Data.TagID] = true
	case event.TagRemoved:
		require.True(t, c.tags[e.Data.TagID], "removed tag was not on: %s", raw)
		delete(c.tags, e.Data.TagID)
	case event.ContactRemoved:
		c.removed = true
	case event.FollowupLogged:
		if e.Data.Present.Has(event.FNextAt) {
			require.Greater(t, e.Data.NextAtNs, e.TimeNs(), raw)
		}
	}
	if e.Data.Present.Has(event.FStaffID) {
		require.Equal(t, c.owner, e.Data.StaffID, "not the owner: %s", raw)
		staff(e.Data.StaffID)
	}
}

func TestDeterministic(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"streaming", baseConfig()},
		{"shuffled with duplicates", with(func(c *Config) { c.Shuffle, c.DuplicateShare = true, 0.2 })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := func(seed int64) [][]byte {
				cfg := tt.cfg
				cfg.Seed = seed
				g, err := New(cfg)
				require.NoError(t, err)
				return collect(t, g)
			}
			a, b := run(1), run(1)
			require.Equal(t, a, b)
			c := run(2)
			require.NotEqual(t, a[len(a)-1], c[len(c)-1])
		})
	}
}

// TestShuffleAndDuplicates checks that Shuffle and DuplicateShare only
// reorder and repeat the events of the plain stream.
func TestShuffleAndDuplicates(t *testing.T) {
	plain := collect(t, must(New(baseConfig())))
	tests := []struct {
		name    string
		shuffle bool
		share   float64
		dups    int
	}{
		{"shuffle", true, 0, 0},
		{"duplicates", false, 0.25, 5000},
		{"both", true, 0.1, 2000},
		{"all duplicated", false, 1, 20_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := must(New(with(func(c *Config) { c.Shuffle, c.DuplicateShare = tt.shuffle, tt.share })))
			require.Equal(t, len(plain)+tt.dups, g.Total())
			got := collect(t, g)
			first := map[string]int{} // event → position of its first delivery
			for i, b := range got {
				if _, ok := first[string(b)]; !ok {
					first[string(b)] = i
				}
			}
			require.Len(t, first, len(plain), "every event delivered, no new ones")
			for _, b := range plain {
				_, ok := first[string(b)]
				require.True(t, ok, "missing %s", b)
			}
			if tt.shuffle {
				require.NotEqual(t, plain[:100], got[:100])
				return
			}
			// Without Shuffle, first deliveries keep the plain order.
			var order []int
			for _, b := range plain {
				order = append(order, first[string(b)])
			}
			require.True(t, sort.IntsAreSorted(order))
		})
	}
}

func must(g *Generator, err error) *Generator {
	if err != nil {
		panic(err)
	}
	return g
}

// TestMix checks the shares of the event types in a demo-like stream and
// logs them (go test -v -run TestMix).
func TestMix(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"demo", Config{Seed: 1, TenantNames: []string{"demo"}, StaffPerTenant: 20, ContactsPerTenant: 2000, Events: 200_000, PaidShare: 1}},
		{"bench", benchConfig(300_000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := must(New(tt.cfg))
			counts := map[event.Type]int{}
			var e event.Event
			for g.Next(&e) {
				counts[e.Type]++
			}
			share := func(typ event.Type) float64 { return float64(counts[typ]) / float64(g.Total()) }
			for _, typ := range event.Types() {
				t.Logf("%-24s %8d %6.2f%%", typ, counts[typ], 100*share(typ))
			}
			require.InDelta(t, 0.65, share(event.ChatMessage), 0.05)
			for _, typ := range event.Types() {
				require.Positive(t, counts[typ], "no %s", typ)
			}
			require.Less(t, share(event.StaffDeparted), 0.001)
			require.Less(t, share(event.ContactRemoved), share(event.ContactAdded))
		})
	}
}

func TestWriteJSONLines(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"plain", with(func(c *Config) { c.Events = 5000 })},
		{"duplicates", with(func(c *Config) { c.Events, c.DuplicateShare = 5000, 0.1 })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := must(New(tt.cfg))
			var out bytes.Buffer
			var last [2]int
			calls := 0
			n, err := WriteJSONLines(context.Background(), &out, g, func(done, total int) {
				require.GreaterOrEqual(t, done, last[0])
				last = [2]int{done, total}
				calls++
			})
			require.NoError(t, err)
			require.Equal(t, g.Total(), n)
			require.Equal(t, [2]int{n, n}, last)
			require.Positive(t, calls)
			sc := bufio.NewScanner(&out)
			dec := decoder()
			lines := 0
			for sc.Scan() {
				_, err := dec.Decode(sc.Bytes())
				require.NoError(t, err)
				lines++
			}
			require.Equal(t, n, lines)
		})
	}
}

func TestWriteJSONLinesStops(t *testing.T) {
	tests := []struct {
		name string
		ctx  func() context.Context
		w    func() *failingWriter
		want error
	}{
		{"cancelled", func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, func() *failingWriter { return &failingWriter{okWrites: 100} }, context.Canceled},
		{"write fails", context.Background, func() *failingWriter { return &failingWriter{okWrites: 1} }, errBroken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := must(New(with(func(c *Config) { c.Events = 50_000 })))
			n, err := WriteJSONLines(tt.ctx(), tt.w(), g, nil)
			require.ErrorIs(t, err, tt.want)
			require.Less(t, n, g.Total())
		})
	}
}

var errBroken = errors.New("broken pipe")

type failingWriter struct{ okWrites int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.okWrites == 0 {
		return 0, errBroken
	}
	w.okWrites--
	return len(p), nil
}

func benchConfig(events int) Config {
	return Config{
		Seed:              42,
		Tenants:           10,
		StaffPerTenant:    50,
		ContactsPerTenant: 10_000,
		Events:            events,
		PaidShare:         0.6,
	}
}

// BenchmarkGenerate measures the streaming path: b.N events of one stream,
// each encoded as JSON the way WriteJSONLines does.
func BenchmarkGenerate(b *testing.B) {
	b.Run("next", func(b *testing.B) {
		g := must(New(benchConfig(max(b.N, 1))))
		var e event.Event
		b.ReportAllocs()
		b.ResetTimer()
		for g.Next(&e) {
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("next+json", func(b *testing.B) {
		g := must(New(benchConfig(max(b.N, 1))))
		var e event.Event
		buf := make([]byte, 0, 1024)
		b.ReportAllocs()
		b.ResetTimer()
		for g.Next(&e) {
			buf = event.AppendJSON(buf[:0], &e)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}
