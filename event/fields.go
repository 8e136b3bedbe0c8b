package event

// Field names a data field of the contract. Its value is its bit in Presence
// and, in ClickHouse, in the events table's `present` column: the numbers are
// part of the storage format and never change (sql/ reads them as bitAnd
// masks, see sql/migrations/0001_events.sql).
type Field uint8

// The data fields, numbered for storage.
const (
	FStaffID Field = iota
	FFromStaffID
	FToStaffID
	FBy
	FReason
	FDirection
	FMsgType
	FName
	FRemark
	FDescription
	FPhone
	FCorpName
	FUnionID
	FState
	FTagID
	FGroup
	FChannel
	FNote
	FStage
	FApp
	FSuccessorStaffID
	FPlan
	FAddWay
	FGender
	FChars
	FOrder
	FSeats
	FContactCap
	FNextAt
	FDeleted
	FPaid
	// Added for the WeCom callback receiver (wecom/). Append only: the
	// numbers are stored.
	FWelcomeCode
	FRemovedSource
	FFailReason
	FTagKind
	FChange
	FStrategyID
	FTagGroupID
	FUpdateDetail
	FJoinScene
	FQuitScene
	FMemChangeCnt
	FKind
	FXML
	// Added for the customer pool (followup/; docs/decisions.md, "Customer
	// pool"). Append only: the numbers are stored.
	FMaxClaimsPerDay
	FRecycleDays
	FCooldownDays
	// Added for the rep's day (followup/): the ordered stage list of
	// stages.defined. Append only.
	FStages
	// Added for saved segments and bulk jobs (cdp/, see docs/decisions.md,
	// "Segments"). Append only.
	FProcessed
	FTotal
	numFields
)

type kind uint8

const (
	kindString kind = iota
	kindInt
	kindBool
	kindTime
)

// fieldSpec describes one data field: its JSON name, its kind, where it lives
// in Data, and the values it may take.
type fieldSpec struct {
	name    string
	kind    kind
	str     func(*Data) *string
	num     func(*Data) *int64
	flag    func(*Data) *bool
	id      bool     // an opaque id: 1–128 characters
	oneOf   []string // allowed string values, when an enum
	min     int64    // smallest allowed integer
	max     int64    // largest allowed integer (0 = none)
	nonEmpt bool     // a string that must not be empty
}

var fields = [numFields]fieldSpec{
	FStaffID:          {name: "staff_id", kind: kindString, str: func(d *Data) *string { return &d.StaffID }, id: true},
	FFromStaffID:      {name: "from_staff_id", kind: kindString, str: func(d *Data) *string { return &d.FromStaffID }, id: true},
	FToStaffID:        {name: "to_staff_id", kind: kindString, str: func(d *Data) *string { return &d.ToStaffID }, id: true},
	FBy:               {name: "by", kind: kindString, str: func(d *Data) *string { return &d.By }, oneOf: []string{"staff", "customer"}},
	FReason:           {name: "reason", kind: kindString, str: func(d *Data) *string { return &d.Reason }}, // enum per type: typeSpec.enums
	FDirection:        {name: "direction", kind: kindString, str: func(d *Data) *string { return &d.Direction }, oneOf: []string{"in", "out"}},
	FMsgType:          {name: "msg_type", kind: kindString, str: func(d *Data) *string { return &d.MsgType }},
	FName:             {name: "name", kind: kindString, str: func(d *Data) *string { return &d.Name }},
	FRemark:           {name: "remark", kind: kindString, str: func(d *Data) *string { return &d.Remark }},
	FDescription:      {name: "description", kind: kindString, str: func(d *Data) *string { return &d.Description }},
	FPhone:            {name: "phone", kind: kindString, str: func(d *Data) *string { return &d.Phone }},
	FCorpName:         {name: "corp_name", kind: kindString, str: func(d *Data) *string { return &d.CorpName }},
	FUnionID:          {name: "unionid", kind: kindString, str: func(d *Data) *string { return &d.UnionID }},
	FState:            {name: "state", kind: kindString, str: func(d *Data) *string { return &d.State }},
	FTagID:            {name: "tag_id", kind: kindString, str: func(d *Data) *string { return &d.TagID }, id: true},
	FGroup:            {name: "group", kind: kindString, str: func(d *Data) *string { return &d.Group }},
	FChannel:          {name: "channel", kind: kindString, str: func(d *Data) *string { return &d.Channel }, oneOf: []string{"call", "visit", "wechat", "meeting", "other"}},
	FNote:             {name: "note", kind: kindString, str: func(d *Data) *string { return &d.Note }},
	FStage:            {name: "stage", kind: kindString, str: func(d *Data) *string { return &d.Stage }, nonEmpt: true},
	FApp:              {name: "app", kind: kindString, str: func(d *Data) *string { return &d.App }},
	FSuccessorStaffID: {name: "successor_staff_id", kind: kindString, str: func(d *Data) *string { return &d.SuccessorStaffID }, id: true},
	FPlan:             {name: "plan", kind: kindString, str: func(d *Data) *string { return &d.Plan }, nonEmpt: true},
	FAddWay:           {name: "add_way", kind: kindInt, num: func(d *Data) *int64 { return &d.AddWay }, min: 0},
	FGender:           {name: "gender", kind: kindInt, num: func(d *Data) *int64 { return &d.Gender }, min: 0, max: 2},
	FChars:            {name: "chars", kind: kindInt, num: func(d *Data) *int64 { return &d.Chars }, min: 0},
	FOrder:            {name: "order", kind: kindInt, num: func(d *Data) *int64 { return &d.Order }, min: -1 << 62},
	FSeats:            {name: "seats", kind: kindInt, num: func(d *Data) *int64 { return &d.Seats }, min: 0},
	FContactCap:       {name: "contact_cap", kind: kindInt, num: func(d *Data) *int64 { return &d.ContactCap }, min: 0},
	FNextAt:           {name: "next_at", kind: kindTime, num: func(d *Data) *int64 { return &d.NextAtNs }},
	FDeleted:          {name: "deleted", kind: kindBool, flag: func(d *Data) *bool { return &d.Deleted }},
	FPaid:             {name: "paid", kind: kindBool, flag: func(d *Data) *bool { return &d.Paid }},
	FWelcomeCode:      {name: "welcome_code", kind: kindString, str: func(d *Data) *string { return &d.WelcomeCode }},
	FRemovedSource:    {name: "removed_source", kind: kindString, str: func(d *Data) *string { return &d.RemovedSource }},
	FFailReason:       {name: "fail_reason", kind: kindString, str: func(d *Data) *string { return &d.FailReason }},
	FTagKind:          {name: "tag_kind", kind: kindString, str: func(d *Data) *string { return &d.TagKind }, oneOf: []string{"tag", "tag_group"}},
	FChange:           {name: "change", kind: kindString, str: func(d *Data) *string { return &d.Change }, oneOf: []string{"create", "update", "delete"}},
	FStrategyID:       {name: "strategy_id", kind: kindInt, num: func(d *Data) *int64 { return &d.StrategyID }, min: 0},
	FTagGroupID:       {name: "tag_group_id", kind: kindString, str: func(d *Data) *string { return &d.TagGroupID }, id: true},
	FUpdateDetail:     {name: "update_detail", kind: kindString, str: func(d *Data) *string { return &d.UpdateDetail }, nonEmpt: true},
	FJoinScene:        {name: "join_scene", kind: kindInt, num: func(d *Data) *int64 { return &d.JoinScene }, min: 0},
	FQuitScene:        {name: "quit_scene", kind: kindInt, num: func(d *Data) *int64 { return &d.QuitScene }, min: 0},
	FMemChangeCnt:     {name: "mem_change_cnt", kind: kindInt, num: func(d *Data) *int64 { return &d.MemChangeCnt }, min: 0},
	FKind:             {name: "kind", kind: kindString, str: func(d *Data) *string { return &d.Kind }, nonEmpt: true},
	FXML:              {name: "xml", kind: kindString, str: func(d *Data) *string { return &d.XML }},
	FMaxClaimsPerDay:  {name: "max_claims_per_day", kind: kindInt, num: func(d *Data) *int64 { return &d.MaxClaimsPerDay }, min: 0},
	FRecycleDays:      {name: "recycle_days", kind: kindInt, num: func(d *Data) *int64 { return &d.RecycleDays }, min: 0},
	FCooldownDays:     {name: "cooldown_days", kind: kindInt, num: func(d *Data) *int64 { return &d.CooldownDays }, min: 0},
	FStages:           {name: "stages", kind: kindString, str: func(d *Data) *string { return &d.Stages }, nonEmpt: true},
	FProcessed:        {name: "processed", kind: kindInt, num: func(d *Data) *int64 { return &d.Processed }, min: 0},
	FTotal:            {name: "total", kind: kindInt, num: func(d *Data) *int64 { return &d.Total }, min: 0},
}

// Name is the field's JSON name inside data.
func (f Field) Name() string { return fields[f].name }

// fieldByName finds a contract field by its JSON name.
var fieldByName = func() map[string]Field {
	m := make(map[string]Field, numFields)
	for i := range fields {
		m[fields[i].name] = Field(i)
	}
	return m
}()

// typeSpec says which data fields a type requires and which it knows. A known
// field of another type is ignored (kept raw) rather than refused: the
// contract lets producers add optional fields.
type typeSpec struct {
	subject  subjectKind
	required []Field
	optional []Field
	// enums restricts a string field to values that depend on the type
	// (reason means one thing on contact.transferred, another on
	// assignee.changed).
	enums map[Field][]string
}

// AssigneeReasons are the values of reason on assignee.changed.
var AssigneeReasons = []string{"add", "claim", "assign", "release", "recycle", "transfer", "depart"}

type subjectKind uint8

const (
	subjectID     subjectKind = iota // a contact, staff or tag id
	subjectTenant                    // the tenant itself
)

var types = map[Type]typeSpec{
	ContactAdded:        {required: []Field{FStaffID}, optional: []Field{FName, FUnionID, FAddWay, FState, FCorpName, FGender, FWelcomeCode}},
	ContactUpdated:      {required: []Field{FStaffID}, optional: []Field{FName, FRemark, FDescription, FPhone, FCorpName, FUnionID}},
	ContactRemoved:      {required: []Field{FStaffID, FBy}, optional: []Field{FRemovedSource}},
	ContactTransferred:  {required: []Field{FFromStaffID, FToStaffID}, optional: []Field{FReason}, enums: map[Field][]string{FReason: {"resigned", "reassigned"}}},
	ChatMessage:         {required: []Field{FStaffID, FDirection}, optional: []Field{FMsgType, FChars}},
	TagDefined:          {required: []Field{FName}, optional: []Field{FGroup, FOrder, FDeleted}},
	TagAdded:            {required: []Field{FTagID}, optional: []Field{FStaffID}},
	TagRemoved:          {required: []Field{FTagID}, optional: []Field{FStaffID}},
	FollowupLogged:      {required: []Field{FStaffID}, optional: []Field{FChannel, FNote, FNextAt}},
	FollowupStageChange: {required: []Field{FStaffID, FStage}},
	StaffActive:         {optional: []Field{FApp}},
	StaffDeparted:       {optional: []Field{FSuccessorStaffID}},
	SubscriptionChanged: {subject: subjectTenant, required: []Field{FPlan, FPaid}, optional: []Field{FSeats, FContactCap}},

	ContactTransferFailed: {required: []Field{FStaffID}, optional: []Field{FFailReason}},
	TagChanged:            {required: []Field{FTagKind, FChange}, optional: []Field{FStrategyID}},
	TagReordered:          {subject: subjectTenant, optional: []Field{FTagGroupID, FStrategyID}},
	GroupCreated:          {optional: []Field{FStaffID}},
	GroupUpdated:          {required: []Field{FUpdateDetail}, optional: []Field{FStaffID, FJoinScene, FQuitScene, FMemChangeCnt}},
	GroupDismissed:        {optional: []Field{FStaffID}},
	WeComUnmapped:         {subject: subjectTenant, required: []Field{FKind, FXML}, optional: []Field{FNote}},

	AssigneeChanged: {required: []Field{FReason}, optional: []Field{FFromStaffID, FToStaffID, FNote},
		enums: map[Field][]string{FReason: AssigneeReasons}},
	PoolRulesSet:    {subject: subjectTenant, optional: []Field{FContactCap, FMaxClaimsPerDay, FRecycleDays, FCooldownDays}},
	StagesDefined:   {subject: subjectTenant, required: []Field{FStages}, optional: []Field{FStaffID}},
	StaffManagerSet: {optional: []Field{FStaffID, FDeleted}},
	SegmentSaved:    {required: []Field{FName, FNote}, optional: []Field{FStaffID, FDeleted}},
	JobProgressed: {required: []Field{FKind, FStage, FProcessed, FTotal},
		optional: []Field{FTagID, FStaffID, FNote, FFailReason}},
}

// Known reports whether t is in the catalogue.
func Known(t Type) bool { _, ok := types[t]; return ok }

// Types lists the catalogue of events.md (v1), in a stable order. The load
// generator produces every one of them; Additions lists the types Siyu added
// since, which only their own producers emit.
func Types() []Type {
	return []Type{ContactAdded, ContactUpdated, ContactRemoved, ContactTransferred, ChatMessage,
		TagDefined, TagAdded, TagRemoved, FollowupLogged, FollowupStageChange, StaffActive,
		StaffDeparted, SubscriptionChanged}
}

// Additions lists the types Siyu added to the v1 catalogue (as events.md
// allows), in a stable order: those of the WeCom callback receiver.
func Additions() []Type {
	return []Type{ContactTransferFailed, TagChanged, TagReordered, GroupCreated, GroupUpdated,
		GroupDismissed, WeComUnmapped}
}

// PoolTypes lists the types added for the assignee model and the customer
// pool (followup/), in a stable order.
func PoolTypes() []Type { return []Type{AssigneeChanged, PoolRulesSet} }

// FollowupAdditions lists the types the follow-up domain added to the
// catalogue (the API is their only producer).
func FollowupAdditions() []Type { return []Type{StagesDefined, StaffManagerSet} }

// CDPTypes lists the types the API writes for saved segments and their
// bulk jobs (see docs/decisions.md, "Segments"), in a stable order.
func CDPTypes() []Type { return []Type{SegmentSaved, JobProgressed} }

// fieldMasks precomputes, per type, the bit sets of required and allowed fields.
type fieldMask struct {
	required, allowed Presence
	enums             map[Field][]string
}

var masks = func() map[Type]fieldMask {
	m := make(map[Type]fieldMask, len(types))
	for t, s := range types {
		fm := fieldMask{enums: s.enums}
		for _, f := range s.required {
			fm.required |= 1 << f
		}
		fm.allowed = fm.required
		for _, f := range s.optional {
			fm.allowed |= 1 << f
		}
		m[t] = fm
	}
	return m
}()
