package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/event"
)

// strictBody is a request body with the shapes the handlers decode: ids,
// lists, nested raw JSON, numbers.
type strictBody struct {
	Name       string          `json:"name"`
	IDs        []string        `json:"customer_ids"`
	Limit      *int            `json:"limit"`
	Definition json.RawMessage `json:"definition"`
	Nested     *struct {
		Note string `json:"note"`
	} `json:"nested"`
}

func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		wantField string // "" = accepted
		wantInMsg string
	}{
		{name: "valid", body: `{"name":"a","customer_ids":["c1"],"limit":3,"definition":{"x":[1]},"nested":{"note":"n"}}`},
		{name: "white space around", body: " \n\t{\"name\":\"a\"}\r\n "},
		{name: "a surrogate pair", body: `{"name":"\ud83d\ude00"}`},
		{name: "an escaped backslash before u", body: `{"name":"\\ud800"}`},
		{name: "empty", body: ``, wantField: "body", wantInMsg: "empty"},
		{name: "not JSON", body: `name=a`, wantField: "body", wantInMsg: "not JSON"},
		{name: "truncated", body: `{"name":"a"`, wantField: "body"},
		{name: "trailing garbage", body: `{"name":"a"} x`, wantField: "body", wantInMsg: "byte 13"},
		{name: "two values", body: `{}{}`, wantField: "body", wantInMsg: "more follows"},
		{name: "trailing NUL", body: "{}\x00", wantField: "body"},
		{name: "unknown field", body: `{"nmae":"a"}`, wantField: "nmae", wantInMsg: "unknown"},
		{name: "wrong type", body: `{"limit":"3"}`, wantField: "limit", wantInMsg: "int"},
		{name: "wrong type in a list", body: `{"customer_ids":[1]}`, wantField: "customer_ids"},
		{name: "bad UTF-8 in a value", body: "{\"name\":\"a\xff\"}", wantField: "name", wantInMsg: "UTF-8"},
		{name: "bad UTF-8 in a list", body: "{\"customer_ids\":[\"c1\",\"c\xc3\"]}", wantField: "customer_ids[1]"},
		{name: "bad UTF-8 deep in raw JSON", body: "{\"name\":\"a\",\"definition\":{\"and\":[{\"x\":1},{\"tag\":[\"\xf0\x9f\"]}]}}", wantField: "definition.and[1].tag[0]"},
		{name: "bad UTF-8 in a nested object", body: "{\"nested\":{\"note\":\"\xed\xa0\x80\"}}", wantField: "nested.note"},
		{name: "lone high surrogate", body: `{"name":"x\ud800"}`, wantField: "name", wantInMsg: `\ud800`},
		{name: "lone low surrogate", body: `{"nested":{"note":"\uDC00x"}}`, wantField: "nested.note"},
		{name: "high surrogate before a non-surrogate", body: `{"customer_ids":["a","\ud800\u0041"]}`, wantField: "customer_ids[1]"},
		{name: "lone surrogate in raw JSON", body: `{"definition":{"a":"\ud800"}}`, wantField: "definition.a"},
		{name: "lone surrogate in a key of raw JSON", body: `{"definition":{"\ud800":1}}`, wantField: "definition.\ufffd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v strictBody
			err := decodeJSON([]byte(tt.body), &v, "send a strict body")
			if tt.wantField == "" {
				require.NoError(t, err)
				return
			}
			var ae *Error
			require.True(t, errors.As(err, &ae), "%v", err)
			require.Equal(t, http.StatusBadRequest, ae.Status)
			require.Equal(t, tt.wantField, ae.Field, ae.Message)
			require.Contains(t, ae.Message, tt.wantInMsg)
		})
	}
}

func TestCheckMediaType(t *testing.T) {
	for _, tt := range []struct {
		header string
		ok     bool
	}{
		{"application/json", true},
		{"application/json; charset=utf-8", true},
		{"APPLICATION/JSON;charset=\"UTF-8\"", true},
		{"", false},
		{"text/plain", false},
		{"application/json; charset=utf-16", false},
		{"application/json; version=2", false},
		{"application/jsonx", false},
		{"application/cloudevents+json", false},
		{"application/json,text/plain", false},
	} {
		require.Equal(t, tt.ok, checkMediaType(tt.header, jsonMediaTypes) == "", "%q", tt.header)
	}
	require.Empty(t, checkMediaType("application/cloudevents-batch+json", eventMediaTypes))
}

// FuzzDecodeJSON feeds the strict body decoder outside input. It must not
// panic; a refusal is a 400 that names a field; what it accepts is one
// valid JSON value of valid UTF-8, no lone surrogate escape and nothing
// after it, whose strings decode to valid UTF-8 (no U+FFFD made up by
// encoding/json).
//
//	go test ./api -run XXX -fuzz FuzzDecodeJSON -fuzztime 60s
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"name":"a","customer_ids":["c1"],"limit":3,"definition":{"x":[1]},"nested":{"note":"n"}}`,
		`{"name":"\ud83d\ude00"}`, `{"name":"\ud800"}`, "{\"name\":\"\xff\"}", `{} x`, `{"definition":{"a":["\udc00"]}}`,
		`{"nmae":1}`, ` {"limit":-1} `, `[]`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var v strictBody
		err := decodeJSON(body, &v, "hint")
		if err != nil {
			var ae *Error
			require.True(t, errors.As(err, &ae), "%T %v", err, err)
			require.Equal(t, http.StatusBadRequest, ae.Status)
			require.NotEmpty(t, ae.Field)
			return
		}
		require.True(t, json.Valid(body), "accepted invalid JSON %q", body)
		require.True(t, utf8.Valid(body), "accepted bad UTF-8 %q", body)
		require.Equal(t, -1, event.LoneSurrogate(body), "accepted a lone surrogate %q", body)
		for _, s := range append([]string{v.Name}, v.IDs...) {
			require.True(t, utf8.ValidString(s))
		}
		require.True(t, v.Definition == nil || json.Valid(v.Definition))
	})
}
