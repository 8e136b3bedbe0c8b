package loadgen

import (
	"github.com/siyu-dev/siyu/internal/reporting"
	"math"
	"time"

	"github.com/siyu-dev/siyu/event"
)

// stream is the world the events come from: tenants, their staff, tags and
// contacts, advanced one event at a time. The stream has two phases: set-up
// (each tenant's subscription and tags, in the first hour at most), then
// slots that the clock spreads over the rest of the span. Each slot emits one
// event: a pending hand-over first, a scheduled contact.added next, else an
// event of a weighted tenant drawn from the mix.
type stream struct {
	r        rng
	idPrefix []byte // seed tag and '-', so that streams of two seeds never share ids
	idBuf    []byte
	tenants  []tenant
	cumShare []float64 // cumulative activity share of the tenants
	tags     int
	staffCap int
	contCap  int

	events, emitted int

	setupN, setupDone int
	startNs, stepNs   int64

	clock                     clock
	slot, slots               int
	adds, addsPlanned         int
	nextAdd                   int
	pStaff, pDepart, pUpgrade float64
	kinds                     choice[contactKind]

	pending []handover
	pendAt  int
}

// handover is a contact.transferred owed after a staff member left.
type handover struct {
	tenant   *tenant
	contact  int32
	from, to int32
}

type tenant struct {
	name     string
	key      uint64 // hashes into the tenant's ids
	seq      uint64 // event ids issued
	paid     bool
	basic    bool // on the basic plan while paid (else pro)
	staff    []staffMember
	employed []int32 // indexes of staff who have not left
	rota     int     // next employed staff member to report staff.active
	tagIDs   []string
	contacts []contact
	live     []int32 // indexes of contacts added and not removed
	last     int32   // the contact of the tenant's latest event, -1 for none
}

type staffMember struct {
	id  string
	pos int32 // index in tenant.employed, -1 once departed
}

const maxTagsPerContact = 4

type contact struct {
	id    string
	key   uint64 // hashes into the contact's name, phone, company...
	owner int32  // staff index
	pos   int32  // index in tenant.live, -1 once removed
	stage uint8
	ntags uint8
	tags  [maxTagsPerContact]uint16
}

// Tuning of the mix; see the package tests for the shares they give.
const (
	// addShareCap bounds contact.added to a tenth of the slots, so that
	// contacts have a history even when ContactsPerTenant is large.
	addShareCap = 0.1
	// addFrontLoad > 1 adds contacts faster early on, when a tenant imports
	// its existing customers, then at a slowing pace.
	addFrontLoad = 1.4
	// stickiness is the chance that an event concerns the tenant's latest
	// contact again: a conversation, then a tag, then a follow-up note.
	stickiness = 0.5
	// staffActiveCap bounds staff.active to 6% of the slots.
	staffActiveCap = 0.06
	// departRate is the share of staff who leave during a stream.
	departRate = 0.04
	// upgradeRate is the share of free tenants that start paying.
	upgradeRate = 0.2
)

func newStream(cfg Config) *stream {
	seedKey := mix64(uint64(cfg.Seed))
	s := &stream{
		r:        newRNG(seedKey),
		tags:     cfg.TagsPerTenant,
		staffCap: cfg.StaffPerTenant,
		contCap:  cfg.ContactsPerTenant,
		events:   cfg.Events,
	}
	s.idPrefix = append(appendPadded(nil, seedKey>>40%(36*36*36*36), 4, base36), '-')
	s.initTenants(cfg, seedKey)
	s.initSchedule(cfg)
	return s
}

func (s *stream) initTenants(cfg Config, seedKey uint64) {
	s.tenants = make([]tenant, cfg.Tenants)
	var sum float64
	for i := range s.tenants {
		tn := &s.tenants[i]
		tn.name = tenantName(cfg, i)
		tn.key = keyOf(seedKey, uint64(i))
		tn.last = -1
		tn.basic = s.r.chance(0.35)
		for j := range cfg.StaffPerTenant {
			id := string(appendPadded([]byte{'s'}, uint64(j+1), 4, "0123456789"))
			tn.staff = append(tn.staff, staffMember{id: id, pos: int32(j)})
			tn.employed = append(tn.employed, int32(j))
		}
		for j := range cfg.TagsPerTenant {
			tn.tagIDs = append(tn.tagIDs, hashID("et", 20, base62, keyOf(tn.key, uint64(j)|1<<40)))
		}
		sum += 0.4 + 1.2*s.r.float()
		s.cumShare = append(s.cumShare, sum)
	}
	for i := range s.cumShare {
		s.cumShare[i] /= sum
	}
	// The paid tenants are a random round(PaidShare×Tenants) of them.
	order := make([]int, len(s.tenants))
	for i := range order {
		j := s.r.intn(i + 1)
		order[i], order[j] = order[j], i
	}
	for _, i := range order[:int(cfg.PaidShare*float64(len(order))+0.5)] {
		s.tenants[i].paid = true
	}
}

func tenantName(cfg Config, i int) string {
	if len(cfg.TenantNames) > 0 {
		return cfg.TenantNames[i]
	}
	return string(appendPadded([]byte{'t'}, uint64(i+1), 4, "0123456789"))
}

func (s *stream) initSchedule(cfg Config) {
	s.setupN = cfg.Tenants * (1 + cfg.TagsPerTenant)
	s.startNs = cfg.Start.UnixNano()
	s.stepNs = min(int64(time.Second), int64(time.Hour)/int64(s.setupN))
	s.slots = max(cfg.Events-s.setupN, 0)
	if s.slots == 0 {
		return
	}
	mainStart := cfg.Start.Add(time.Duration(int64(s.setupN) * s.stepNs)).Truncate(time.Millisecond).Add(time.Millisecond)
	s.clock = newClock(mainStart, cfg.Start.AddDate(0, 0, cfg.Days), s.slots)
	s.addsPlanned = min(cfg.Tenants*cfg.ContactsPerTenant, int(addShareCap*float64(s.slots)))

	slots := float64(s.slots)
	staff := float64(cfg.Tenants * cfg.StaffPerTenant)
	s.pStaff = min(staff*float64(cfg.Days)*5/7, staffActiveCap*slots) / slots
	s.pDepart = min(math.Round(staff*departRate), slots/1000) / slots
	free := 0
	for i := range s.tenants {
		if !s.tenants[i].paid {
			free++
		}
	}
	s.pUpgrade = min(math.Round(float64(free)*upgradeRate), slots/100) / slots
	other := float64(s.setupN) + float64(s.addsPlanned) + slots*(s.pStaff+s.pDepart+s.pUpgrade)
	s.kinds = newContactKinds(float64(cfg.Events), float64(cfg.Events)-other, float64(s.addsPlanned))
}

// keyOf derives the hash key of part b of the thing keyed a.
func keyOf(a, b uint64) uint64 { return mix64(a ^ mix64(b+0x632be59bd9b4e019)) }

func (s *stream) next(e *event.Event) bool {
	if s.emitted >= s.events {
		return false
	}
	s.emitted++
	if s.setupDone < s.setupN {
		s.setupEvent(e)
	} else {
		s.slotEvent(e)
	}
	return true
}

func (s *stream) setupEvent(e *event.Event) {
	i := s.setupDone
	s.setupDone++
	ns := s.startNs + int64(i)*s.stepNs
	t := time.Unix(0, ns-ns%int64(time.Millisecond)).In(reporting.Zone)
	tn := &s.tenants[i/(1+s.tags)]
	if j := i % (1 + s.tags); j > 0 {
		s.tagDefined(e, tn, j-1, t)
		return
	}
	s.subscription(e, tn, t)
}

func (s *stream) slotEvent(e *event.Event) {
	i := s.slot
	s.slot++
	t := s.clock.at(i, s.r.float())
	if s.pendAt < len(s.pending) {
		s.handOver(e, t)
		return
	}
	if s.adds < s.addsPlanned && i >= s.nextAdd {
		s.addContact(e, t)
		return
	}
	tn := &s.tenants[s.pickTenant()]
	switch u := s.r.float(); {
	case u < s.pStaff:
		s.staffActive(e, tn, t)
		return
	case u < s.pStaff+s.pDepart:
		if s.staffDeparted(e, tn, t) {
			return
		}
	case u < s.pStaff+s.pDepart+s.pUpgrade:
		if s.upgrade(e, tn, t) {
			return
		}
	}
	if len(tn.live) == 0 {
		s.staffActive(e, tn, t)
		return
	}
	s.contactEvent(e, tn, t)
}

// pickTenant draws a tenant index by activity share.
func (s *stream) pickTenant() int {
	if len(s.cumShare) == 1 {
		return 0
	}
	u := s.r.float()
	lo, hi := 0, len(s.cumShare)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if s.cumShare[mid] > u {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// begin starts e as the tenant's next event.
func (s *stream) begin(e *event.Event, tn *tenant, typ event.Type, subject string, t time.Time) {
	tn.seq++
	s.idBuf = appendPadded(append(s.idBuf[:0], s.idPrefix...), tn.seq, 8, base36)
	*e = event.Event{
		ID:      string(s.idBuf),
		Source:  Source,
		Type:    typ,
		Tenant:  tn.name,
		Subject: subject,
		Time:    t,
	}
}
