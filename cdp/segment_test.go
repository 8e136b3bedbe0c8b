package cdp

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseSegmentRefusals(t *testing.T) {
	deep := `{"lost":true}`
	for range MaxSegmentDepth {
		deep = `{"not":` + deep + `}`
	}
	many := strings.Repeat(`{"lost":true},`, MaxSegmentNodes)
	tests := []struct {
		name     string
		def      string
		wantPath string
		wantIn   string
	}{
		{name: "not JSON", def: `{"and":`, wantPath: "", wantIn: "JSON"},
		{name: "not an object", def: `[1]`, wantPath: "", wantIn: "JSON object"},
		{name: "unknown field", def: `{"and":[{"lost":true},{"field":"password","op":"=","value":"x"}]}`,
			wantPath: "and[1].field", wantIn: `"password"`},
		{name: "field is not a string", def: `{"field":1,"op":"=","value":"x"}`, wantPath: "field", wantIn: "unknown field"},
		{name: "unknown operator", def: `{"or":[{"field":"stage","op":"LIKE","value":"x"}]}`,
			wantPath: "or[0].op", wantIn: `"LIKE"`},
		{name: "operator of another kind", def: `{"field":"name","op":">","value":"x"}`, wantPath: "op", wantIn: `">"`},
		{name: "within on a string", def: `{"field":"stage","op":"within","value":"7d"}`, wantPath: "op", wantIn: "within"},
		{name: "unknown condition", def: `{"and":[{"drop":"table"}]}`, wantPath: "and[0].drop", wantIn: `"drop"`},
		{name: "two conditions in one object", def: `{"lost":true,"not":{"lost":true}}`, wantPath: "", wantIn: "exactly one"},
		{name: "unknown key in a field condition", def: `{"field":"stage","op":"=","value":"x","raw":"1"}`, wantPath: "raw"},
		{name: "missing value", def: `{"field":"stage","op":"="}`, wantPath: "value", wantIn: "missing"},
		{name: "number for a string", def: `{"field":"stage","op":"=","value":3}`, wantPath: "value", wantIn: "a number"},
		{name: "string for a number", def: `{"field":"messages_in","op":">=","value":"3"}`, wantPath: "value", wantIn: "a string"},
		{name: "fraction", def: `{"field":"messages_in","op":">=","value":1.5}`, wantPath: "value", wantIn: "whole number"},
		{name: "negative", def: `{"field":"messages_in","op":">=","value":-1}`, wantPath: "value", wantIn: "whole number"},
		{name: "bad time", def: `{"field":"last_event_at","op":"<","value":"yesterday"}`, wantPath: "value", wantIn: "RFC 3339"},
		{name: "bad window", def: `{"field":"last_inbound_at","op":"within","value":"7 days"}`, wantPath: "value", wantIn: "7d"},
		{name: "zero window", def: `{"field":"last_inbound_at","op":"within","value":"0d"}`, wantPath: "value"},
		{name: "exists with a string", def: `{"field":"last_inbound_at","op":"exists","value":"yes"}`, wantPath: "value"},
		{name: "in without a list", def: `{"field":"stage","op":"in","value":"won"}`, wantPath: "value", wantIn: "array"},
		{name: "in with a number", def: `{"field":"stage","op":"in","value":["won",1]}`, wantPath: "value[1]"},
		{name: "empty and", def: `{"and":[]}`, wantPath: "and", wantIn: "non-empty"},
		{name: "tag without has", def: `{"tag":{"is":"t1"}}`, wantPath: "tag"},
		{name: "tags with neither any nor all", def: `{"tags":{"some":["t1"]}}`, wantPath: "tags.some"},
		{name: "tags all empty", def: `{"tags":{"all":[]}}`, wantPath: "tags.all"},
		{name: "lost not a bool", def: `{"lost":"yes"}`, wantPath: "lost"},
		{name: "too deep", def: deep, wantPath: strings.Repeat("not.", MaxSegmentDepth), wantIn: "deeper"},
		{name: "too many", def: `{"and":[` + many + `{"lost":true}]}`, wantPath: fmt.Sprintf("and[%d]", MaxSegmentNodes-1), wantIn: "more than"},
		{name: "value too long", def: `{"field":"name","op":"=","value":"` + strings.Repeat("x", MaxSegmentValue+1) + `"}`, wantPath: "value"},
		{name: "list too long", def: `{"relation_staff":{"any":[` + strings.Repeat(`"s",`, MaxSegmentList) + `"s"]}}`, wantPath: "relation_staff.any"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSegment([]byte(tt.def))
			se, ok := AsSegmentError(err)
			require.True(t, ok, "want a SegmentError, got %v", err)
			require.Equal(t, strings.TrimSuffix(tt.wantPath, "."), se.Path, se.Error())
			require.Contains(t, se.Reason, tt.wantIn)
		})
	}
}

// TestCompileSegmentBindsEveryValue: whatever a value holds, the SQL text
// carries only whitelisted names, operators and placeholders.
func TestCompileSegmentBindsEveryValue(t *testing.T) {
	hostile := []string{`x' OR 1=1 --`, `'); DROP TABLE events; --`, `@tenant`, `@p1`, `\' OR ''='`, "名字\u0000", "`x`"}
	var conds []string
	for _, v := range hostile {
		b, _ := json.Marshal(v)
		q := string(b)
		conds = append(conds,
			`{"field":"name","op":"=","value":`+q+`}`,
			`{"field":"corp_name","op":"contains","value":`+q+`}`,
			`{"field":"stage","op":"in","value":[`+q+`]}`,
			`{"tag":{"has":`+q+`}}`,
			`{"tag_group":{"has":`+q+`}}`,
			`{"relation_staff":{"all":[`+q+`]}}`)
	}
	seg, err := ParseSegment([]byte(`{"or":[` + strings.Join(conds, ",") + `]}`))
	require.NoError(t, err)
	c := CompileSegment(seg, time.Unix(1_800_000_000, 0))
	require.Len(t, c.Args, len(conds))
	// Apart from the catalogue's own queries, the text is names,
	// operators and placeholders only.
	where := withoutSubqueries(c.Where)
	require.NotContains(t, where, "'")
	require.NotContains(t, where, "DROP")
	require.NotContains(t, where, "--")
	require.NotContains(t, where, "@tenant")
	require.NotContains(t, where, "名字")
}

var placeholders = regexp.MustCompile(`@p[0-9]+`)

// withoutSubqueries replaces each catalogue subquery in where by "SUB",
// placeholders by "@P".
func withoutSubqueries(where string) string {
	where = placeholders.ReplaceAllString(where, "@P")
	for q, name := range map[string]string{qTagMembers: "tag", qGroupMembers: "tag_group", qStaffMembers: "staff_id", qHeldMembers: "", qUnknownTags: ""} {
		if name != "" {
			q = regexp.MustCompile("@"+name+`\b`).ReplaceAllLiteralString(q, "@P")
		}
		where = strings.ReplaceAll(where, q, "SUB")
	}
	return where
}

func TestCompileSegment(t *testing.T) {
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	seg, err := ParseSegment([]byte(`{"and":[
		{"tags":{"any":["a","b"]}},
		{"field":"messages_in","op":">=","value":3},
		{"field":"last_inbound_at","op":"within","value":"7d"},
		{"not":{"lost":true}}]}`))
	require.NoError(t, err)
	c := CompileSegment(seg, now)
	require.Equal(t, "((contact_id IN (SUB) OR contact_id IN (SUB)) AND msgs_in >= @P AND "+
		"(last_in_ns >= @P AND last_in_ns <= @P) AND NOT (contact_id NOT IN (SUB)))", withoutSubqueries(c.Where))
	require.Contains(t, c.Where, "tag_id = @p1")
	require.Len(t, c.Args, 5)
	require.Contains(t, fmt.Sprint(c.Args[3]), fmt.Sprint(now.Add(-7*24*time.Hour).UnixNano()))
	require.Contains(t, c.CountSQL(), "FROM profile_state")
	require.NotContains(t, c.CountSQL(), "contact_tag_state\n    WHERE tenant = @tenant\n", "tags are read per condition")
}

func TestHoldsOnDefault(t *testing.T) {
	for _, tc := range []struct {
		def  string
		want bool
	}{
		{`{"field":"channel","op":"=","value":""}`, true},
		{`{"field":"channel","op":"=","value":"ad"}`, false},
		{`{"field":"channel","op":"!=","value":"ad"}`, true},
		{`{"field":"channel","op":"in","value":["ad",""]}`, true},
		{`{"field":"channel","op":"not_in","value":["ad",""]}`, false},
		{`{"field":"acquired_by","op":"not_in","value":["s1"]}`, true},
		{`{"field":"acquired_by","op":"contains","value":"s"}`, false},
		{`{"field":"add_way","op":"<","value":1}`, true},
		{`{"field":"add_way","op":">=","value":0}`, true},
		{`{"field":"add_way","op":">","value":0}`, false},
		{`{"field":"add_way","op":"in","value":[0,16]}`, true},
		{`{"field":"add_way","op":"not_in","value":[16]}`, true},
	} {
		seg, err := ParseSegment([]byte(tc.def))
		require.NoError(t, err, tc.def)
		require.Equal(t, tc.want, holdsOnDefault(seg.root), tc.def)
		c := CompileSegment(seg, time.Now())
		in := "contact_id IN ("
		if tc.want {
			in = "contact_id NOT IN ("
		}
		require.True(t, strings.HasPrefix(c.Where, in), "%s compiles to %s", tc.def, in)
		require.NotContains(t, c.CountSQL(), "acquisition_state\n    WHERE tenant = @tenant\n    GROUP BY",
			"the base does not join the acquisition")
	}
}
