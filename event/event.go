// Package event owns Siyu's event contract (shared/spec/events.md, v1): the
// catalogue of types, the typed fields every consumer reads, and the one
// decoder and validator that the API, the pipeline and the WeCom receiver all
// use. Nothing else in Siyu parses an event envelope.
package event

import "time"

// Type is a catalogue event type, such as "contact.added".
type Type string

// The v1 catalogue.
const (
	ContactAdded        Type = "contact.added"
	ContactUpdated      Type = "contact.updated"
	ContactRemoved      Type = "contact.removed"
	ContactTransferred  Type = "contact.transferred"
	ChatMessage         Type = "chat.message"
	TagDefined          Type = "tag.defined"
	TagAdded            Type = "tag.added"
	TagRemoved          Type = "tag.removed"
	FollowupLogged      Type = "followup.logged"
	FollowupStageChange Type = "followup.stage_changed"
	StaffActive         Type = "staff.active"
	StaffDeparted       Type = "staff.departed"
	SubscriptionChanged Type = "subscription.changed"
)

// Additions to the catalogue, made for the WeCom callback receiver (wecom/;
// see docs/decisions.md, "WeCom"). New types and optional fields only: the
// meaning of the v1 types is unchanged.
const (
	// ContactTransferFailed: WeCom could not hand a customer over to another
	// rep. Subject: contact id; data: staff_id* (the rep who was to take
	// over), fail_reason (WeCom's FailReason, e.g. customer_refused).
	ContactTransferFailed Type = "contact.transfer_failed"
	// TagChanged: a tag or tag group of the tenant's library was created,
	// updated or deleted in WeCom. The callback carries no name, so this is
	// not a tag.defined (whose name is required): a sync that fetches the
	// library turns it into one. Subject: the tag or tag group id; data:
	// tag_kind* (tag, tag_group), change* (create, update, delete),
	// strategy_id (the rule group, for rule-group tags).
	TagChanged Type = "tag.changed"
	// TagReordered: the order of the tag library changed. Subject: tenant;
	// data: tag_group_id (the group whose tags were reordered; absent when
	// the groups themselves were), strategy_id.
	TagReordered Type = "tag.reordered"
	// GroupCreated, GroupUpdated, GroupDismissed: a customer group chat.
	// Subject: the chat id; data: staff_id (the owner, when known) and, for
	// updates, update_detail* (add_member, del_member, change_owner,
	// change_name, change_notice, ...), join_scene, quit_scene, mem_change_cnt.
	GroupCreated   Type = "group.created"
	GroupUpdated   Type = "group.updated"
	GroupDismissed Type = "group.dismissed"
	// WeComUnmapped: a verified WeCom callback of a kind Siyu does not map,
	// kept raw. Subject: tenant; data: kind* (Event or InfoType, then
	// "/ChangeType" when there is one), xml* (the decrypted message), note
	// (why it is unmapped).
	WeComUnmapped Type = "wecom.unmapped"
	// StagesDefined: an admin set the tenant's ordered list of sales
	// stages. Subject: tenant; data: stages* (the names joined by ","),
	// staff_id (who set it, when the key has a staff id).
	StagesDefined Type = "stages.defined"
	// StaffManagerSet: an admin put a rep in a manager's team. Subject: the
	// rep's staff id; data: staff_id (the manager's staff id), deleted
	// (true: the rep has no manager any more). Last writer wins per rep.
	StaffManagerSet Type = "staff.manager_set"
)

// Additions for the assignee model and the customer pool (followup/; see
// docs/decisions.md, "Customer pool").
const (
	// AssigneeChanged: the customer's assignee (the one rep responsible
	// for following up) changed. Subject: contact id; data: reason* (add,
	// claim, assign, release, recycle, transfer, depart), from_staff_id
	// (the assignee before; absent: the pool), to_staff_id (after; absent:
	// the pool), note (why, for release).
	AssigneeChanged Type = "assignee.changed"
	// PoolRulesSet: the tenant's customer pool rules, each whole (absent or
	// 0 = no limit). Subject: tenant; data: contact_cap (most customers a
	// rep may hold), max_claims_per_day, recycle_days (days without a
	// follow-up before a customer returns to the pool), cooldown_days
	// (before a rep may claim again a customer they released).
	PoolRulesSet Type = "pool.rules_set"
)

// Additions made for saved segments and their bulk jobs (cdp/, api/; see
// docs/decisions.md, "Segments").
const (
	// SegmentSaved: the whole definition of a saved segment at its time
	// (last writer wins). Subject: the segment id; data: name*, note* (the
	// segment definition, JSON text), staff_id (who saved it), deleted.
	SegmentSaved Type = "segment.saved"
	// JobProgressed: the state of a bulk job at its time. Subject: the job
	// id; data: kind* (e.g. segment_tag), stage* (queued, running, done,
	// failed), processed*, total*, tag_id and note (the job's target: tag
	// and segment id), staff_id (who asked), fail_reason (why it failed).
	JobProgressed Type = "job.progressed"
)

// MaxFutureSkew is how far in the future an event's time may lie.
const MaxFutureSkew = 24 * time.Hour

// Event is one decoded, valid event. Data fields that the contract names are
// lifted into Data; Data.Raw keeps the producer's data object verbatim so that
// optional fields this version does not know survive storage.
type Event struct {
	ID      string
	Source  string
	Type    Type
	Tenant  string
	Subject string
	Time    time.Time
	Data    Data
}

// Key is the Kafka record key: one contact's events share a partition.
func (e *Event) Key() string { return e.Tenant + "/" + e.Subject }

// TimeNs is the event time in Unix nanoseconds, the ordering key of
// last-writer-wins state together with ID.
func (e *Event) TimeNs() int64 { return e.Time.UnixNano() }

// Data holds the contract's data fields. Present records which fields the
// producer sent, so that an absent field never overwrites a present one
// (contact.updated carries "any of" its fields).
type Data struct {
	Present Presence

	StaffID          string
	FromStaffID      string
	ToStaffID        string
	By               string
	Reason           string
	Direction        string
	MsgType          string
	Name             string
	Remark           string
	Description      string
	Phone            string
	CorpName         string
	UnionID          string
	State            string
	TagID            string
	Group            string
	Channel          string
	Note             string
	Stage            string
	App              string
	SuccessorStaffID string
	Plan             string
	WelcomeCode      string
	RemovedSource    string
	FailReason       string
	TagKind          string
	Change           string
	TagGroupID       string
	UpdateDetail     string
	Kind             string
	XML              string
	Stages           string

	AddWay     int64
	Gender     int64
	Chars      int64
	Order      int64
	Seats      int64
	ContactCap int64
	// Pool rules (pool.rules_set).
	MaxClaimsPerDay int64
	RecycleDays     int64
	CooldownDays    int64
	NextAtNs        int64

	StrategyID   int64
	JoinScene    int64
	QuitScene    int64
	MemChangeCnt int64

	Processed int64
	Total     int64

	Deleted bool
	Paid    bool

	Raw []byte
}

// Presence is a bit set of Field.
type Presence uint64

// Has reports whether f was present in the event.
func (p Presence) Has(f Field) bool { return p&(1<<f) != 0 }

// Clone returns a copy of e that owns all its memory. Events from a Decoder
// alias the decoder's buffers; Clone them to keep them past the next Decode.
func (e *Event) Clone() Event {
	c := *e
	c.ID = cloneString(e.ID)
	c.Source = cloneString(e.Source)
	c.Type = Type(cloneString(string(e.Type)))
	c.Tenant = cloneString(e.Tenant)
	c.Subject = cloneString(e.Subject)
	for _, f := range fields {
		if f.kind == kindString {
			p := f.str(&c.Data)
			*p = cloneString(*p)
		}
	}
	c.Data.Raw = append([]byte(nil), e.Data.Raw...)
	return c
}

func cloneString(s string) string {
	if s == "" {
		return ""
	}
	return string([]byte(s))
}
