package loadgen_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/loadgen"
)

// TestCDPTenant: valid events, the same ones for the same fields, and the
// shape the bench's CDP figures count on (their export segment, channel
// "ad", has 9,999 members of 50,000 contacts: the figure's name says so).
func TestCDPTenant(t *testing.T) {
	end := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)
	c := loadgen.CDPTenant{Tenant: "cdp0001", Contacts: 50_000, End: end}
	require.NoError(t, c.Validate())
	dec := event.NewDecoder(nil)
	var first []byte
	n, ad, contacts := 0, 0, 0
	for e := range c.Events {
		raw := event.AppendJSON(nil, e)
		if n == 0 {
			first = raw
		}
		if _, err := dec.Decode(raw); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if e.Time.After(end.Add(time.Minute)) { // tags follow their addition by seconds
			t.Fatalf("%s: after the end", raw)
		}
		if e.Type == event.ContactAdded {
			contacts++
			if e.Data.State == "ad" {
				ad++
			}
		}
		n++
	}
	require.Equal(t, 50_000, contacts)
	require.Equal(t, 9_999, ad)
	require.Greater(t, n, 300+21*50_000)
	for e := range c.Events {
		require.Equal(t, string(first), string(event.AppendJSON(nil, e)), "the same fields, the same events")
		break
	}
	require.Error(t, loadgen.CDPTenant{Tenant: "x", End: end}.Validate())
}
