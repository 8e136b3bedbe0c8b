package loadgen

import (
	"errors"
	"fmt"
	"github.com/siyu-dev/siyu/internal/reporting"
	"time"

	"github.com/siyu-dev/siyu/event"
)

// DefaultEnd is where the default time span ends. It is fixed, not the
// current time, so that a Config without Start yields the same stream on
// every run; demos that want recent data set Start themselves.
var DefaultEnd = time.Date(2026, time.November, 1, 0, 0, 0, 0, reporting.Zone)

// Defaults for the zero values of Config.
const (
	DefaultDays          = 30
	DefaultTagsPerTenant = 50
)

// Limits that keep a Config sane.
const (
	maxDays   = 3660
	maxStaff  = 99_999
	maxTags   = 10_000
	maxEvents = 1 << 40 // ids carry an 8-digit base-36 counter (36^8 > 2^41)
)

// Source is the CloudEvents source of every generated event.
const Source = "loadgen"

// Config describes a synthetic stream. The zero values of Days, Start and
// TagsPerTenant mean their defaults; everything else must be set.
type Config struct {
	// Seed selects the stream: the same Config yields the same events, byte
	// for byte, on every run and Go version.
	Seed int64
	// Tenants is the number of tenants, named t0001, t0002, ... unless
	// TenantNames names them (then Tenants may be 0 or must match its length).
	Tenants     int
	TenantNames []string
	// StaffPerTenant is the sales team of each tenant: staff ids s0001, ...
	StaffPerTenant int
	// ContactsPerTenant caps the customers each tenant adds. The generator
	// adds fewer when Events is too small to give each a history: contact.added
	// never takes more than a tenth of the stream.
	ContactsPerTenant int
	// Events is the number of distinct events to emit. It includes each
	// tenant's set-up (one subscription.changed and TagsPerTenant tag.defined
	// events); when Events is smaller than the set-up, the stream is a prefix
	// of it. Duplicates come on top: see DuplicateShare.
	Events int
	// Start and Days bound event times to [Start, Start+Days×24h). The
	// default is the DefaultDays days ending at DefaultEnd. Times are written
	// in China Standard Time (+08:00), busiest in office hours on weekdays.
	// Consumers refuse events more than 24 h in their future: a stream for
	// a live pipeline should end before now.
	Start time.Time
	Days  int
	// TagsPerTenant is how many tags each tenant defines (default 50).
	TagsPerTenant int
	// PaidShare is the share of tenants on a paid plan, in [0, 1].
	PaidShare float64
	// DuplicateShare adds round(Events×DuplicateShare) redeliveries of
	// already-emitted events, byte-identical to the original, each placed
	// after it (anywhere, with Shuffle). In [0, 1].
	DuplicateShare float64
	// Shuffle emits the events in a random order instead of time order, to
	// test order-independence of consumers. Shuffle and DuplicateShare make
	// the Generator buffer the whole stream.
	Shuffle bool
}

func (c Config) withDefaults() Config {
	if c.Days == 0 {
		c.Days = DefaultDays
	}
	if c.Start.IsZero() {
		c.Start = DefaultEnd.AddDate(0, 0, -c.Days)
	}
	if c.TagsPerTenant == 0 {
		c.TagsPerTenant = DefaultTagsPerTenant
	}
	if c.Tenants == 0 {
		c.Tenants = len(c.TenantNames)
	}
	return c
}

// Validate reports the first problem with c.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.Tenants <= 0:
		return errors.New("tenants must be positive")
	case len(c.TenantNames) > 0 && len(c.TenantNames) != c.Tenants:
		return fmt.Errorf("tenants is %d but %d tenant names are given", c.Tenants, len(c.TenantNames))
	case c.StaffPerTenant <= 0 || c.StaffPerTenant > maxStaff:
		return fmt.Errorf("staff per tenant must be in 1..%d", maxStaff)
	case c.ContactsPerTenant <= 0:
		return errors.New("contacts per tenant must be positive")
	case c.Events <= 0 || c.Events > maxEvents:
		return fmt.Errorf("events must be in 1..%d", maxEvents)
	case c.Days < 0 || c.Days > maxDays:
		return fmt.Errorf("days must be in 1..%d", maxDays)
	case c.Start.Year() < 2000 || c.Start.Year() > 2100:
		return errors.New("start must lie in 2000..2100")
	case c.TagsPerTenant < 0 || c.TagsPerTenant > maxTags:
		return fmt.Errorf("tags per tenant must be in 1..%d", maxTags)
	case !(c.PaidShare >= 0 && c.PaidShare <= 1):
		return errors.New("paid share must be in [0, 1]")
	case !(c.DuplicateShare >= 0 && c.DuplicateShare <= 1):
		return errors.New("duplicate share must be in [0, 1]")
	}
	return validateNames(c.TenantNames)
}

func validateNames(names []string) error {
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if !event.ValidTenant(n) {
			return fmt.Errorf("tenant name %q must match [a-z0-9][a-z0-9_-]{0,63}", n)
		}
		if seen[n] {
			return fmt.Errorf("tenant name %q is given twice", n)
		}
		seen[n] = true
	}
	return nil
}
