package wecom_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/wecom"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// The time of the callbacks below (2025-11-21T00:00:00Z), and a clock an
// hour later.
const createTime = "1763683200"

var (
	mappingOrigin = wecom.Origin{Tenant: "acme", CorpID: "ww1436e0e65a779aee", Received: time.Unix(1763683260, 0)}
	mappingNow    = time.Unix(1763686800, 0)
)

// callbackXML builds a decrypted callback of a self-built app from its
// elements after MsgType.
func callbackXML(elems string) string {
	return "<xml><ToUserName><![CDATA[ww1436e0e65a779aee]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>" +
		"<CreateTime>" + createTime + "</CreateTime><MsgType><![CDATA[event]]></MsgType>" + elems + "</xml>"
}

// mappingCases are a callback of every kind Siyu maps, and of the ones it
// keeps raw. Their events are in testdata/mapping/<name>.json.
var mappingCases = []struct {
	name     string
	xml      string
	wantType event.Type
}{
	{name: "add_external_contact", wantType: event.ContactAdded, xml: callbackXML(`<Event><![CDATA[change_external_contact]]></Event>
<ChangeType><![CDATA[add_external_contact]]></ChangeType><UserID><![CDATA[zhangsan]]></UserID>
<ExternalUserID><![CDATA[woAJ2GCAAAXtWyujaWJHDDGi0mACAAA]]></ExternalUserID><State><![CDATA[spring-fair]]></State>
<WelcomeCode><![CDATA[WELCOMECODE]]></WelcomeCode>`)},
	{name: "add_half_external_contact", wantType: event.ContactAdded, xml: callbackXML(`<Event><![CDATA[change_external_contact]]></Event>
<ChangeType><![CDATA[add_half_external_contact]]></ChangeType><UserID><![CDATA[lisi]]></UserID>
<ExternalUserID><![CDATA[woAJ2GCAAAXtWyujaWJHDDGi0mACBBB]]></ExternalUserID><State><![CDATA[春季活动]]></State>
<WelcomeCode><![CDATA[WELCOMECODE2]]></WelcomeCode>`)},
	{name: "edit_external_contact", wantType: event.ContactUpdated, xml: callbackXML(`<Event><![CDATA[change_external_contact]]></Event>
<ChangeType><![CDATA[edit_external_contact]]></ChangeType><UserID><![CDATA[zhangsan]]></UserID>
<ExternalUserID><![CDATA[woAJ2GCAAAXtWyujaWJHDDGi0mACAAA]]></ExternalUserID>`)},
	{name: "del_external_contact", wantType: event.ContactRemoved, xml: callbackXML(`<Event><![CDATA[change_external_contact]]></Event>
<ChangeType><![CDATA[del_external_contact]]></ChangeType><UserID><![CDATA[zhangsan]]></UserID>
<ExternalUserID><![CDATA[woAJ2GCAAAXtWyujaWJHDDGi0mACAAA]]></ExternalUserID>`)},
	{name: "del_external_contact_by_transfer", wantType: event.ContactRemoved, xml: callbackXML(`<Event><![CDATA[change_external_contact]]></Event>
<ChangeType><![CDATA[del_external_contact]]></ChangeType><UserID><![CDATA[zhangsan]]></UserID>
<ExternalUserID><![CDATA[woAJ2GCAAAXtWyujaWJHDDGi0mACAAA]]></ExternalUserID><Source><![CDATA[DELETE_BY_TRANSFER]]></Source>`)},
	{name: "del_follow_user", wantType: event.ContactRemoved, xml: callbackXML(`<Event><![CDATA[change_external_contact]]></Event>
<ChangeType><![CDATA[del_follow_user]]></ChangeType><UserID><![CDATA[zhangsan]]></UserID>
<ExternalUserID><![CDATA[woAJ2GCAAAXtWyujaWJHDDGi0mACAAA]]></ExternalUserID>`)},
	{name: "transfer_fail", wantType: event.ContactTransferFailed, xml: callbackXML(`<Event><![CDATA[change_external_contact]]></Event>
<ChangeType><![CDATA[transfer_fail]]></ChangeType><FailReason><![CDATA[customer_refused]]></FailReason>
<UserID><![CDATA[wangwu]]></UserID><ExternalUserID><![CDATA[woAJ2GCAAAXtWyujaWJHDDGi0mACAAA]]></ExternalUserID>`)},
	{name: "tag_create", wantType: event.TagChanged, xml: callbackXML(`<Event><![CDATA[change_external_tag]]></Event>
<Id><![CDATA[etm7wjCgAA5GjBXgnXqz-M3VmJ8uI6sw]]></Id><TagType><![CDATA[tag]]></TagType><ChangeType><![CDATA[create]]></ChangeType>`)},
	{name: "tag_group_update_in_strategy", wantType: event.TagChanged, xml: callbackXML(`<Event><![CDATA[change_external_tag]]></Event>
<Id><![CDATA[etm7wjCgAAgroup01]]></Id><TagType><![CDATA[tag_group]]></TagType><ChangeType><![CDATA[update]]></ChangeType>
<StrategyId>3</StrategyId>`)},
	{name: "tag_delete", wantType: event.TagChanged, xml: callbackXML(`<Event><![CDATA[change_external_tag]]></Event>
<Id><![CDATA[etm7wjCgAA5GjBXgnXqz-M3VmJ8uI6sw]]></Id><TagType><![CDATA[tag]]></TagType><ChangeType><![CDATA[delete]]></ChangeType>`)},
	{name: "tag_shuffle_in_group", wantType: event.TagReordered, xml: callbackXML(`<Event><![CDATA[change_external_tag]]></Event>
<Id><![CDATA[etm7wjCgAAgroup01]]></Id><StrategyId>1</StrategyId><ChangeType><![CDATA[shuffle]]></ChangeType>`)},
	{name: "tag_shuffle_groups", wantType: event.TagReordered, xml: callbackXML(`<Event><![CDATA[change_external_tag]]></Event>
<Id><![CDATA[]]></Id><ChangeType><![CDATA[shuffle]]></ChangeType>`)},
	{name: "chat_create", wantType: event.GroupCreated, xml: callbackXML(`<Event><![CDATA[change_external_chat]]></Event>
<ChatId><![CDATA[wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA]]></ChatId><ChangeType><![CDATA[create]]></ChangeType>`)},
	{name: "chat_update_add_member", wantType: event.GroupUpdated, xml: callbackXML(`<Event><![CDATA[change_external_chat]]></Event>
<ChatId><![CDATA[wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA]]></ChatId><ChangeType><![CDATA[update]]></ChangeType>
<UpdateDetail><![CDATA[add_member]]></UpdateDetail><JoinScene>1</JoinScene><QuitScene>0</QuitScene><MemChangeCnt>2</MemChangeCnt>
<MemChangeList><Item><![CDATA[wmEAlECwAAHrbWYDetiu3Af13xlYDDDD]]></Item><Item><![CDATA[zhangsan]]></Item></MemChangeList>
<LastMemVer><![CDATA[9c3f0f50f3bb51b7ed8f6fc43a1ba53e]]></LastMemVer><CurMemVer><![CDATA[71217227bbd112ecfe3a49c482195cb4]]></CurMemVer>`)},
	{name: "chat_update_del_member", wantType: event.GroupUpdated, xml: callbackXML(`<Event><![CDATA[change_external_chat]]></Event>
<ChatId><![CDATA[wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA]]></ChatId><ChangeType><![CDATA[update]]></ChangeType>
<UpdateDetail><![CDATA[del_member]]></UpdateDetail><QuitScene>1</QuitScene><MemChangeCnt>1</MemChangeCnt>`)},
	{name: "chat_update_change_name", wantType: event.GroupUpdated, xml: callbackXML(`<Event><![CDATA[change_external_chat]]></Event>
<ChatId><![CDATA[wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA]]></ChatId><ChangeType><![CDATA[update]]></ChangeType>
<UpdateDetail><![CDATA[change_name]]></UpdateDetail>`)},
	{name: "chat_dismiss", wantType: event.GroupDismissed, xml: callbackXML(`<Event><![CDATA[change_external_chat]]></Event>
<ChatId><![CDATA[wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA]]></ChatId><ChangeType><![CDATA[dismiss]]></ChangeType>`)},
	{name: "suite_add_external_contact", wantType: event.ContactAdded, xml: `<xml>
	<SuiteId><![CDATA[ww4asffe99e54c0f4c]]></SuiteId>
	<AuthCorpId><![CDATA[ww1436e0e65a779aee]]></AuthCorpId>
	<InfoType><![CDATA[change_external_contact]]></InfoType>
	<TimeStamp>1763683200</TimeStamp>
	<ChangeType><![CDATA[add_external_contact]]></ChangeType>
	<UserID><![CDATA[zhangsan]]></UserID>
	<ExternalUserID><![CDATA[woAJ2GCAAAXtWyujaWJHDDGi0mACAAA]]></ExternalUserID>
	<State><![CDATA[teststate]]></State>
</xml>`},
	{name: "delete_user", wantType: event.StaffDeparted, xml: callbackXML(`<Event><![CDATA[change_contact]]></Event>
<ChangeType><![CDATA[delete_user]]></ChangeType><UserID><![CDATA[zhangsan]]></UserID>`)},
	{name: "unknown_change_type", wantType: event.WeComUnmapped, xml: callbackXML(`<Event><![CDATA[change_external_contact]]></Event>
<ChangeType><![CDATA[msg_audit_approved]]></ChangeType><UserID><![CDATA[zhangsan]]></UserID>`)},
	{name: "unknown_event", wantType: event.WeComUnmapped, xml: callbackXML(`<Event><![CDATA[enter_agent]]></Event><AgentID>1</AgentID>`)},
	{name: "text_message", wantType: event.WeComUnmapped, xml: `<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>
<FromUserName><![CDATA[mycreate]]></FromUserName>
<CreateTime>1409659813</CreateTime>
<MsgType><![CDATA[text]]></MsgType>
<Content><![CDATA[hello]]></Content>
<MsgId>4561255354251345929</MsgId>
<AgentID>218</AgentID>
</xml>`},
	{name: "missing_external_user_id", wantType: event.WeComUnmapped, xml: callbackXML(`<Event><![CDATA[change_external_contact]]></Event>
<ChangeType><![CDATA[add_external_contact]]></ChangeType><UserID><![CDATA[zhangsan]]></UserID>`)},
	{name: "tag_without_tag_type", wantType: event.WeComUnmapped, xml: callbackXML(`<Event><![CDATA[change_external_tag]]></Event>
<Id><![CDATA[etm7wjCgAA5GjBXgnXqz-M3VmJ8uI6sw]]></Id><ChangeType><![CDATA[create]]></ChangeType>`)},
	{name: "no_create_time", wantType: event.ContactUpdated, xml: `<xml><Event>change_external_contact</Event>
<ChangeType>edit_external_contact</ChangeType><UserID> zhangsan </UserID><ExternalUserID>woAJ2GCAAAXtWyujaWJHDDGi0mACAAA</ExternalUserID></xml>`},
}

// TestMap maps every case and compares the event with its golden file
// (go test ./wecom -run TestMap -update rewrites them). Every event is valid
// under the contract.
func TestMap(t *testing.T) {
	dec := event.NewDecoder(func() time.Time { return mappingNow })
	seenTypes := map[event.Type]bool{}
	for _, tc := range mappingCases {
		t.Run(tc.name, func(t *testing.T) {
			out, value, err := wecom.Build(nil, []byte(tc.xml), mappingOrigin, dec)
			require.NoError(t, err)
			require.Equal(t, tc.wantType, out.Event.Type, "%s", value)
			seenTypes[out.Event.Type] = true

			ev, err := dec.Decode(value)
			require.NoError(t, err, "%s", value)
			require.Equal(t, out.Event.ID, ev.ID)
			require.Equal(t, wecom.EventID(mappingOrigin.CorpID, []byte(tc.xml)), ev.ID)
			require.Regexp(t, `^wecom-[0-9a-f]{32}$`, ev.ID)
			require.Equal(t, "wecom/ww1436e0e65a779aee", ev.Source)

			var pretty bytes.Buffer
			require.NoError(t, json.Indent(&pretty, value, "", "  "))
			pretty.WriteByte('\n')
			golden(t, filepath.Join("testdata", "mapping", tc.name+".json"), pretty.Bytes())
		})
	}
	for _, typ := range event.Additions() {
		require.True(t, seenTypes[typ], "no case maps to %s", typ)
	}
}

// golden compares got with the file at path, or rewrites it with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run: go test ./wecom -run %s -update", t.Name())
	require.Equal(t, string(want), string(got))
}

func TestMapFutureTime(t *testing.T) {
	// A callback more than 24 h ahead of the clock would be dead-lettered by
	// the pipeline: refuse it, so that WeCom is never told "success" for it.
	dec := event.NewDecoder(func() time.Time { return time.Unix(1763683200, 0).Add(-48 * time.Hour) })
	_, _, err := wecom.Build(nil, []byte(mappingCases[0].xml), mappingOrigin, dec)
	require.ErrorIs(t, err, wecom.ErrMessage)
}

func TestBuildRefusesNonXML(t *testing.T) {
	dec := event.NewDecoder(func() time.Time { return mappingNow })
	tests := []struct {
		name string
		msg  string
	}{
		{name: "empty", msg: ""},
		{name: "not xml", msg: "hello"},
		{name: "another root", msg: "<root><Event>x</Event></root>"},
		{name: "unclosed", msg: "<xml><Event>x</Event>"},
		{name: "not UTF-8", msg: "<xml><Event>\xff</Event></xml>"},
		{name: "a DOCTYPE", msg: `<!DOCTYPE xml [<!ENTITY e "x">]><xml><Event>&e;</Event></xml>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := wecom.Build(nil, []byte(tt.msg), mappingOrigin, dec)
			require.ErrorIs(t, err, wecom.ErrMessage)
		})
	}
}

func TestEventID(t *testing.T) {
	add := func(staff string) []byte {
		return []byte(callbackXML(`<Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[add_external_contact]]></ChangeType>` +
			`<UserID><![CDATA[` + staff + `]]></UserID><ExternalUserID><![CDATA[wmc1]]></ExternalUserID>`))
	}
	tests := []struct {
		name     string
		a, b     []byte
		corpA    string
		corpB    string
		wantSame bool
	}{
		{name: "a retry is the same message", a: add("s1"), b: add("s1"), corpA: "ww1", corpB: "ww1", wantSame: true},
		{name: "a second rep adding the same customer", a: add("s1"), b: add("s2"), corpA: "ww1", corpB: "ww1"},
		{name: "the same message in another corp", a: add("s1"), b: add("s1"), corpA: "ww1", corpB: "ww2"},
		{name: "the same add a second later", a: add("s1"), b: bytes.Replace(add("s1"), []byte(createTime), []byte("1763683201"), 1), corpA: "ww1", corpB: "ww1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := wecom.EventID(tt.corpA, tt.a), wecom.EventID(tt.corpB, tt.b)
			if tt.wantSame {
				require.Equal(t, a, b)
			} else {
				require.NotEqual(t, a, b)
			}
		})
	}
}
