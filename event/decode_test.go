package event_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/event"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// testNow is the decoders' clock: "the future" starts 24 h after it.
var testNow = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

func newDecoder() *event.Decoder { return event.NewDecoder(func() time.Time { return testNow }) }

// catalogue holds one realistic valid event per type, every field set.
var catalogue = []struct {
	name string
	in   string
	want event.Data // Raw is checked against the input's data object instead
}{
	{
		name: "contact.added",
		in:   `{"specversion":"1.0","id":"e-1","source":"wecom/ww1436e0e65a779aee","type":"contact.added","time":"2026-11-21T09:30:00+08:00","tenant":"acme","subject":"wmABC123","data":{"staff_id":"zhangsan","name":"王小明","unionid":"oAbc","add_way":16,"state":"spring-fair","corp_name":"星辰科技","gender":1}}`,
		want: event.Data{
			Present: present(event.FStaffID, event.FName, event.FUnionID, event.FAddWay, event.FState, event.FCorpName, event.FGender),
			StaffID: "zhangsan", Name: "王小明", UnionID: "oAbc", AddWay: 16, State: "spring-fair", CorpName: "星辰科技", Gender: 1,
		},
	},
	{
		name: "contact.updated",
		in:   `{"specversion":"1.0","id":"e-2","source":"siyu-api","type":"contact.updated","time":"2026-11-21T09:31:00+08:00","tenant":"acme","subject":"wmABC123","data":{"staff_id":"zhangsan","name":"王小明","remark":"VIP","description":"likes tea","phone":"+86 138 0000 0000","corp_name":"星辰科技","unionid":"oAbc"}}`,
		want: event.Data{
			Present: present(event.FStaffID, event.FName, event.FRemark, event.FDescription, event.FPhone, event.FCorpName, event.FUnionID),
			StaffID: "zhangsan", Name: "王小明", Remark: "VIP", Description: "likes tea", Phone: "+86 138 0000 0000", CorpName: "星辰科技", UnionID: "oAbc",
		},
	},
	{
		name: "contact.removed",
		in:   `{"specversion":"1.0","id":"e-3","source":"wecom/ww1436e0e65a779aee","type":"contact.removed","time":"2026-11-21T09:32:00+08:00","tenant":"acme","subject":"wmABC123","data":{"staff_id":"zhangsan","by":"customer"}}`,
		want: event.Data{Present: present(event.FStaffID, event.FBy), StaffID: "zhangsan", By: "customer"},
	},
	{
		name: "contact.transferred",
		in:   `{"specversion":"1.0","id":"e-4","source":"wecom/ww1436e0e65a779aee","type":"contact.transferred","time":"2026-11-21T09:33:00+08:00","tenant":"acme","subject":"wmABC123","data":{"from_staff_id":"zhangsan","to_staff_id":"lisi","reason":"resigned"}}`,
		want: event.Data{Present: present(event.FFromStaffID, event.FToStaffID, event.FReason), FromStaffID: "zhangsan", ToStaffID: "lisi", Reason: "resigned"},
	},
	{
		name: "chat.message",
		in:   `{"specversion":"1.0","id":"e-5","source":"wecom/ww1436e0e65a779aee","type":"chat.message","time":"2026-11-21T09:34:00.123+08:00","tenant":"acme","subject":"wmABC123","data":{"staff_id":"zhangsan","direction":"in","msg_type":"text","chars":42}}`,
		want: event.Data{Present: present(event.FStaffID, event.FDirection, event.FMsgType, event.FChars), StaffID: "zhangsan", Direction: "in", MsgType: "text", Chars: 42},
	},
	{
		name: "tag.defined",
		in:   `{"specversion":"1.0","id":"e-6","source":"siyu-api","type":"tag.defined","time":"2026-11-21T09:35:00+08:00","tenant":"acme","subject":"tag-vip","data":{"name":"VIP","group":"价值","order":-3,"deleted":true}}`,
		want: event.Data{Present: present(event.FName, event.FGroup, event.FOrder, event.FDeleted), Name: "VIP", Group: "价值", Order: -3, Deleted: true},
	},
	{
		name: "tag.added",
		in:   `{"specversion":"1.0","id":"e-7","source":"siyu-api","type":"tag.added","time":"2026-11-21T09:36:00+08:00","tenant":"acme","subject":"wmABC123","data":{"tag_id":"tag-vip","staff_id":"zhangsan"}}`,
		want: event.Data{Present: present(event.FTagID, event.FStaffID), TagID: "tag-vip", StaffID: "zhangsan"},
	},
	{
		name: "tag.removed",
		in:   `{"specversion":"1.0","id":"e-8","source":"siyu-api","type":"tag.removed","time":"2026-11-21T09:37:00+08:00","tenant":"acme","subject":"wmABC123","data":{"tag_id":"tag-vip","staff_id":"zhangsan"}}`,
		want: event.Data{Present: present(event.FTagID, event.FStaffID), TagID: "tag-vip", StaffID: "zhangsan"},
	},
	{
		name: "followup.logged",
		in:   `{"specversion":"1.0","id":"e-9","source":"miniprogram/shop","type":"followup.logged","time":"2026-11-21T09:38:00+08:00","tenant":"acme","subject":"wmABC123","data":{"staff_id":"zhangsan","channel":"call","note":"call back \"Monday\"\n","next_at":"2026-11-24T10:00:00+08:00"}}`,
		want: event.Data{
			Present: present(event.FStaffID, event.FChannel, event.FNote, event.FNextAt),
			StaffID: "zhangsan", Channel: "call", Note: "call back \"Monday\"\n", NextAtNs: mustTime("2026-11-24T10:00:00+08:00").UnixNano(),
		},
	},
	{
		name: "followup.stage_changed",
		in:   `{"specversion":"1.0","id":"e-10","source":"siyu-api","type":"followup.stage_changed","time":"2026-11-21T09:39:00+08:00","tenant":"acme","subject":"wmABC123","data":{"staff_id":"zhangsan","stage":"quoted"}}`,
		want: event.Data{Present: present(event.FStaffID, event.FStage), StaffID: "zhangsan", Stage: "quoted"},
	},
	{
		name: "staff.active",
		in:   `{"specversion":"1.0","id":"e-11","source":"wecom/ww1436e0e65a779aee","type":"staff.active","time":"2026-11-21T09:40:00+08:00","tenant":"acme","subject":"zhangsan","data":{"app":"wecom-desktop"}}`,
		want: event.Data{Present: present(event.FApp), App: "wecom-desktop"},
	},
	{
		name: "staff.departed",
		in:   `{"specversion":"1.0","id":"e-12","source":"wecom/ww1436e0e65a779aee","type":"staff.departed","time":"2026-11-21T09:41:00+08:00","tenant":"acme","subject":"zhangsan","data":{"successor_staff_id":"lisi"}}`,
		want: event.Data{Present: present(event.FSuccessorStaffID), SuccessorStaffID: "lisi"},
	},
	{
		name: "subscription.changed",
		in:   `{"specversion":"1.0","id":"e-13","source":"siyu-api","type":"subscription.changed","time":"2026-11-21T09:42:00Z","tenant":"acme","subject":"acme","data":{"plan":"pro","paid":true,"seats":20,"contact_cap":0}}`,
		want: event.Data{Present: present(event.FPlan, event.FPaid, event.FSeats, event.FContactCap), Plan: "pro", Paid: true, Seats: 20, ContactCap: 0},
	},
}

func TestDecodeCatalogue(t *testing.T) {
	require.Len(t, catalogue, len(event.Types()), "one case per catalogue type")
	for i, tc := range catalogue {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, event.Types()[i], event.Type(tc.name))
			ev, err := newDecoder().Decode([]byte(tc.in))
			require.NoError(t, err)
			var env struct {
				ID, Source, Type, Tenant, Subject, Time string
				Data                                    json.RawMessage
			}
			require.NoError(t, json.Unmarshal([]byte(tc.in), &env))
			require.Equal(t, env.ID, ev.ID)
			require.Equal(t, env.Source, ev.Source)
			require.Equal(t, event.Type(env.Type), ev.Type)
			require.Equal(t, env.Tenant, ev.Tenant)
			require.Equal(t, env.Subject, ev.Subject)
			require.True(t, mustTime(env.Time).Equal(ev.Time), "time %s", ev.Time)
			require.JSONEq(t, string(env.Data), string(ev.Data.Raw))
			got := ev.Data
			got.Raw = nil
			require.Equal(t, tc.want, got)
		})
	}
}

// TestDecodeValid covers the accepting edges of each rule.
func TestDecodeValid(t *testing.T) {
	long128 := strings.Repeat("客", 128) // 128 characters, 384 bytes
	tests := []struct {
		name  string
		in    []byte
		check func(t *testing.T, ev *event.Event)
	}{
		{
			name: "id of 1 character",
			in:   chat(set("id", "x")),
			check: func(t *testing.T, ev *event.Event) {
				require.Equal(t, "x", ev.ID)
			},
		},
		{
			name: "id of 128 characters",
			in:   chat(set("id", long128)),
			check: func(t *testing.T, ev *event.Event) {
				require.Equal(t, long128, ev.ID)
			},
		},
		{
			name: "subject of 128 characters",
			in:   chat(set("subject", long128)),
			check: func(t *testing.T, ev *event.Event) {
				require.Equal(t, long128, ev.Subject)
			},
		},
		{
			name: "staff id of 1 character",
			in:   chat(setData("staff_id", "s")),
			check: func(t *testing.T, ev *event.Event) {
				require.Equal(t, "s", ev.Data.StaffID)
			},
		},
		{
			name: "staff id of 128 characters",
			in:   chat(setData("staff_id", long128)),
			check: func(t *testing.T, ev *event.Event) {
				require.Equal(t, long128, ev.Data.StaffID)
			},
		},
		{
			name: "source of 256 characters",
			in:   chat(set("source", strings.Repeat("w", 256))),
			check: func(t *testing.T, ev *event.Event) {
				require.Len(t, ev.Source, 256)
			},
		},
		{
			name: "source as absolute URI",
			in:   chat(set("source", "https://example.com/wecom?corp=ww1")),
			check: func(t *testing.T, ev *event.Event) {
				require.Equal(t, "https://example.com/wecom?corp=ww1", ev.Source)
			},
		},
		{
			name: "tenant of 1 character",
			in:   chat(set("tenant", "a")),
			check: func(t *testing.T, ev *event.Event) {
				require.Equal(t, "a", ev.Tenant)
			},
		},
		{
			name: "tenant of 64 characters with _ and -",
			in:   chat(set("tenant", "0a_-"+strings.Repeat("z", 60))),
			check: func(t *testing.T, ev *event.Event) {
				require.Len(t, ev.Tenant, 64)
			},
		},
		{
			name: "time in UTC with Z",
			in:   chat(set("time", "2026-11-21T01:30:00Z")),
			check: func(t *testing.T, ev *event.Event) {
				require.True(t, ev.Time.Equal(time.Date(2026, 11, 21, 1, 30, 0, 0, time.UTC)))
			},
		},
		{
			name: "time with negative offset and nanoseconds",
			in:   chat(set("time", "2026-11-20T20:30:00.123456789-05:00")),
			check: func(t *testing.T, ev *event.Event) {
				require.Equal(t, time.Date(2026, 11, 21, 1, 30, 0, 123456789, time.UTC).UnixNano(), ev.TimeNs())
				_, off := ev.Time.Zone()
				require.Equal(t, -5*3600, off, "the producer's offset is kept")
			},
		},
		{
			name: "time exactly 24h ahead of the clock",
			in:   chat(set("time", testNow.Add(event.MaxFutureSkew).Format(time.RFC3339))),
			check: func(t *testing.T, ev *event.Event) {
				require.True(t, ev.Time.Equal(testNow.Add(event.MaxFutureSkew)))
			},
		},
		{
			name: "time long past",
			in:   chat(set("time", "2001-01-01T00:00:00+08:00")),
			check: func(t *testing.T, ev *event.Event) {
				require.Equal(t, 2001, ev.Time.Year())
			},
		},
		{
			name: "null optional fields are absent",
			in:   typed(event.ContactAdded, setData("name", nil), setData("gender", nil), setData("unionid", "u1")),
			check: func(t *testing.T, ev *event.Event) {
				require.Equal(t, present(event.FStaffID, event.FUnionID), ev.Data.Present)
				require.Empty(t, ev.Data.Name)
				require.Zero(t, ev.Data.Gender)
				require.JSONEq(t, `{"staff_id":"s1","name":null,"gender":null,"unionid":"u1"}`, string(ev.Data.Raw))
			},
		},
		{
			name: "unknown data fields are kept raw",
			in:   chat(setData("emoji", "🎉"), setData("nested", map[string]any{"a": []any{1, "二", nil, true}}), setData("big", 1.5e300)),
			check: func(t *testing.T, ev *event.Event) {
				require.Equal(t, present(event.FStaffID, event.FDirection), ev.Data.Present)
				require.JSONEq(t, `{"staff_id":"s1","direction":"in","emoji":"🎉","nested":{"a":[1,"二",null,true]},"big":1.5e300}`, string(ev.Data.Raw))
			},
		},
		{
			name: "fields of another type are ignored, not refused",
			in:   chat(setData("plan", 7), setData("paid", "maybe"), setData("name", "x")),
			check: func(t *testing.T, ev *event.Event) {
				require.Equal(t, present(event.FStaffID, event.FDirection), ev.Data.Present)
				require.Empty(t, ev.Data.Plan)
				require.Empty(t, ev.Data.Name)
				require.False(t, ev.Data.Paid)
				require.Contains(t, string(ev.Data.Raw), `"paid":"maybe"`)
			},
		},
		{
			name: "unknown envelope attributes are ignored",
			in:   chat(set("datacontenttype", "application/json"), set("dataschema", 5)),
			check: func(t *testing.T, ev *event.Event) {
				require.Equal(t, event.ChatMessage, ev.Type)
			},
		},
		{
			name: "contact.updated with only some fields",
			in:   typed(event.ContactUpdated, setData("remark", "VIP"), setData("phone", "")),
			check: func(t *testing.T, ev *event.Event) {
				require.Equal(t, present(event.FStaffID, event.FRemark, event.FPhone), ev.Data.Present)
				require.Equal(t, "VIP", ev.Data.Remark)
				require.Empty(t, ev.Data.Phone, "an empty phone is present: it clears the phone")
				for _, f := range []event.Field{event.FName, event.FDescription, event.FCorpName, event.FUnionID} {
					require.False(t, ev.Data.Present.Has(f), f.Name())
				}
			},
		},
		{
			name: "staff.active with empty data",
			in:   typed(event.StaffActive),
			check: func(t *testing.T, ev *event.Event) {
				require.Zero(t, ev.Data.Present)
				require.Equal(t, "{}", string(ev.Data.Raw))
			},
		},
		{
			name: "gender bounds",
			in:   typed(event.ContactAdded, setData("gender", 2), setData("add_way", 0)),
			check: func(t *testing.T, ev *event.Event) {
				require.EqualValues(t, 2, ev.Data.Gender)
				require.True(t, ev.Data.Present.Has(event.FAddWay), "a zero is present when sent")
			},
		},
		{
			name: "paid false is present",
			in:   typed(event.SubscriptionChanged, setData("paid", false)),
			check: func(t *testing.T, ev *event.Event) {
				require.True(t, ev.Data.Present.Has(event.FPaid))
				require.False(t, ev.Data.Paid)
			},
		},
		{
			name: "escapes in strings",
			in:   []byte(`{"specversion":"1.0","id":"a\"b\\c\u00e9\ud83d\ude00\/","source":"s","type":"tag.defined","time":"2026-11-21T09:30:00+08:00","tenant":"acme","subject":"t1","data":{"name":"tab\there\u0001"}}`),
			check: func(t *testing.T, ev *event.Event) {
				require.Equal(t, "a\"b\\cé😀/", ev.ID)
				require.Equal(t, "tab\there\x01", ev.Data.Name)
				require.True(t, json.Valid(ev.Data.Raw), "raw data stays JSON: %s", ev.Data.Raw)
			},
		},
		{
			name: "leading and trailing white space",
			in:   append(append([]byte(" \n\t"), chat()...), "\r\n "...),
			check: func(t *testing.T, ev *event.Event) {
				require.Equal(t, event.ChatMessage, ev.Type)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := newDecoder().Decode(tc.in)
			require.NoError(t, err, "%s", tc.in)
			tc.check(t, ev)
		})
	}
}

func TestDecodeInvalid(t *testing.T) {
	tests := []invalidCase{
		// The whole event.
		{name: "not JSON", in: []byte(`not json at all`), field: "", reason: "not JSON"},
		{name: "empty input", in: []byte(``), field: "", reason: "not JSON"},
		{name: "truncated object", in: chat()[:40], field: "", reason: "not JSON"},
		{name: "trailing garbage", in: append(chat(), " {}"...), field: "", reason: "not JSON"},
		{name: "two events", in: append(chat(), chat()...), field: "", reason: "not JSON"},
		{name: "trailing comma", in: []byte(`{"specversion":"1.0",}`), field: "", reason: "not JSON"},
		{name: "single quotes", in: []byte(`{'specversion':'1.0'}`), field: "", reason: "not JSON"},
		{name: "unknown escape", in: replace(chat(), `"s1"`, `"s\q1"`), field: "", reason: "not JSON"},
		{name: "short unicode escape", in: replace(chat(), `"s1"`, `"s\u12"`), field: "", reason: "not JSON"},
		{name: "unicode escape cut by a character", in: replace(chat(), `"s1"`, `"\u00ꗈ"`), field: "", reason: "not JSON"},
		{name: "raw control character in a string", in: replace(chat(), `"s1"`, "\"s\x011\""), field: "", reason: "not JSON"},
		{name: "malformed number in an unknown field", in: chatRaw(`"extra":1-2`), field: "", reason: "not JSON"},
		{name: "NaN", in: chatRaw(`"extra":NaN`), field: "", reason: "not JSON"},
		{name: "leading zero", in: chatRaw(`"chars":012`), field: "", reason: "not JSON"},
		{name: "nested too deep", in: chatRaw(`"extra":` + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000)), field: "", reason: "depth"},
		{name: "array", in: []byte(`[` + string(chat()) + `]`), field: "", reason: "object"},
		{name: "string", in: []byte(`"contact.added"`), field: "", reason: "object"},
		{name: "number", in: []byte(`42`), field: "", reason: "object"},
		{name: "null", in: []byte(`null`), field: "", reason: "object"},

		// UTF-8.
		{name: "invalid UTF-8 byte in id", in: replace(chat(), `"e1"`, "\"e\xff1\""), field: "", reason: "UTF-8"},
		{name: "truncated UTF-8 sequence in data", in: replace(chat(), `"s1"`, "\"s\xe5\x90\""), field: "", reason: "UTF-8"},
		{name: "UTF-8 encoded surrogate", in: replace(chat(), `"s1"`, "\"s\xed\xa0\x80\""), field: "", reason: "UTF-8"},
		{name: "lone high surrogate escape", in: replace(chat(), `"s1"`, `"s\ud800"`), field: "", reason: "UTF-8"},
		{name: "lone high surrogate escape at the end", in: replace(typed(event.TagDefined), `"VIP"`, `"VIP\ud83d"`), field: "", reason: "UTF-8"},
		{name: "lone low surrogate escape", in: replace(chat(), `"e1"`, `"\udc00e1"`), field: "", reason: "UTF-8"},
		{name: "high surrogate followed by a non-surrogate escape", in: replace(chat(), `"s1"`, `"\ud800\u0041"`), field: "", reason: "UTF-8"},
		{name: "two high surrogates", in: replace(chat(), `"s1"`, `"\ud800\ud800"`), field: "", reason: "UTF-8"},
		{name: "lone surrogate in an unknown field", in: chatRaw(`"extra":"\uDBFF"`), field: "", reason: "UTF-8"},
		{name: "lone surrogate in a key", in: chatRaw(`"\ud800":1`), field: "", reason: "UTF-8"},

		// Missing envelope attributes.
		{name: "specversion missing", in: chat(del("specversion")), field: "specversion", reason: "required"},
		{name: "id missing", in: chat(del("id")), field: "id", reason: "required"},
		{name: "source missing", in: chat(del("source")), field: "source", reason: "required"},
		{name: "type missing", in: chat(del("type")), field: "type", reason: "required"},
		{name: "time missing", in: chat(del("time")), field: "time", reason: "required"},
		{name: "tenant missing", in: chat(del("tenant")), field: "tenant", reason: "required"},
		{name: "subject missing", in: chat(del("subject")), field: "subject", reason: "required"},
		{name: "data missing", in: chat(del("data")), field: "data", reason: "required"},
		{name: "empty object", in: []byte(`{}`), field: "specversion", reason: "required"},

		// Malformed envelope attributes.
		{name: "specversion 0.3", in: chat(set("specversion", "0.3")), field: "specversion", reason: `"1.0"`},
		{name: "specversion 1", in: chat(set("specversion", "1")), field: "specversion", reason: `"1.0"`},
		{name: "specversion as a number", in: chat(set("specversion", 1.0)), field: "specversion", reason: "string"},
		{name: "specversion null", in: chat(set("specversion", nil)), field: "specversion", reason: "string"},
		{name: "id empty", in: chat(set("id", "")), field: "id", reason: "1–128"},
		{name: "id of 129 characters", in: chat(set("id", strings.Repeat("客", 129))), field: "id", reason: "1–128"},
		{name: "id as a number", in: chat(set("id", 17)), field: "id", reason: "string"},
		{name: "id null", in: chat(set("id", nil)), field: "id", reason: "string"},
		{name: "source empty", in: chat(set("source", "")), field: "source", reason: "1–256"},
		{name: "source of 257 characters", in: chat(set("source", strings.Repeat("w", 257))), field: "source", reason: "1–256"},
		{name: "source with a space", in: chat(set("source", "wecom/ww1 x")), field: "source", reason: "white space"},
		{name: "source with a tab", in: chat(set("source", "wecom/\tww1")), field: "source", reason: "white space"},
		{name: "source with a newline", in: chat(set("source", "wecom/ww1\n")), field: "source", reason: "white space"},
		{name: "source with a bad percent escape", in: chat(set("source", "wecom/%zz")), field: "source", reason: "URI"},
		{name: "source with a colon before any slash", in: chat(set("source", ":wecom")), field: "source", reason: "URI"},
		{name: "source as an object", in: chat(set("source", map[string]any{})), field: "source", reason: "string"},
		{name: "type unknown", in: chat(set("type", "contact.deleted")), field: "type", reason: "contact.deleted"},
		{name: "type in upper case", in: chat(set("type", "CHAT.MESSAGE")), field: "type", reason: "unknown"},
		{name: "type empty", in: chat(set("type", "")), field: "type", reason: "unknown"},
		{name: "type as an array", in: chat(set("type", []any{"chat.message"})), field: "type", reason: "string"},
		{name: "time without offset", in: chat(set("time", "2026-11-21T09:30:00")), field: "time", reason: "RFC 3339"},
		{name: "time with a space", in: chat(set("time", "2026-11-21 09:30:00+08:00")), field: "time", reason: "RFC 3339"},
		{name: "time as a date", in: chat(set("time", "2026-11-21")), field: "time", reason: "RFC 3339"},
		{name: "time in RFC 1123", in: chat(set("time", "Sat, 21 Nov 2026 09:30:00 +0800")), field: "time", reason: "RFC 3339"},
		{name: "time with a compact offset", in: chat(set("time", "2026-11-21T09:30:00+0800")), field: "time", reason: "RFC 3339"},
		{name: "time with hour 24", in: chat(set("time", "2026-11-21T24:00:00+08:00")), field: "time", reason: "RFC 3339"},
		{name: "time on 30 February", in: chat(set("time", "2026-02-30T09:30:00+08:00")), field: "time", reason: "RFC 3339"},
		{name: "time as Unix seconds", in: chat(set("time", 1795000000)), field: "time", reason: "string"},
		{name: "time before 1970", in: chat(set("time", "1969-12-31T00:00:00Z")), field: "time", reason: "range"},
		{name: "time 24h and 1s in the future", in: chat(set("time", testNow.Add(event.MaxFutureSkew+time.Second).Format(time.RFC3339))), field: "time", reason: "future"},
		{name: "time years in the future", in: chat(set("time", "2100-01-01T00:00:00+08:00")), field: "time", reason: "future"},
		{name: "tenant empty", in: chat(set("tenant", "")), field: "tenant", reason: "[a-z0-9]"},
		{name: "tenant with upper case", in: chat(set("tenant", "Acme")), field: "tenant", reason: "[a-z0-9]"},
		{name: "tenant with leading -", in: chat(set("tenant", "-acme")), field: "tenant", reason: "[a-z0-9]"},
		{name: "tenant with leading _", in: chat(set("tenant", "_acme")), field: "tenant", reason: "[a-z0-9]"},
		{name: "tenant of 65 characters", in: chat(set("tenant", strings.Repeat("a", 65))), field: "tenant", reason: "[a-z0-9]"},
		{name: "tenant with a dot", in: chat(set("tenant", "acme.cn")), field: "tenant", reason: "[a-z0-9]"},
		{name: "tenant with a space", in: chat(set("tenant", "acme ")), field: "tenant", reason: "[a-z0-9]"},
		{name: "tenant not ASCII", in: chat(set("tenant", "acmé")), field: "tenant", reason: "[a-z0-9]"},
		{name: "tenant as a number", in: chat(set("tenant", 1)), field: "tenant", reason: "string"},
		{name: "subject empty", in: chat(set("subject", "")), field: "subject", reason: "1–128"},
		{name: "subject of 129 characters", in: chat(set("subject", strings.Repeat("c", 129))), field: "subject", reason: "1–128"},
		{name: "subject as a number", in: chat(set("subject", 5)), field: "subject", reason: "string"},
		{name: "subscription subject is not the tenant", in: typed(event.SubscriptionChanged, set("subject", "other")), field: "subject", reason: "tenant"},
		{name: "data a string", in: chat(set("data", "{}")), field: "data", reason: "object"},
		{name: "data an array", in: chat(set("data", []any{})), field: "data", reason: "object"},
		{name: "data null", in: chat(set("data", nil)), field: "data", reason: "object"},
		{name: "data a number", in: chat(set("data", 0)), field: "data", reason: "object"},

		// Data fields: wrong types.
		{name: "string for int", in: typed(event.ContactAdded, setData("add_way", "16")), field: "data.add_way", reason: "integer"},
		{name: "float for int", in: chat(setData("chars", 1.5)), field: "data.chars", reason: "integer"},
		{name: "exponent for int", in: chatRaw(`"chars":1e3`), field: "data.chars", reason: "integer"},
		{name: "int overflowing int64", in: chatRaw(`"chars":9223372036854775808`), field: "data.chars", reason: "integer"},
		{name: "bool for int", in: typed(event.SubscriptionChanged, setData("seats", true)), field: "data.seats", reason: "integer"},
		{name: "int for string", in: chat(setData("staff_id", 1001)), field: "data.staff_id", reason: "string"},
		{name: "bool for string", in: typed(event.TagDefined, setData("group", false)), field: "data.group", reason: "string"},
		{name: "object for string", in: typed(event.FollowupLogged, setData("note", map[string]any{"text": "x"})), field: "data.note", reason: "string"},
		{name: "array for string", in: typed(event.StaffActive, setData("app", []any{"x"})), field: "data.app", reason: "string"},
		{name: "string for bool", in: typed(event.SubscriptionChanged, setData("paid", "true")), field: "data.paid", reason: "true or false"},
		{name: "int for bool", in: typed(event.TagDefined, setData("deleted", 1)), field: "data.deleted", reason: "true or false"},
		{name: "int for time", in: typed(event.FollowupLogged, setData("next_at", 1795000000)), field: "data.next_at", reason: "string"},
		{name: "time without offset in data", in: typed(event.FollowupLogged, setData("next_at", "2026-11-24T10:00:00")), field: "data.next_at", reason: "RFC 3339"},
		{name: "time out of range in data", in: typed(event.FollowupLogged, setData("next_at", "2201-01-01T00:00:00Z")), field: "data.next_at", reason: "range"},
		{name: "time in 1970 here but 1969 in UTC", in: typed(event.FollowupLogged, setData("next_at", "1970-01-01T07:59:59+08:00")), field: "data.next_at", reason: "range"},
		{name: "time in 2200 here but 2201 in UTC", in: typed(event.FollowupLogged, setData("next_at", "2200-12-31T16:00:00-08:00")), field: "data.next_at", reason: "range"},

		// Data fields: values.
		{name: "direction sideways", in: chat(setData("direction", "sideways")), field: "data.direction", reason: "in, out"},
		{name: "direction in upper case", in: chat(setData("direction", "IN")), field: "data.direction", reason: "in, out"},
		{name: "by admin", in: typed(event.ContactRemoved, setData("by", "admin")), field: "data.by", reason: "staff, customer"},
		{name: "reason fired", in: typed(event.ContactTransferred, setData("reason", "fired")), field: "data.reason", reason: "resigned, reassigned"},
		{name: "channel email", in: typed(event.FollowupLogged, setData("channel", "email")), field: "data.channel", reason: "call, visit"},
		{name: "channel empty", in: typed(event.FollowupLogged, setData("channel", "")), field: "data.channel", reason: "call, visit"},
		{name: "gender 3", in: typed(event.ContactAdded, setData("gender", 3)), field: "data.gender", reason: "range"},
		{name: "gender -1", in: typed(event.ContactAdded, setData("gender", -1)), field: "data.gender", reason: "range"},
		{name: "add_way negative", in: typed(event.ContactAdded, setData("add_way", -1)), field: "data.add_way", reason: "range"},
		{name: "chars negative", in: chat(setData("chars", -5)), field: "data.chars", reason: "range"},
		{name: "seats negative", in: typed(event.SubscriptionChanged, setData("seats", -1)), field: "data.seats", reason: "range"},
		{name: "contact_cap negative", in: typed(event.SubscriptionChanged, setData("contact_cap", -1)), field: "data.contact_cap", reason: "range"},
		{name: "staff_id empty", in: chat(setData("staff_id", "")), field: "data.staff_id", reason: "1–128"},
		{name: "staff_id of 129 characters", in: chat(setData("staff_id", strings.Repeat("s", 129))), field: "data.staff_id", reason: "1–128"},
		{name: "from_staff_id empty", in: typed(event.ContactTransferred, setData("from_staff_id", "")), field: "data.from_staff_id", reason: "1–128"},
		{name: "to_staff_id of 129 characters", in: typed(event.ContactTransferred, setData("to_staff_id", strings.Repeat("客", 129))), field: "data.to_staff_id", reason: "1–128"},
		{name: "tag_id empty", in: typed(event.TagAdded, setData("tag_id", "")), field: "data.tag_id", reason: "1–128"},
		{name: "optional staff_id of tag.removed empty", in: typed(event.TagRemoved, setData("staff_id", "")), field: "data.staff_id", reason: "1–128"},
		{name: "successor_staff_id empty", in: typed(event.StaffDeparted, setData("successor_staff_id", "")), field: "data.successor_staff_id", reason: "1–128"},
		{name: "stage empty", in: typed(event.FollowupStageChange, setData("stage", "")), field: "data.stage", reason: "empty"},
		{name: "plan empty", in: typed(event.SubscriptionChanged, setData("plan", "")), field: "data.plan", reason: "empty"},
		{name: "required field null", in: chat(setData("staff_id", nil)), field: "data.staff_id", reason: "required"},
	}
	tests = append(tests, missingRequired()...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := newDecoder().Decode(tc.in)
			require.Error(t, err, "%s", tc.in)
			require.Nil(t, ev)
			ve, ok := event.AsValidation(err)
			require.True(t, ok, "a %T, not a ValidationError: %v", err, err)
			require.Equal(t, tc.field, ve.Field, "reason: %s", ve.Reason)
			requireReadable(t, ve, tc.in)
			require.Contains(t, ve.Reason, tc.reason)
		})
	}
}

type invalidCase struct {
	name   string
	in     []byte
	field  string // the exact ValidationError.Field
	reason string // a part of the reason
}

// missingRequired makes one case per required data field of every type.
func missingRequired() []invalidCase {
	required := map[event.Type][]string{
		event.ContactAdded:        {"staff_id"},
		event.ContactUpdated:      {"staff_id"},
		event.ContactRemoved:      {"staff_id", "by"},
		event.ContactTransferred:  {"from_staff_id", "to_staff_id"},
		event.ChatMessage:         {"staff_id", "direction"},
		event.TagDefined:          {"name"},
		event.TagAdded:            {"tag_id"},
		event.TagRemoved:          {"tag_id"},
		event.FollowupLogged:      {"staff_id"},
		event.FollowupStageChange: {"staff_id", "stage"},
		event.SubscriptionChanged: {"plan", "paid"},
	}
	var out []invalidCase
	for _, typ := range event.Types() {
		for _, f := range required[typ] {
			out = append(out, invalidCase{
				name:   string(typ) + " without " + f,
				in:     typed(typ, delData(f)),
				field:  "data." + f,
				reason: "required for " + string(typ),
			})
		}
	}
	return out
}

// requireReadable checks the reason of refusing in: it goes to producers
// and into dead-letter headers.
func requireReadable(t *testing.T, ve *event.ValidationError, in []byte) {
	t.Helper()
	require.NotEmpty(t, ve.Reason)
	require.True(t, utf8.ValidString(ve.Reason), "%q", ve.Reason)
	if !bytes.Contains(in, []byte("%!")) { // reasons may quote the input
		require.NotContains(t, ve.Reason, "%!", "a formatting mistake")
	}
	if ve.Field != "" {
		require.Equal(t, ve.Field+": "+ve.Reason, ve.Error())
	}
}

// TestDecoderReuse checks that a failed decode leaves nothing behind.
func TestDecoderReuse(t *testing.T) {
	dec := newDecoder()
	_, err := dec.Decode([]byte(catalogue[0].in))
	require.NoError(t, err)
	_, err = dec.Decode(chat(delData("staff_id")))
	require.Error(t, err)
	ev, err := dec.Decode(typed(event.StaffActive))
	require.NoError(t, err)
	require.Zero(t, ev.Data.Present)
	require.Empty(t, ev.Data.StaffID)
	require.Empty(t, ev.Data.Name)
	require.Equal(t, "{}", string(ev.Data.Raw))
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range catalogue {
		t.Run(tc.name, func(t *testing.T) {
			requireRoundTrip(t, newDecoder(), []byte(tc.in))
		})
	}
	t.Run("next_at at the edges of the range, with offsets", func(t *testing.T) {
		requireRoundTrip(t, newDecoder(), typed(event.FollowupLogged, setData("next_at", "1970-01-01T08:00:00+08:00")))
		requireRoundTrip(t, newDecoder(), typed(event.FollowupLogged, setData("next_at", "2200-12-31T15:59:59.999999999-08:00")))
	})
	t.Run("unknown fields and escapes", func(t *testing.T) {
		requireRoundTrip(t, newDecoder(), chat(
			set("id", "a\"b\\c é😀"),
			setData("msg_type", "tab\there\x01\x1f\x7f\u2028"), // ids may not hold these (CheckID)
			setData("unknown", []any{1, 2}),
		))
	})
}

// requireRoundTrip decodes in, encodes the result with AppendJSON, decodes
// that again and requires the same event; it returns the first decoding.
func requireRoundTrip(t *testing.T, dec *event.Decoder, in []byte) event.Event {
	t.Helper()
	ev, err := dec.Decode(in)
	require.NoError(t, err, "%s", in)
	first := ev.Clone()
	out := event.AppendJSON(nil, &first)
	require.True(t, json.Valid(out), "AppendJSON wrote invalid JSON: %s", out)
	again, err := dec.Decode(out)
	require.NoError(t, err, "re-decode %s", out)
	requireSameEvent(t, first, again.Clone())
	require.Equal(t, string(event.AppendDataJSON(nil, &first.Data)), string(again.Data.Raw),
		"the re-decoded raw data is what AppendJSON wrote")
	return first
}

// requireSameEvent compares two events: times as instants with the same
// offset, Data.Raw not at all (AppendJSON drops unknown fields).
func requireSameEvent(t *testing.T, want, got event.Event) {
	t.Helper()
	require.True(t, want.Time.Equal(got.Time), "time %s != %s", want.Time, got.Time)
	_, wantOff := want.Time.Zone()
	_, gotOff := got.Time.Zone()
	require.Equal(t, wantOff, gotOff, "time offset")
	want.Time, got.Time = time.Time{}, time.Time{}
	want.Data.Raw, got.Data.Raw = nil, nil
	require.Equal(t, want, got)
}

func TestCloneDetaches(t *testing.T) {
	dec := newDecoder()
	ev, err := dec.Decode([]byte(catalogue[1].in)) // contact.updated: many strings
	require.NoError(t, err)
	clone := ev.Clone()
	// A printed copy cannot alias the decoder's buffers, whatever Clone does.
	want := fmt.Sprintf("%+v %s", clone, clone.Data.Raw)
	require.Equal(t, "王小明", clone.Data.Name)

	// A longer event with escapes, decoded into the same buffers.
	other := typed(event.ContactUpdated,
		set("id", strings.Repeat("x", 100)), set("source", strings.Repeat("y", 200)),
		set("subject", strings.Repeat("z", 120)), setData("staff_id", strings.Repeat("q", 128)),
		setData("name", `over"written\`), setData("remark", strings.Repeat("r", 300)),
		setData("description", strings.Repeat("d", 300)), setData("corp_name", strings.Repeat("c", 300)))
	ev2, err := dec.Decode(other)
	require.NoError(t, err)
	require.Equal(t, strings.Repeat("q", 128), ev2.Data.StaffID)
	require.Equal(t, want, fmt.Sprintf("%+v %s", clone, clone.Data.Raw), "the clone kept its values")

	_, err = dec.Decode(bytes.Repeat([]byte("x"), 4096))
	require.Error(t, err)
	require.Equal(t, want, fmt.Sprintf("%+v %s", clone, clone.Data.Raw))
}

// TestAppendJSONGolden pins the wire form AppendJSON writes: it is what the
// pipeline forwards and loadgen emits, so a change must be deliberate.
func TestAppendJSONGolden(t *testing.T) {
	var got []byte
	dec := newDecoder()
	for _, tc := range catalogue {
		ev, err := dec.Decode([]byte(tc.in))
		require.NoError(t, err)
		got = event.AppendJSON(got, ev)
		got = append(got, '\n')
	}
	path := filepath.Join("testdata", "catalogue.golden.jsonl")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./event -run TestAppendJSONGolden -update")
	require.Equal(t, string(want), string(got))
}

func TestDataSetters(t *testing.T) {
	tests := []struct {
		name string
		set  func(d *event.Data)
		json string
	}{
		{"string", func(d *event.Data) { d.Set(event.FStaffID, "s1") }, `{"staff_id":"s1"}`},
		{"int", func(d *event.Data) { d.SetInt(event.FChars, 12) }, `{"chars":12}`},
		{"bool", func(d *event.Data) { d.SetBool(event.FPaid, false) }, `{"paid":false}`},
		{"time", func(d *event.Data) { d.SetTime(event.FNextAt, mustTime("2026-11-24T10:00:00+08:00")) }, `{"next_at":"2026-11-24T02:00:00Z"}`},
		{"catalogue order", func(d *event.Data) {
			d.SetBool(event.FPaid, true)
			d.Set(event.FPlan, "pro")
		}, `{"plan":"pro","paid":true}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d event.Data
			tc.set(&d)
			require.Equal(t, tc.json, string(event.AppendDataJSON(nil, &d)))
		})
	}
}

// Building events.

type obj = map[string]any

func present(fs ...event.Field) event.Presence {
	var p event.Presence
	for _, f := range fs {
		p |= 1 << f
	}
	return p
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// minimalData is the smallest valid data object of each type.
func minimalData(typ event.Type) obj {
	switch typ {
	case event.ContactAdded, event.ContactUpdated, event.FollowupLogged:
		return obj{"staff_id": "s1"}
	case event.ContactRemoved:
		return obj{"staff_id": "s1", "by": "staff"}
	case event.ContactTransferred:
		return obj{"from_staff_id": "s1", "to_staff_id": "s2"}
	case event.ChatMessage:
		return obj{"staff_id": "s1", "direction": "in"}
	case event.TagDefined:
		return obj{"name": "VIP"}
	case event.TagAdded, event.TagRemoved:
		return obj{"tag_id": "t1"}
	case event.FollowupStageChange:
		return obj{"staff_id": "s1", "stage": "won"}
	case event.SubscriptionChanged:
		return obj{"plan": "pro", "paid": true}
	}
	return obj{}
}

// typed returns a valid minimal event of typ, changed by mods, as JSON.
func typed(typ event.Type, mods ...func(obj)) []byte {
	subject := "c1"
	if typ == event.SubscriptionChanged {
		subject = "acme"
	}
	m := obj{
		"specversion": "1.0",
		"id":          "e1",
		"source":      "wecom/ww1436e0e65a779aee",
		"type":        string(typ),
		"time":        "2026-11-21T09:30:00+08:00",
		"tenant":      "acme",
		"subject":     subject,
		"data":        minimalData(typ),
	}
	for _, mod := range mods {
		mod(m)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		panic(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// chat is a valid chat.message changed by mods.
func chat(mods ...func(obj)) []byte { return typed(event.ChatMessage, mods...) }

// chatRaw is a chat.message with extra raw text inside its data object, for
// inputs encoding/json cannot write.
func chatRaw(member string) []byte {
	return replace(chat(), `"direction":"in"`, `"direction":"in",`+member)
}

func set(k string, v any) func(obj) { return func(m obj) { m[k] = v } }

func del(k string) func(obj) { return func(m obj) { delete(m, k) } }

func setData(k string, v any) func(obj) { return func(m obj) { m["data"].(obj)[k] = v } }

func delData(k string) func(obj) { return func(m obj) { delete(m["data"].(obj), k) } }

// replace swaps the only occurrence of old in b.
func replace(b []byte, old, new string) []byte {
	if bytes.Count(b, []byte(old)) != 1 {
		panic("replace: " + old + " is not in " + string(b) + " exactly once")
	}
	return bytes.Replace(b, []byte(old), []byte(new), 1)
}

// stringsOf lists every string an event holds, for UTF-8 checks.
func stringsOf(ev *event.Event) []string {
	out := []string{ev.ID, ev.Source, string(ev.Type), ev.Tenant, ev.Subject}
	d := reflect.ValueOf(ev.Data)
	for i := 0; i < d.NumField(); i++ {
		if f := d.Field(i); f.Kind() == reflect.String {
			out = append(out, f.String())
		}
	}
	return out
}
