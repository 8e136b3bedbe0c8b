package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/followup"
	"github.com/siyu-dev/siyu/internal/testenv"
)

type eventWritten struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	ContactID string `json:"contact_id"`
}

// timeline reads one page of a customer's timeline, which must answer 200.
func (f *fixture) timeline(t *testing.T, key, contact, query string) followup.TimelinePage {
	t.Helper()
	status, body := f.do(t, http.MethodGet, "/v1/customers/"+contact+"/timeline"+query, key, nil)
	require.Equal(t, http.StatusOK, status, "%s", body)
	var p followup.TimelinePage
	require.NoError(t, json.Unmarshal(body, &p))
	return p
}

// board reads one page of a board, which must answer 200.
func (f *fixture) board(t *testing.T, key, query string) followup.BoardPage {
	t.Helper()
	status, body := f.do(t, http.MethodGet, "/v1/followups/board"+query, key, nil)
	require.Equal(t, http.StatusOK, status, "%s", body)
	var p followup.BoardPage
	require.NoError(t, json.Unmarshal(body, &p))
	return p
}

// waitBoardEntry polls key's board until contact is on it and ok accepts it.
func (f *fixture) waitBoardEntry(t *testing.T, key, query, contact string, ok func(followup.BoardEntry) error) {
	t.Helper()
	testenv.Eventually(t, 20*time.Second, func() error {
		for _, e := range f.board(t, key, query).Items {
			if e.ContactID == contact {
				return ok(e)
			}
		}
		return fmt.Errorf("%s is not on the board %s yet", contact, query)
	})
}

func chatMessageAt(id, contact, staff, direction string, at time.Time) map[string]any {
	return map[string]any{
		"specversion": "1.0", "id": id, "source": "wecom/test", "type": "chat.message",
		"time": at.Format(time.RFC3339Nano), "tenant": "acme", "subject": contact,
		"data": map[string]any{"staff_id": staff, "direction": direction},
	}
}

func TestFollowups(t *testing.T) {
	f := newFixture(t)
	next := time.Now().Add(72 * time.Hour).Truncate(time.Second)

	t.Run("a logged follow-up shows on the board and the timeline", func(t *testing.T) {
		status, body := f.do(t, http.MethodPost, "/v1/customers/c1/followups", "acme-rep-s1", mustJSON(t, map[string]any{
			"channel": "call", "note": "asked for a quote", "next_at": next.Format(time.RFC3339)}))
		require.Equal(t, http.StatusCreated, status, "%s", body)
		var w eventWritten
		require.NoError(t, json.Unmarshal(body, &w))
		require.NotEmpty(t, w.ID)
		require.Equal(t, "followup.logged", w.Type)

		f.waitBoardEntry(t, "acme-rep-s1", "?view=upcoming", "c1", func(e followup.BoardEntry) error {
			if e.NextFollowupAt == nil || !e.NextFollowupAt.Equal(next) || e.LastFollowupAt == nil {
				return fmt.Errorf("c1 has follow-ups %v / %v, want next %v", e.LastFollowupAt, e.NextFollowupAt, next)
			}
			return nil
		})
		require.Equal(t, acmeC1Name, f.board(t, "acme-rep-s1", "").Items[0].Name)
		require.Empty(t, f.board(t, "acme-rep-s1", "?view=overdue").Items)
		require.Empty(t, f.board(t, "acme-rep-s1", "?view=due_today").Items)
		require.Len(t, f.board(t, "acme-manager", "?staff_id=s1&view=recent").Items, 1)

		p := f.timeline(t, "acme-rep-s1", "c1", "")
		require.Len(t, p.Items, 2)
		require.Equal(t, "followup.logged", p.Items[0].Type)
		require.Equal(t, "s1", p.Items[0].StaffID)
		require.True(t, strings.HasPrefix(p.Items[0].Summary, "s1 logged a call follow-up: asked for a quote, next at "), p.Items[0].Summary)
		require.JSONEq(t, `"asked for a quote"`, mustRaw(t, p.Items[0].Data, "note"))
		require.Equal(t, "contact.added", p.Items[1].Type)
		require.Empty(t, p.NextCursor)
	})

	t.Run("stage change", func(t *testing.T) {
		status, body := f.do(t, http.MethodPut, "/v1/customers/c1/stage", "acme-manager", mustJSON(t, map[string]any{"stage": "qualified"}))
		require.Equal(t, http.StatusBadRequest, status, "%s", body)
		require.Equal(t, "staff_id", decodeError(t, body).Field, "a key without a staff id names one")

		status, body = f.do(t, http.MethodPut, "/v1/customers/c1/stage", "acme-manager", mustJSON(t, map[string]any{"stage": "qualified", "staff_id": "s1"}))
		require.Equal(t, http.StatusCreated, status, "%s", body)
		f.waitBoardEntry(t, "acme-admin", "?staff_id=s1", "c1", func(e followup.BoardEntry) error {
			if e.Stage != "qualified" {
				return fmt.Errorf("c1 is at stage %q", e.Stage)
			}
			return nil
		})
		staged := f.board(t, "acme-admin", "?staff_id=s1&stage=qualified").Items
		require.Len(t, staged, 1, "the stage filter keeps c1")
		require.Equal(t, "c1", staged[0].ContactID)
		require.Empty(t, f.board(t, "acme-admin", "?staff_id=s1&stage=won").Items, "nobody is at won")
		require.Empty(t, f.board(t, "acme-admin", "?staff_id=s1&stage=won&view=upcoming").Items, "windows filter too")
		p := f.timeline(t, "acme-admin", "c1", "?limit=1")
		require.Equal(t, "s1 moved the customer to stage qualified", p.Items[0].Summary)
		require.NotEmpty(t, p.NextCursor)
	})

	t.Run("refusals name the field", func(t *testing.T) {
		tests := []struct {
			name, method, path, key, body, field string
			status                               int
		}{
			{"bad channel", "POST", "/v1/customers/c1/followups", "acme-rep-s1", `{"channel":"email"}`, "channel", 400},
			{"no channel", "POST", "/v1/customers/c1/followups", "acme-rep-s1", `{"note":"x"}`, "channel", 400},
			{"bad next_at", "POST", "/v1/customers/c1/followups", "acme-rep-s1", `{"channel":"call","next_at":"tomorrow"}`, "next_at", 400},
			{"next_at without offset", "POST", "/v1/customers/c1/followups", "acme-rep-s1", `{"channel":"call","next_at":"2026-01-02T10:00:00"}`, "next_at", 400},
			{"unknown stage", "PUT", "/v1/customers/c1/stage", "acme-rep-s1", `{"stage":"closed"}`, "stage", 400},
			{"no stage", "PUT", "/v1/customers/c1/stage", "acme-rep-s1", `{}`, "stage", 400},
			{"admin without staff", "POST", "/v1/customers/c1/followups", "acme-admin", `{"channel":"call"}`, "staff_id", 400},
			{"rep writing as another", "POST", "/v1/customers/c1/followups", "acme-rep-s1", `{"channel":"call","staff_id":"s2"}`, "", 403},
			{"bad board view", "GET", "/v1/followups/board?view=soon", "acme-rep-s1", ``, "view", 400},
			{"bad board stage", "GET", "/v1/followups/board?stage=closed", "acme-rep-s1", ``, "stage", 400},
			{"bad board cursor", "GET", "/v1/followups/board?cursor=xyz", "acme-rep-s1", ``, "cursor", 400},
			{"bad timeline limit", "GET", "/v1/customers/c1/timeline?limit=0", "acme-rep-s1", ``, "limit", 400},
			{"bad timeline cursor", "GET", "/v1/customers/c1/timeline?cursor=%21", "acme-rep-s1", ``, "cursor", 400},
			{"manager board without staff", "GET", "/v1/followups/board", "acme-manager", ``, "staff_id", 400},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var body []byte
				if tt.body != "" {
					body = []byte(tt.body)
				}
				status, out := f.do(t, tt.method, tt.path, tt.key, body)
				require.Equal(t, tt.status, status, "%s", out)
				require.Equal(t, tt.field, decodeError(t, out).Field)
			})
		}
	})

	t.Run("walls", func(t *testing.T) {
		tests := []struct {
			name, method, path, key, body string
			status                        int
		}{
			{"rep logs on another rep's customer", "POST", "/v1/customers/c2/followups", "acme-rep-s1", `{"channel":"call"}`, 404},
			{"rep stages another rep's customer", "PUT", "/v1/customers/c2/stage", "acme-rep-s1", `{"stage":"won"}`, 404},
			{"rep reads another rep's timeline", "GET", "/v1/customers/c2/timeline", "acme-rep-s1", ``, 404},
			{"rep reads another rep's board", "GET", "/v1/followups/board?staff_id=s2", "acme-rep-s1", ``, 403},
			{"marketer may not log", "POST", "/v1/customers/c1/followups", "acme-marketer", `{"channel":"call","staff_id":"s1"}`, 403},
			{"exec may not read boards", "GET", "/v1/followups/board?staff_id=s1", "acme-exec", ``, 403},
			{"globex cannot read acme's c2", "GET", "/v1/customers/c2/timeline", "globex-admin", ``, 404},
			{"globex cannot log on acme's c2", "POST", "/v1/customers/c2/followups", "globex-admin", `{"channel":"call","staff_id":"g1"}`, 404},
			{"acme naming globex", "GET", "/v1/followups/board?staff_id=g1&tenant=globex", "acme-admin", ``, 403},
			{"no key", "GET", "/v1/followups/board", "", ``, 401},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var body []byte
				if tt.body != "" {
					body = []byte(tt.body)
				}
				status, out := f.do(t, tt.method, tt.path, tt.key, body)
				require.Equal(t, tt.status, status, "%s", out)
			})
		}
		// Same contact id, other tenant: globex sees its own c1, without acme's follow-up.
		p := f.timeline(t, "globex-admin", "c1", "")
		require.Len(t, p.Items, 1)
		require.Equal(t, "contact.added", p.Items[0].Type)
		require.Empty(t, f.board(t, "globex-admin", "?staff_id=s1").Items)
	})

	t.Run("timeline pages hold every event once, newest first", func(t *testing.T) {
		base := time.Now().Add(-30 * time.Minute)
		evs := []map[string]any{contactAdded("page-add", "acme", "c3", "s1", "Acme Cleo", base)}
		for i := range 9 {
			at := base.Add(time.Duration(i/2+1) * time.Second) // pairs share a time: ties break on (source, id)
			evs = append(evs, chatMessageAt(fmt.Sprintf("page-msg-%d", i), "c3", "s1", []string{"in", "out"}[i%2], at))
		}
		f.postOK(t, "acme-admin", evs...)
		f.postOK(t, "acme-admin", evs[2:6]...) // redelivered: stored twice until merged
		want := len(evs)
		f.waitProfile(t, "acme", "c3", "Acme Cleo", "s1")
		testenv.Eventually(t, 20*time.Second, func() error {
			if n := len(f.timeline(t, "acme-rep-s1", "c3", "?limit=200").Items); n != want {
				return fmt.Errorf("timeline has %d events, want %d", n, want)
			}
			return nil
		})
		var raw uint64
		require.NoError(t, f.conn.QueryRow(f.ctx, "SELECT count() FROM events WHERE tenant = 'acme' AND subject = 'c3'").Scan(&raw))
		t.Logf("c3: %d stored rows for %d events", raw, want)
		var seen []followup.Item
		cursor := ""
		for range want + 1 {
			p := f.timeline(t, "acme-rep-s1", "c3", "?limit=4&cursor="+url.QueryEscape(cursor))
			require.LessOrEqual(t, len(p.Items), 4)
			seen = append(seen, p.Items...)
			if cursor = p.NextCursor; cursor == "" {
				break
			}
		}
		require.Len(t, seen, want)
		var wantIDs, gotIDs []string
		for _, ev := range evs {
			wantIDs = append(wantIDs, ev["id"].(string))
		}
		for i, it := range seen {
			gotIDs = append(gotIDs, it.ID)
			require.Equal(t, "wecom/test", it.Source)
			if i > 0 {
				require.False(t, it.At.After(seen[i-1].At), "newest first")
			}
		}
		require.ElementsMatch(t, wantIDs, gotIDs, "every event exactly once")
		require.Equal(t, "contact.added", seen[want-1].Type)
		full := f.timeline(t, "acme-rep-s1", "c3", "?limit=200").Items
		require.Equal(t, full, seen, "pages concatenate to the whole timeline")

		// The board pages too: s1 holds c1 and c3.
		first := f.board(t, "acme-rep-s1", "?limit=1")
		require.Len(t, first.Items, 1)
		require.NotEmpty(t, first.NextCursor)
		second := f.board(t, "acme-rep-s1", "?limit=1&cursor="+url.QueryEscape(first.NextCursor))
		require.Len(t, second.Items, 1)
		require.Empty(t, second.NextCursor)
		require.ElementsMatch(t, []string{"c1", "c3"}, []string{first.Items[0].ContactID, second.Items[0].ContactID})
		require.Equal(t, "c1", first.Items[0].ContactID, "scheduled follow-ups come first")
	})
}

// mustRaw returns the JSON of field in the object raw.
func mustRaw(t *testing.T, raw json.RawMessage, field string) string {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &m))
	return string(m[field])
}
