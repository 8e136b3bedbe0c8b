package event_test

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/event"
)

// FuzzDecode feeds the decoder outside input. Whatever it gets, it must not
// panic, must refuse with a ValidationError, or must return an event whose
// strings are UTF-8, whose ids pass CheckID, whose raw data is a JSON
// object, and which survives AppendJSON and a second Decode unchanged.
//
//	go test ./event -run XXX -fuzz FuzzDecode -fuzztime 60s
func FuzzDecode(f *testing.F) {
	for _, tc := range catalogue {
		f.Add([]byte(tc.in))
	}
	for _, typ := range append(append(event.Types(), event.Additions()...), event.FollowupAdditions()...) {
		f.Add(typed(typ))
	}
	for _, s := range []string{
		`{"specversion":"1.0","id":"e\"1\\","source":"wecom/x","type":"followup.logged","time":"1970-01-01T07:59:59.999999999+08:00","tenant":"a-1","subject":"c\u00e9\ud83d\ude00","data":{"staff_id":"s\t1","next_at":"2200-12-31T23:59:59-08:00","note":"\u0000\u001f","x":[{"y":-1.5e-7}]}}`,
		`{"specversion":"1.0","id":"e1","source":"wecom/x","type":"contact.added","time":"2026-11-21T09:30:00+08:00","tenant":"acme","subject":"c1","data":{"staff_id":"s1","name":null,"gender":2,"add_way":0,"extra":{"nested":"\\u0041"}}}`,
		`{"specversion":"1.0","id":"e1","source":"s","type":"subscription.changed","time":"2026-11-21T09:30:00Z","tenant":"acme","subject":"acme","data":{"plan":"p","paid":false,"seats":9223372036854775807}}`,
	} {
		f.Add([]byte(s))
	}
	for _, in := range [][]byte{
		[]byte(`not json`),
		[]byte(`[]`),
		[]byte(`{}`),
		[]byte(`{"data":{}}`),
		chat(set("time", "2026-11-21T09:30:00")),
		chat(set("tenant", "Acme")),
		chat(setData("direction", "up")),
		chat(setData("chars", "12")),
		chatRaw(`"extra":01`),
		replace(chat(), `"s1"`, `"s\ud800"`),
		replace(chat(), `"s1"`, "\"s\xff\""),
		typed(event.SubscriptionChanged, set("subject", "other")),
	} {
		f.Add(in)
	}

	f.Fuzz(func(t *testing.T, in []byte) {
		dec := newDecoder()
		ev, err := dec.Decode(in)
		if err != nil {
			ve, ok := event.AsValidation(err)
			require.True(t, ok, "a %T, not a ValidationError: %v", err, err)
			requireReadable(t, ve, in)
			return
		}
		for _, s := range stringsOf(ev) {
			require.True(t, utf8.ValidString(s), "not UTF-8: %q", s)
		}
		require.True(t, utf8.Valid(ev.Data.Raw), "raw data not UTF-8: %q", ev.Data.Raw)
		for _, id := range []string{ev.ID, ev.Subject} {
			require.NoError(t, event.CheckID("id", id))
		}
		if ev.Data.Present.Has(event.FStaffID) {
			require.NoError(t, event.CheckID("data.staff_id", ev.Data.StaffID))
		}
		var data map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(ev.Data.Raw, &data), "raw data is not a JSON object: %q", ev.Data.Raw)
		require.True(t, event.Known(ev.Type))
		require.False(t, ev.Time.After(testNow.Add(event.MaxFutureSkew)))
		requireRoundTrip(t, dec, in)
	})
}
