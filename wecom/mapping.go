package wecom

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/siyu-dev/siyu/event"
)

// Origin is what the receiver knows of a callback besides its message.
type Origin struct {
	Tenant string
	CorpID string
	// Received is the callback's signed timestamp parameter: the event time
	// of a message that carries none (WeCom's always do).
	Received time.Time
}

// Source is the CloudEvents source of a corp's callbacks.
func Source(corpID string) string { return "wecom/" + corpID }

// EventID is the id of the event a decrypted message maps to: the same
// message always gets the same id, so WeCom's retries (the same message,
// encrypted again with a new random prefix and nonce) are one event, while
// any new fact (another rep, another time) is a different message and so a
// different id.
func EventID(corpID string, msg []byte) string {
	h := sha256.New()
	h.Write([]byte(corpID))
	h.Write(msg)
	var sum [sha256.Size]byte
	var out [6 + 32]byte
	copy(out[:], "wecom-")
	hex.Encode(out[6:], h.Sum(sum[:0])[:16])
	return string(out[:])
}

// Mapped is a callback as an event of the contract, plus data fields that
// the contract does not type (such as a group's member list), which are kept
// raw in the event's data.
type Mapped struct {
	Event event.Event
	Kind  string // the WeCom kind (Message.Kind)
	extra []rawField
}

type rawField struct {
	name  string
	value json.RawMessage
}

// mapper fills ev from m, or says what m lacks.
type mapper func(m *Message, out *Mapped) (problem string)

// mappers are the kinds Siyu maps (Message.Kind without a MsgType fallback).
var mappers = map[string]mapper{
	"change_external_contact/add_external_contact":      contactAdded,
	"change_external_contact/add_half_external_contact": contactAdded,
	"change_external_contact/edit_external_contact":     contactUpdated,
	"change_external_contact/del_external_contact":      removedByStaff,
	"change_external_contact/del_follow_user":           removedByCustomer,
	"change_external_contact/transfer_fail":             transferFailed,
	"change_external_tag/create":                        tagChanged,
	"change_external_tag/update":                        tagChanged,
	"change_external_tag/delete":                        tagChanged,
	"change_external_tag/shuffle":                       tagReordered,
	"change_external_chat/create":                       groupChanged(event.GroupCreated),
	"change_external_chat/update":                       groupUpdated,
	"change_external_chat/dismiss":                      groupChanged(event.GroupDismissed),
	"change_contact/delete_user":                        staffDeparted,
}

// producedTypes are the event types callbacks map to.
var producedTypes = []event.Type{event.ContactAdded, event.ContactUpdated, event.ContactRemoved,
	event.ContactTransferFailed, event.TagChanged, event.TagReordered, event.GroupCreated,
	event.GroupUpdated, event.GroupDismissed, event.WeComUnmapped, event.StaffDeparted}

// Map turns a decrypted message (raw, parsed into m) into an event. A kind
// Siyu does not map, or a mapped kind without the ids it needs, becomes a
// wecom.unmapped event that keeps the XML: stored and counted, never lost.
// Map is pure.
func Map(m *Message, raw []byte, o Origin) Mapped {
	out := Mapped{Event: event.Event{
		ID:     EventID(o.CorpID, raw),
		Source: Source(o.CorpID),
		Tenant: o.Tenant,
		Time:   eventTime(m, o),
	}}
	kind := m.Kind()
	out.Kind = kind
	problem := "Siyu does not map this kind"
	if f, ok := mappers[kind]; ok {
		if problem = f(m, &out); problem == "" {
			return out
		}
	}
	return unmapped(out.Event, kind, raw, problem)
}

func eventTime(m *Message, o Origin) time.Time {
	if s := m.unixTime(); s > 0 {
		return time.Unix(s, 0).UTC()
	}
	return o.Received.UTC().Truncate(time.Second)
}

// unmapped keeps a message raw, with why it was not mapped.
func unmapped(base event.Event, kind string, raw []byte, problem string) Mapped {
	ev := base
	ev.Type, ev.Subject, ev.Data = event.WeComUnmapped, ev.Tenant, event.Data{}
	ev.Data.Set(event.FKind, kind)
	ev.Data.Set(event.FXML, string(raw))
	ev.Data.Set(event.FNote, problem)
	return Mapped{Event: ev, Kind: kind}
}

func contactAdded(m *Message, out *Mapped) string {
	if p := contact(m, out, event.ContactAdded); p != "" {
		return p
	}
	setOptional(&out.Event.Data, event.FState, m.State)
	setOptional(&out.Event.Data, event.FWelcomeCode, m.WelcomeCode)
	return ""
}

func contactUpdated(m *Message, out *Mapped) string {
	// WeCom says only that the customer changed: what changed is to be
	// fetched, so the update carries the rep alone.
	return contact(m, out, event.ContactUpdated)
}

func removedByStaff(m *Message, out *Mapped) string {
	if p := contact(m, out, event.ContactRemoved); p != "" {
		return p
	}
	out.Event.Data.Set(event.FBy, "staff")
	setOptional(&out.Event.Data, event.FRemovedSource, m.Source)
	return ""
}

func removedByCustomer(m *Message, out *Mapped) string {
	if p := contact(m, out, event.ContactRemoved); p != "" {
		return p
	}
	out.Event.Data.Set(event.FBy, "customer")
	return ""
}

func transferFailed(m *Message, out *Mapped) string {
	if p := contact(m, out, event.ContactTransferFailed); p != "" {
		return p
	}
	setOptional(&out.Event.Data, event.FFailReason, m.FailReason)
	return ""
}

// staffDeparted maps the address book's deletion of a member: the rep left.
// WeCom names no successor: the pool's hand-over moves the rep's customers
// to the pool (followup.Pool.Sweep).
func staffDeparted(m *Message, out *Mapped) string {
	if p := needID("UserID", m.UserID); p != "" {
		return p
	}
	out.Event.Type, out.Event.Subject = event.StaffDeparted, m.UserID
	return ""
}

// contact fills what every customer event has: the customer and the rep.
func contact(m *Message, out *Mapped, t event.Type) string {
	if p := needID("ExternalUserID", m.ExternalUserID); p != "" {
		return p
	}
	if p := needID("UserID", m.UserID); p != "" {
		return p
	}
	out.Event.Type, out.Event.Subject = t, m.ExternalUserID
	out.Event.Data.Set(event.FStaffID, m.UserID)
	return ""
}

func tagChanged(m *Message, out *Mapped) string {
	if p := needID("Id", m.ID); p != "" {
		return p
	}
	if m.TagType != "tag" && m.TagType != "tag_group" {
		return "TagType must be tag or tag_group"
	}
	out.Event.Type, out.Event.Subject = event.TagChanged, m.ID
	out.Event.Data.Set(event.FTagKind, m.TagType)
	out.Event.Data.Set(event.FChange, m.ChangeType)
	setCount(&out.Event.Data, event.FStrategyID, m.StrategyID)
	return ""
}

func tagReordered(m *Message, out *Mapped) string {
	out.Event.Type, out.Event.Subject = event.TagReordered, out.Event.Tenant
	if m.ID != "" {
		if p := needID("Id", m.ID); p != "" {
			return p
		}
		out.Event.Data.Set(event.FTagGroupID, m.ID)
	}
	setCount(&out.Event.Data, event.FStrategyID, m.StrategyID)
	return ""
}

func groupChanged(t event.Type) mapper {
	return func(m *Message, out *Mapped) string {
		if p := needID("ChatId", m.ChatID); p != "" {
			return p
		}
		out.Event.Type, out.Event.Subject = t, m.ChatID
		return ""
	}
}

func groupUpdated(m *Message, out *Mapped) string {
	if p := groupChanged(event.GroupUpdated)(m, out); p != "" {
		return p
	}
	if m.UpdateDetail == "" {
		return "UpdateDetail is missing"
	}
	d := &out.Event.Data
	d.Set(event.FUpdateDetail, m.UpdateDetail)
	setCount(d, event.FJoinScene, m.JoinScene)
	setCount(d, event.FQuitScene, m.QuitScene)
	setCount(d, event.FMemChangeCnt, m.MemChangeCnt)
	if len(m.MemChangeList) > 0 {
		out.raw("mem_change_list", m.MemChangeList)
	}
	if m.LastMemVer != "" {
		out.raw("last_mem_ver", m.LastMemVer)
	}
	if m.CurMemVer != "" {
		out.raw("cur_mem_ver", m.CurMemVer)
	}
	return ""
}

func needID(name, v string) string {
	if v == "" {
		return name + " is missing"
	}
	if utf8.RuneCountInString(v) > 128 {
		return name + " is longer than 128 characters"
	}
	return ""
}

func setOptional(d *event.Data, f event.Field, v string) {
	if v != "" {
		d.Set(f, v)
	}
}

// setCount sets an integer field from WeCom's text, when it is a number ≥ 0.
func setCount(d *event.Data, f event.Field, v string) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
		d.SetInt(f, n)
	}
}

func (out *Mapped) raw(name string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("wecom: marshal %s: %v", name, err)) // strings and string slices always marshal
	}
	out.extra = append(out.extra, rawField{name: name, value: b})
}

// AppendJSON appends the event as CloudEvents JSON: the contract's encoding
// (event.AppendJSON), with the raw data fields after the typed ones.
func (out *Mapped) AppendJSON(dst []byte) []byte {
	dst = event.AppendJSON(dst, &out.Event)
	if len(out.extra) == 0 {
		return dst
	}
	dst = dst[:len(dst)-2] // "}}": the end of data, then of the event
	for _, f := range out.extra {
		if dst[len(dst)-1] != '{' {
			dst = append(dst, ',')
		}
		dst = strconv.AppendQuote(dst, f.name) // names are ASCII constants
		dst = append(dst, ':')
		dst = append(dst, f.value...)
	}
	return append(dst, '}', '}')
}

// Build parses a decrypted message, maps it and encodes the event, checking
// it against the contract with dec (whose clock judges "too far in the
// future"): the pipeline must never dead-letter a callback that WeCom was
// told is stored. A mapped event the contract refuses is kept as
// wecom.unmapped, with the reason; a message that is not UTF-8 XML, or whose
// time is out of range, is refused (ErrMessage). The result is appended to
// dst.
func Build(dst, msg []byte, o Origin, dec *event.Decoder) (Mapped, []byte, error) {
	if !utf8.Valid(msg) {
		return Mapped{}, dst, fmt.Errorf("%w: not UTF-8", ErrMessage)
	}
	m, err := ParseMessage(msg)
	if err != nil {
		return Mapped{}, dst, err
	}
	out := Map(m, msg, o)
	value := out.AppendJSON(dst)
	if _, err := dec.Decode(value[len(dst):]); err != nil {
		out = unmapped(out.Event, m.Kind(), msg, "the mapped event breaks the contract: "+err.Error())
		value = out.AppendJSON(dst)
		if _, err := dec.Decode(value[len(dst):]); err != nil {
			return Mapped{}, dst, fmt.Errorf("%w: %w", ErrMessage, err)
		}
	}
	return out, value, nil
}
