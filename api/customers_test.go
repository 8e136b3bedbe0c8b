package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/internal/testenv"
)

// TestCustomerByAnyID: events posted through the API that carry a unionid
// or a phone stitch ids into one customer, whom GET /v1/customers/{id}
// returns merged by any of their ids — within the tenant only, to reps only
// when they hold one of the customer's contacts, and never merged on an
// empty identifier.
func TestCustomerByAnyID(t *testing.T) {
	f := newFixture(t)
	at := time.Now().Add(-30 * time.Minute)
	ev := func(id, tenant, typ, source, subject string, data map[string]any) map[string]any {
		return map[string]any{"specversion": "1.0", "id": id, "source": source, "type": typ,
			"time": at.Format(time.RFC3339), "tenant": tenant, "subject": subject, "data": data}
	}
	f.postOK(t, "acme-admin",
		ev("m1", "acme", "contact.added", "wecom/test", "c3", map[string]any{"staff_id": "s1", "unionid": "o_3", "state": "fair"}),
		ev("m2", "acme", "contact.added", "wecom/test", "c4", map[string]any{"staff_id": "s2", "unionid": "o_3", "gender": 2}),
		ev("m3", "acme", "contact.updated", "miniprogram/shop", "o_3", map[string]any{"staff_id": "s1", "phone": "13800000003"}),
		ev("m4", "acme", "chat.message", "wecom/test", "c4", map[string]any{"staff_id": "s2", "direction": "in"}),
		ev("m5", "acme", "contact.added", "wecom/test", "c5", map[string]any{"staff_id": "s2", "unionid": "o_5"}),
		ev("m6", "acme", "contact.added", "wecom/test", "c6", map[string]any{"staff_id": "s2", "unionid": ""}),
		ev("m7", "acme", "contact.added", "wecom/test", "c7", map[string]any{"staff_id": "s2", "unionid": ""}))
	f.postOK(t, "globex-admin",
		ev("m8", "globex", "contact.added", "wecom/test", "g3", map[string]any{"staff_id": "g1", "unionid": "o_3"}))
	merged := []string{"13800000003", "c3", "c4", "o_3"}
	testenv.Eventually(t, 20*time.Second, func() error {
		pr, err := f.profiles.Get(f.ctx, "acme", "13800000003")
		if err != nil || len(pr.IDs) != 4 || pr.Chat.MessagesIn != 1 || pr.Gender != 2 || pr.LiveRelations != 2 ||
			pr.Acquisition.Channel != "fair" {
			return fmt.Errorf("not merged yet: %+v, %v", pr, err)
		}
		for tenant, id := range map[string]string{"globex": "g3", "acme": "c5"} {
			if _, err := f.profiles.Get(f.ctx, tenant, id); err != nil {
				return err
			}
		}
		if pr, err := f.profiles.Get(f.ctx, "acme", "c6"); err != nil || !pr.HasRelation("s2") {
			return fmt.Errorf("c6 not folded yet: %v", err)
		}
		return nil
	})

	type customer struct {
		ID            string   `json:"id"`
		IDs           []string `json:"ids"`
		Gender        int64    `json:"gender"`
		Phone         string   `json:"phone"`
		LiveRelations int      `json:"live_relations"`
		Engagement    string   `json:"engagement"`
		Acquisition   struct {
			Channel string `json:"channel"`
		} `json:"acquisition"`
		Chat struct {
			In7d uint64 `json:"messages_in_7d"`
		} `json:"chat"`
	}
	tests := []struct {
		name, key, id string
		wantStatus    int
		wantID        string
		wantIDs       []string
	}{
		{name: "by contact id", key: "acme-admin", id: "c3", wantStatus: 200, wantID: "c3", wantIDs: merged},
		{name: "by the other contact id", key: "acme-marketer", id: "c4", wantStatus: 200, wantID: "c3", wantIDs: merged},
		{name: "by unionid", key: "acme-manager", id: "o_3", wantStatus: 200, wantID: "c3", wantIDs: merged},
		{name: "by phone", key: "acme-admin", id: "13800000003", wantStatus: 200, wantID: "c3", wantIDs: merged},
		{name: "rep s1 holds c3", key: "acme-rep-s1", id: "o_3", wantStatus: 200, wantID: "c3", wantIDs: merged},
		{name: "rep s2 holds c4", key: "acme-rep-s2", id: "13800000003", wantStatus: 200, wantID: "c3", wantIDs: merged},
		{name: "rep s1 does not hold c5", key: "acme-rep-s1", id: "o_5", wantStatus: 404},
		{name: "rep s2 holds c5, asked by unionid", key: "acme-rep-s2", id: "o_5", wantStatus: 200, wantID: "c5", wantIDs: []string{"c5", "o_5"}},
		{name: "an empty unionid merges nothing", key: "acme-admin", id: "c6", wantStatus: 200, wantID: "c6", wantIDs: []string{"c6"}},
		{name: "globex's o_3 is globex's customer", key: "globex-admin", id: "o_3", wantStatus: 200, wantID: "g3", wantIDs: []string{"g3", "o_3"}},
		{name: "globex cannot read acme's phone", key: "globex-admin", id: "13800000003", wantStatus: 404},
		{name: "an unknown id", key: "acme-admin", id: "nobody", wantStatus: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := f.do(t, http.MethodGet, "/v1/customers/"+url.PathEscape(tt.id), tt.key, nil)
			require.Equal(t, tt.wantStatus, status, "%s", body)
			if status != http.StatusOK {
				require.Equal(t, "not_found", decodeError(t, body).Code)
				return
			}
			var c customer
			require.NoError(t, json.Unmarshal(body, &c))
			require.Equal(t, tt.wantID, c.ID)
			require.Equal(t, tt.wantIDs, c.IDs)
			if tt.wantID == "c3" {
				require.Equal(t, int64(2), c.Gender)
				require.Equal(t, "13800000003", c.Phone)
				require.Equal(t, 2, c.LiveRelations)
				require.Equal(t, "active_7d", c.Engagement)
				require.Equal(t, "fair", c.Acquisition.Channel)
				require.Equal(t, uint64(1), c.Chat.In7d)
			}
		})
	}
}

// TestCustomerAssignment: asked to include it, the profile says whether the
// customer is in the pool or whose it is, a rep learning the assignee only
// when it is them; a rep may read a customer they claimed without being its
// WeCom friend, asked or not; without include the profile has no
// assignment, and another include is refused naming it.
func TestCustomerAssignment(t *testing.T) {
	f := newFixture(t)
	f.seedPool(t, "acme", "acme-admin", []string{"p1"})
	assignmentOf := func(t *testing.T, key, id string) (int, map[string]any) {
		t.Helper()
		status, body := f.do(t, http.MethodGet, "/v1/customers/"+id+"?include=assignment", key, nil)
		var out map[string]any
		require.NoError(t, json.Unmarshal(body, &out), "%s", body)
		if status != http.StatusOK {
			return status, nil
		}
		require.Equal(t, id, out["contact_id"], "the profile is still there")
		return status, out["assignment"].(map[string]any)
	}
	for _, key := range []string{"acme-admin", "acme-manager", "acme-rep-s1"} {
		status, a := assignmentOf(t, key, "c1")
		require.Equal(t, http.StatusOK, status, key)
		require.Equal(t, map[string]any{"in_pool": false, "assignee": "s1"}, a, key)
	}
	status, a := assignmentOf(t, "acme-admin", "p1")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, map[string]any{"in_pool": true, "assignee": ""}, a)
	status, _ = assignmentOf(t, "acme-rep-s2", "p1")
	require.Equal(t, http.StatusNotFound, status, "a pool customer is not a rep's to read before claiming it")

	require.Equal(t, []string{"p1"}, f.claim(t, "acme-rep-s2", "p1").Claimed)
	f.waitAssignees(t, "acme", map[string]string{"p1": "s2"})
	status, a = assignmentOf(t, "acme-rep-s2", "p1")
	require.Equal(t, http.StatusOK, status, "the assignee reads the customer they claimed")
	require.Equal(t, map[string]any{"in_pool": false, "assignee": "s2"}, a)
	status, body := f.do(t, http.MethodGet, "/v1/customers/p1", "acme-rep-s2", nil)
	require.Equal(t, http.StatusOK, status, "the assignee reads it without asking for the assignment: %s", body)
	require.NotContains(t, string(body), `"assignment"`)
	status, body = f.do(t, http.MethodGet, "/v1/customers/p1?include=relations", "acme-admin", nil)
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "include", decodeError(t, body).Field)
	status, _ = assignmentOf(t, "acme-rep-s1", "p1")
	require.Equal(t, http.StatusNotFound, status)

	// s2 is assigned c1, which s1 still holds as a WeCom friend: s1 reads
	// it, but not whose it now is.
	status, body = f.do(t, http.MethodPost, "/v1/customers/c1/assign", "acme-manager", mustJSON(t, map[string]any{"staff_id": "s2"}))
	require.Equal(t, http.StatusOK, status, "%s", body)
	f.waitAssignees(t, "acme", map[string]string{"c1": "s2"})
	status, a = assignmentOf(t, "acme-rep-s1", "c1")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, map[string]any{"in_pool": false, "assignee": ""}, a, "another rep's: no name")
	status, a = assignmentOf(t, "acme-manager", "c1")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, map[string]any{"in_pool": false, "assignee": "s2"}, a)
}
