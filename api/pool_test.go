package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/api"
	"github.com/siyu-dev/siyu/auth"
	"github.com/siyu-dev/siyu/followup"
	"github.com/siyu-dev/siyu/ingest"
	"github.com/siyu-dev/siyu/internal/testenv"
	"github.com/siyu-dev/siyu/publish"
	siyusql "github.com/siyu-dev/siyu/sql"
)

type claimResult struct {
	StaffID string             `json:"staff_id"`
	Claimed []string           `json:"claimed"`
	Refused []followup.Refusal `json:"refused"`
}

type transferResult struct {
	Transferred []string           `json:"transferred"`
	Refused     []followup.Refusal `json:"refused"`
}

// addKey creates a key for the test and names it.
func (f *fixture) addKey(t *testing.T, name string, r auth.NewKeyRequest) {
	t.Helper()
	r.Name = name
	secret, err := f.deps.Keys.Create(f.ctx, r)
	require.NoError(t, err)
	f.keys[name] = secret
}

// send is do for use from many goroutines: it returns errors instead of
// failing the test.
func (f *fixture) send(method, path, key string, body any) (int, []byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, nil, err
	}
	req := httptest.NewRequest(method, path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+f.keys[key])
	req.Header.Set("Content-Type", "application/json")
	resp, err := f.srv.App().Test(req, -1)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

func (f *fixture) claim(t *testing.T, key string, ids ...string) claimResult {
	t.Helper()
	status, body := f.do(t, http.MethodPost, "/v1/pool/claim", key, mustJSON(t, map[string]any{"customer_ids": ids}))
	require.Equal(t, http.StatusOK, status, "%s", body)
	var r claimResult
	require.NoError(t, json.Unmarshal(body, &r))
	return r
}

func refusedRules(rs []followup.Refusal) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.ContactID+":"+r.Rule)
	}
	return out
}

// poolIDs reads the whole pool through the API, page by page.
func (f *fixture) poolIDs(t *testing.T, key string) []string {
	t.Helper()
	var ids []string
	cursor := ""
	for {
		status, body := f.do(t, http.MethodGet, "/v1/pool?limit=7&cursor="+url.QueryEscape(cursor), key, nil)
		require.Equal(t, http.StatusOK, status, "%s", body)
		var p followup.PoolPage
		require.NoError(t, json.Unmarshal(body, &p))
		for _, e := range p.Items {
			ids = append(ids, e.ContactID)
		}
		if cursor = p.NextCursor; cursor == "" {
			return ids
		}
	}
}

// assignees reads every customer's assignee of tenant from ClickHouse.
func (f *fixture) assignees(t *testing.T, tenant string) map[string]string {
	t.Helper()
	rows, err := f.conn.Query(f.ctx, siyusql.Query("assignee_tenant"), clickhouse.Named("tenant", tenant), clickhouse.Named("contact_id", ""))
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var c, first, lastTo, lastID, lastSrc string
		var firstNs, lastNs, fu int64
		require.NoError(t, rows.Scan(&c, &first, &firstNs, &lastTo, &lastNs, &lastID, &lastSrc, &fu))
		out[c] = first
		if lastID != "" {
			out[c] = lastTo
		}
	}
	require.NoError(t, rows.Err())
	return out
}

// waitAssignees polls until ClickHouse agrees with want on its customers.
func (f *fixture) waitAssignees(t *testing.T, tenant string, want map[string]string) {
	t.Helper()
	testenv.Eventually(t, 30*time.Second, func() error {
		got := f.assignees(t, tenant)
		for c, s := range want {
			if a, ok := got[c]; !ok || a != s {
				return fmt.Errorf("%s/%s is assigned to %q in ClickHouse, want %q", tenant, c, got[c], s)
			}
		}
		return nil
	})
}

// seedPool adds customers (first added by "seed") and releases them to the
// pool with raw events, as an integration would.
func (f *fixture) seedPool(t *testing.T, tenant, key string, ids []string) {
	t.Helper()
	at := time.Now().Add(-time.Hour)
	var evs []map[string]any
	for _, id := range ids {
		evs = append(evs, contactAdded("add-"+id, tenant, id, "seed", "Customer "+id, at),
			map[string]any{"specversion": "1.0", "id": "rel-" + id, "source": "crm/import", "type": "assignee.changed",
				"time": at.Add(time.Minute).Format(time.RFC3339), "tenant": tenant, "subject": id,
				"data": map[string]any{"reason": "release", "from_staff_id": "seed"}})
	}
	for len(evs) > 0 {
		n := min(len(evs), 400)
		f.postOK(t, key, evs[:n]...)
		evs = evs[n:]
	}
	want := map[string]string{}
	for _, id := range ids {
		want[id] = ""
	}
	f.waitAssignees(t, tenant, want)
}

func TestPool(t *testing.T) {
	f := newFixture(t)
	f.seedPool(t, "acme", "acme-admin", []string{"p1", "p2", "p3", "p4"})

	t.Run("rules: admins set, everyone reads, bad values name the field", func(t *testing.T) {
		status, body := f.do(t, http.MethodPut, "/v1/pool/rules", "acme-manager", mustJSON(t, map[string]any{"max_hold": 3}))
		require.Equal(t, http.StatusForbidden, status, "%s", body)
		status, body = f.do(t, http.MethodPut, "/v1/pool/rules", "acme-admin", []byte(`{"max_hold":-1}`))
		require.Equal(t, http.StatusBadRequest, status, "%s", body)
		require.Equal(t, "max_hold", decodeError(t, body).Field)
		status, body = f.do(t, http.MethodPut, "/v1/pool/rules", "acme-admin", []byte(`{"recycle_days":"x"}`))
		require.Equal(t, http.StatusBadRequest, status, "%s", body)
		require.Equal(t, "recycle_days", decodeError(t, body).Field)
		status, body = f.do(t, http.MethodPut, "/v1/pool/rules", "acme-admin", []byte(`{"max_hold":4,"max_claims_per_day":2,"cooldown_days":1}`))
		require.Equal(t, http.StatusOK, status, "%s", body)
		status, body = f.do(t, http.MethodGet, "/v1/pool/rules", "acme-rep-s1", nil)
		require.Equal(t, http.StatusOK, status, "%s", body)
		require.JSONEq(t, `{"max_hold":4,"max_claims_per_day":2,"recycle_days":0,"cooldown_days":1}`, string(body))
		status, body = f.do(t, http.MethodGet, "/v1/pool/rules", "globex-admin", nil)
		require.Equal(t, http.StatusOK, status, "%s", body)
		require.JSONEq(t, `{"max_hold":0,"max_claims_per_day":0,"recycle_days":0,"cooldown_days":0}`, string(body), "rules are per tenant")
	})

	t.Run("the pool lists customers without an assignee", func(t *testing.T) {
		require.Equal(t, []string{"p1", "p2", "p3", "p4"}, f.poolIDs(t, "acme-rep-s1"))
		require.Empty(t, f.poolIDs(t, "globex-admin"))
	})

	t.Run("claims: each refusal names its rule", func(t *testing.T) {
		// s1 holds c1 (first added it): max_hold 4 leaves room for 3, 2 a day.
		r := f.claim(t, "acme-rep-s1", "p1", "c2", "nope", "p1")
		require.Equal(t, "s1", r.StaffID)
		require.Equal(t, []string{"p1"}, r.Claimed)
		require.Equal(t, []string{"c2:not_in_pool", "nope:unknown_customer"}, refusedRules(r.Refused))
		r = f.claim(t, "acme-rep-s1", "p2", "p3")
		require.Equal(t, []string{"p2"}, r.Claimed)
		require.Equal(t, []string{"p3:max_claims_per_day"}, refusedRules(r.Refused))
		require.NotEmpty(t, r.Refused[0].Reason)
		r = f.claim(t, "acme-rep-s2", "p1", "p3", "p4")
		require.Equal(t, []string{"p3", "p4"}, r.Claimed)
		require.Equal(t, []string{"p1:not_in_pool"}, refusedRules(r.Refused))
		f.waitAssignees(t, "acme", map[string]string{"p1": "s1", "p2": "s1", "p3": "s2", "p4": "s2", "c1": "s1", "c2": "s2"})
		require.Empty(t, f.poolIDs(t, "acme-admin"))
		// A claimed customer is the rep's to follow up, friend or not.
		status, body := f.do(t, http.MethodPost, "/v1/customers/p4/followups", "acme-rep-s2", mustJSON(t, map[string]any{"channel": "call"}))
		require.Equal(t, http.StatusCreated, status, "%s", body)
		status, body = f.do(t, http.MethodPost, "/v1/customers/p4/followups", "acme-rep-s1", mustJSON(t, map[string]any{"channel": "call"}))
		require.Equal(t, http.StatusNotFound, status, "%s", body)
		// The board follows the assignee, not the friend relation.
		f.waitBoardEntry(t, "acme-rep-s1", "", "p2", func(followup.BoardEntry) error { return nil })
		ids := []string{}
		for _, e := range f.board(t, "acme-rep-s1", "").Items {
			ids = append(ids, e.ContactID)
		}
		require.ElementsMatch(t, []string{"c1", "p1", "p2"}, ids)
	})

	t.Run("release: own customers for reps, cool-down before claiming again", func(t *testing.T) {
		status, body := f.do(t, http.MethodPost, "/v1/customers/p3/release", "acme-rep-s1", mustJSON(t, map[string]any{"reason": "x"}))
		require.Equal(t, http.StatusForbidden, status, "%s", body)
		status, body = f.do(t, http.MethodPost, "/v1/customers/p3/release", "acme-rep-s2", mustJSON(t, map[string]any{"reason": "not interested"}))
		require.Equal(t, http.StatusOK, status, "%s", body)
		status, body = f.do(t, http.MethodPost, "/v1/customers/p3/release", "acme-rep-s2", nil)
		require.Equal(t, http.StatusConflict, status, "%s", body)
		r := f.claim(t, "acme-rep-s2", "p3")
		require.Equal(t, []string{"p3:cooldown"}, refusedRules(r.Refused))
		r = f.claim(t, "acme-rep-s1", "p3")
		require.Equal(t, []string{"p3:max_claims_per_day"}, refusedRules(r.Refused), "s1 claimed 2 today")
		f.waitAssignees(t, "acme", map[string]string{"p3": ""})
		p := f.timeline(t, "acme-admin", "p3", "?limit=1")
		require.Equal(t, "assignee.changed", p.Items[0].Type)
		require.JSONEq(t, `"not interested"`, mustRaw(t, p.Items[0].Data, "note"))
		require.JSONEq(t, `"release"`, mustRaw(t, p.Items[0].Data, "reason"))
	})

	t.Run("assign: managers only, not bound by the claim rules", func(t *testing.T) {
		status, body := f.do(t, http.MethodPost, "/v1/customers/p3/assign", "acme-rep-s1", mustJSON(t, map[string]any{"staff_id": "s1"}))
		require.Equal(t, http.StatusForbidden, status, "%s", body)
		status, body = f.do(t, http.MethodPost, "/v1/customers/p3/assign", "acme-manager", mustJSON(t, map[string]any{"staff_id": "s1"}))
		require.Equal(t, http.StatusOK, status, "%s", body)
		status, body = f.do(t, http.MethodPost, "/v1/customers/p3/assign", "acme-manager", mustJSON(t, map[string]any{"staff_id": "s1"}))
		require.Equal(t, http.StatusConflict, status, "%s", body)
		status, body = f.do(t, http.MethodPost, "/v1/customers/p3/assign", "acme-manager", []byte(`{}`))
		require.Equal(t, http.StatusBadRequest, status, "%s", body)
		require.Equal(t, "staff_id", decodeError(t, body).Field)
		status, body = f.do(t, http.MethodPost, "/v1/customers/c1/assign", "globex-admin", mustJSON(t, map[string]any{"staff_id": "g2"}))
		require.Equal(t, http.StatusOK, status, "globex's own c1: %s", body)
		status, body = f.do(t, http.MethodPost, "/v1/customers/p1/assign", "globex-admin", mustJSON(t, map[string]any{"staff_id": "g1"}))
		require.Equal(t, http.StatusNotFound, status, "acme's p1 is not globex's: %s", body)
		r := f.claim(t, "acme-rep-s2", "c1")
		require.Equal(t, []string{"c1:not_in_pool"}, refusedRules(r.Refused))
	})

	t.Run("transfer: at most 2 per customer in 90 days", func(t *testing.T) {
		do := func(from, to string, ids ...string) transferResult {
			status, body := f.do(t, http.MethodPost, "/v1/customers/transfer", "acme-manager",
				mustJSON(t, map[string]any{"from": from, "to": to, "customer_ids": ids}))
			require.Equal(t, http.StatusOK, status, "%s", body)
			var r transferResult
			require.NoError(t, json.Unmarshal(body, &r))
			return r
		}
		require.Equal(t, []string{"p1"}, do("s1", "s2", "p1").Transferred)
		r := do("s2", "s1", "p1", "p2")
		require.Equal(t, []string{"p1"}, r.Transferred)
		require.Equal(t, []string{"p2:not_assigned_to_from"}, refusedRules(r.Refused))
		r = do("s1", "s2", "p1")
		require.Empty(t, r.Transferred)
		require.Equal(t, []string{"p1:max_transfers_90d"}, refusedRules(r.Refused))
		status, body := f.do(t, http.MethodPost, "/v1/customers/transfer", "acme-rep-s1", mustJSON(t, map[string]any{"from": "s1", "to": "s2", "customer_ids": []string{"p2"}}))
		require.Equal(t, http.StatusForbidden, status, "%s", body)
		status, body = f.do(t, http.MethodPost, "/v1/customers/transfer", "acme-manager", mustJSON(t, map[string]any{"from": "s1", "to": "s1", "customer_ids": []string{"p2"}}))
		require.Equal(t, http.StatusBadRequest, status, "%s", body)
		require.Equal(t, "to", decodeError(t, body).Field)
	})

	t.Run("departure hands the book over to the successor or the pool", func(t *testing.T) {
		status, body := f.do(t, http.MethodPost, "/v1/staff/s1/depart", "acme-rep-s2", mustJSON(t, map[string]any{"successor": "s2"}))
		require.Equal(t, http.StatusForbidden, status, "%s", body)
		// The preview: managers only, the same customers, nothing written.
		status, body = f.do(t, http.MethodGet, "/v1/staff/s1/handover-preview?successor=s3", "acme-rep-s2", nil)
		require.Equal(t, http.StatusForbidden, status, "%s", body)
		status, body = f.do(t, http.MethodGet, "/v1/staff/s1/handover-preview?successor=s1", "acme-manager", nil)
		require.Equal(t, http.StatusBadRequest, status, "%s", body)
		require.Equal(t, "successor", decodeError(t, body).Field)
		for range 2 {
			status, body = f.do(t, http.MethodGet, "/v1/staff/s1/handover-preview?successor=s3", "acme-manager", nil)
			require.Equal(t, http.StatusOK, status, "%s", body)
			require.JSONEq(t, `{"staff_id":"s1","successor":"s3","moves":["c1","p1","p2","p3"]}`, string(body))
		}
		status, body = f.do(t, http.MethodGet, "/v1/staff/nobody/handover-preview", "acme-manager", nil)
		require.Equal(t, http.StatusOK, status, "%s", body)
		require.JSONEq(t, `{"staff_id":"nobody","successor":"","moves":[]}`, string(body))
		status, body = f.do(t, http.MethodGet, "/v1/staff/s1/handover-preview", "globex-admin", nil)
		require.Equal(t, http.StatusOK, status, "%s", body)
		require.JSONEq(t, `{"staff_id":"s1","successor":"","moves":[]}`, string(body), "acme's s1 holds nothing in globex")
		status, body = f.do(t, http.MethodPost, "/v1/staff/s1/depart", "acme-manager", mustJSON(t, map[string]any{"successor": "s3"}))
		require.Equal(t, http.StatusCreated, status, "%s", body)
		var r struct{ Moved []string }
		require.NoError(t, json.Unmarshal(body, &r))
		require.ElementsMatch(t, []string{"c1", "p1", "p2", "p3"}, r.Moved, "the preview wrote nothing: the hand-over moves the same")
		status, body = f.do(t, http.MethodGet, "/v1/staff/s1/handover-preview?successor=s3", "acme-manager", nil)
		require.Equal(t, http.StatusOK, status, "%s", body)
		require.JSONEq(t, `{"staff_id":"s1","successor":"s3","moves":[]}`, string(body), "after the hand-over s1 holds nothing")
		status, body = f.do(t, http.MethodPost, "/v1/staff/s2/depart", "acme-admin", nil)
		require.Equal(t, http.StatusCreated, status, "%s", body)
		f.waitAssignees(t, "acme", map[string]string{"c1": "s3", "p1": "s3", "p2": "s3", "p3": "s3", "c2": "", "p4": ""})
		require.Equal(t, []string{"c2", "p4"}, f.poolIDs(t, "acme-manager"))
		require.Empty(t, f.board(t, "acme-rep-s1", "").Items)
	})
}

// TestPoolSweep: a staff.departed that did not come through the API (from
// WeCom) and idle customers are handled by the sweep, once.
func TestPoolSweep(t *testing.T) {
	f := newFixture(t)
	old := time.Now().Add(-20 * 24 * time.Hour)
	f.postOK(t, "acme-admin",
		contactAdded("old-o1", "acme", "o1", "s5", "Old One", old),
		contactAdded("old-o2", "acme", "o2", "s5", "Old Two", old),
		map[string]any{"specversion": "1.0", "id": "dep-s2", "source": "wecom/test", "type": "staff.departed",
			"time": time.Now().Add(-time.Minute).Format(time.RFC3339), "tenant": "acme", "subject": "s2",
			"data": map[string]any{"successor_staff_id": "s4"}})
	f.waitAssignees(t, "acme", map[string]string{"o1": "s5", "o2": "s5", "c2": "s2"})
	f.waitProfile(t, "acme", "o2", "Old Two", "s5")
	status, body := f.do(t, http.MethodPost, "/v1/customers/o2/followups", "acme-admin", mustJSON(t, map[string]any{"channel": "call", "staff_id": "s5"}))
	require.Equal(t, http.StatusCreated, status, "%s", body)
	status, body = f.do(t, http.MethodPut, "/v1/pool/rules", "acme-admin", []byte(`{"recycle_days":15}`))
	require.Equal(t, http.StatusOK, status, "%s", body)
	testenv.Eventually(t, 30*time.Second, func() error {
		var n uint64
		err := f.conn.QueryRow(f.ctx, "SELECT count() FROM events WHERE tenant = 'acme' AND type = 'pool.rules_set'").Scan(&n)
		if err == nil && n < 1 {
			err = fmt.Errorf("the rules are not stored yet")
		}
		var fu int64
		if err == nil {
			err = f.conn.QueryRow(f.ctx, "SELECT maxIf(key_ns, kind = 3) FROM contact_facts WHERE tenant = 'acme' AND contact_id = 'o2'").Scan(&fu)
		}
		if err == nil && fu == 0 {
			err = fmt.Errorf("o2's follow-up is not folded yet")
		}
		return err
	})
	for range 2 {
		require.NoError(t, f.deps.Pool.Sweep(f.ctx))
	}
	f.waitAssignees(t, "acme", map[string]string{"o1": "", "o2": "s5", "c2": "s4"})
	var n uint64
	require.NoError(t, f.conn.QueryRow(f.ctx, "SELECT uniqExact(source, id) FROM events WHERE tenant = 'acme' AND type = 'assignee.changed'").Scan(&n))
	require.Equal(t, uint64(2), n, "one recycle (o1) and one hand-over (c2), however often the sweep runs")
}

// TestConcurrentClaims: 1,000 concurrent claims from 50 reps over 200
// customers end with every invariant held, in the answers and in the state
// ClickHouse folds from the events.
func TestConcurrentClaims(t *testing.T) {
	const (
		reps      = 50
		customers = 200
		claims    = 1000
		maxHold   = 5
		maxPerDay = 3
	)
	f := newFixture(t)
	f.addKey(t, "rush-admin", auth.NewKeyRequest{Tenant: "rush", Role: auth.RoleAdmin})
	f.addKey(t, "rush-manager", auth.NewKeyRequest{Tenant: "rush", Role: auth.RoleManager})
	for i := range reps {
		f.addKey(t, fmt.Sprintf("rush-r%02d", i), auth.NewKeyRequest{Tenant: "rush", Role: auth.RoleRep, StaffID: fmt.Sprintf("r%02d", i)})
	}
	var ids []string
	for i := range customers + 30 {
		ids = append(ids, fmt.Sprintf("k%03d", i))
	}
	f.seedPool(t, "rush", "rush-admin", ids)
	status, body := f.do(t, http.MethodPut, "/v1/pool/rules", "rush-admin", mustJSON(t, followup.Rules{MaxHold: maxHold, MaxClaimsPerDay: maxPerDay}))
	require.Equal(t, http.StatusOK, status, "%s", body)
	// Reps r00–r09 already hold 3 customers each (assigned, not claimed):
	// for them max_hold binds before max_claims_per_day.
	held := map[string]int{}
	for i := range 30 {
		staff := fmt.Sprintf("r%02d", i/3)
		status, body := f.do(t, http.MethodPost, "/v1/customers/"+ids[customers+i]+"/assign", "rush-manager", mustJSON(t, map[string]any{"staff_id": staff}))
		require.Equal(t, http.StatusOK, status, "%s", body)
		held[staff]++
	}

	type answer struct {
		staff string
		res   claimResult
		err   error
	}
	answers := make(chan answer, claims)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range claims {
		wg.Add(1)
		go func() {
			defer wg.Done()
			staff := fmt.Sprintf("r%02d", i%reps)
			want := []string{ids[(i*7)%customers], ids[(i*13+5)%customers]}
			<-start
			status, body, err := f.send(http.MethodPost, "/v1/pool/claim", "rush-"+staff, map[string]any{"customer_ids": want})
			a := answer{staff: staff, err: err}
			if err == nil && status != http.StatusOK {
				a.err = fmt.Errorf("status %d: %s", status, body)
			}
			if a.err == nil {
				a.err = json.Unmarshal(body, &a.res)
			}
			answers <- a
		}()
	}
	began := time.Now()
	close(start)
	wg.Wait()
	close(answers)
	t.Logf("%d concurrent claim requests answered in %v", claims, time.Since(began))

	owner := map[string]string{}
	perRep := map[string]int{}
	refusedBy := map[string]int{}
	for a := range answers {
		require.NoError(t, a.err)
		require.Equal(t, a.staff, a.res.StaffID)
		for _, c := range a.res.Claimed {
			require.Empty(t, owner[c], "%s claimed by %s and %s", c, owner[c], a.staff)
			owner[c] = a.staff
			perRep[a.staff]++
		}
		for _, r := range a.res.Refused {
			require.Contains(t, []string{"not_in_pool", "max_hold", "max_claims_per_day"}, r.Rule)
			refusedBy[r.Rule]++
		}
	}
	for staff, n := range perRep {
		require.LessOrEqual(t, n, maxPerDay, "%s over claims per day", staff)
		require.LessOrEqual(t, held[staff]+n, maxHold, "%s over max hold", staff)
	}
	t.Logf("%d customers claimed; refusals: %v", len(owner), refusedBy)
	require.Positive(t, refusedBy["max_hold"])
	require.Positive(t, refusedBy["max_claims_per_day"])
	require.Positive(t, refusedBy["not_in_pool"])

	// Every accepted claim is what ClickHouse folds, and the folded state
	// keeps the invariants too.
	f.waitAssignees(t, "rush", owner)
	state := f.assignees(t, "rush")
	holds := map[string]int{}
	for c, s := range state {
		if s != "" {
			holds[s]++
		}
		if o := owner[c]; o != "" {
			require.Equal(t, o, s, c)
		}
	}
	for staff, n := range holds {
		require.LessOrEqual(t, n, maxHold, "%s holds too many in ClickHouse", staff)
	}
	require.Len(t, f.poolIDs(t, "rush-admin"), customers-len(owner))
}

// TestPoolBadRequestsFailOnlyThemselves: departures of a staff id that is
// not valid UTF-8 (which no event may carry), sent while other reps claim
// in the same tenant, are refused on their own (400 naming the field);
// every claim decided with them succeeds.
func TestPoolBadRequestsFailOnlyThemselves(t *testing.T) {
	const reps, bad = 40, 40
	f := newFixture(t)
	var ids []string
	for i := range reps * 6 {
		ids = append(ids, fmt.Sprintf("q%03d", i))
	}
	for i := range reps {
		f.addKey(t, fmt.Sprintf("acme-q%02d", i), auth.NewKeyRequest{Tenant: "acme", Role: auth.RoleRep, StaffID: fmt.Sprintf("q%02d", i)})
	}
	f.seedPool(t, "acme", "acme-admin", ids)

	type answer struct {
		claim  bool
		id     string
		status int
		body   []byte
		err    error
	}
	answers := make(chan answer, len(ids)+bad)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			status, body, err := f.send(http.MethodPost, "/v1/pool/claim", fmt.Sprintf("acme-q%02d", i%reps), map[string]any{"customer_ids": []string{id}})
			answers <- answer{claim: true, id: id, status: status, body: body, err: err}
		}()
	}
	for range bad {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			status, body, err := f.send(http.MethodPost, "/v1/staff/%ff/depart", "acme-manager", map[string]any{})
			answers <- answer{status: status, body: body, err: err}
		}()
	}
	close(start)
	wg.Wait()
	close(answers)
	claimed, refusedBad := 0, 0
	for a := range answers {
		require.NoError(t, a.err)
		if !a.claim {
			require.Equal(t, http.StatusBadRequest, a.status, "%s", a.body)
			require.Equal(t, "id", decodeError(t, a.body).Field, "%s", a.body)
			refusedBad++
			continue
		}
		require.Equal(t, http.StatusOK, a.status, "a claim of %s failed with a bad request: %s", a.id, a.body)
		var r claimResult
		require.NoError(t, json.Unmarshal(a.body, &r))
		require.Equal(t, []string{a.id}, r.Claimed)
		claimed++
	}
	require.Equal(t, len(ids), claimed)
	require.Equal(t, bad, refusedBad)
}

// TestPoolNotDecider: of two API processes whose pools share an election,
// the standby answers pool writes 503 not_decider (pool reads work), the
// decider decides them.
func TestPoolNotDecider(t *testing.T) {
	f := newFixture(t)
	f.seedPool(t, "acme", "acme-admin", []string{"p1"})
	prod := f.deps.Producer
	servers := map[string]*api.Server{}
	pools := make([]*followup.Pool, 2)
	for i := range pools {
		cfg := followup.DefaultElectionConfig(f.topics)
		cfg.Heartbeat = 200 * time.Millisecond
		e := followup.NewElection(prod, cfg, testenv.Logger())
		pools[i] = followup.NewPool(f.conn, publish.New(prod, f.topics.Events, 0), followup.DefaultPoolConfig(), testenv.Logger(),
			followup.FreshFrom(followup.NewKafkaOffsets(prod, ingest.DefaultConfig().Group, f.topics.Events), nil), followup.ElectedBy(e))
		ctx, stop := context.WithCancel(f.ctx)
		done := make(chan error, 1)
		go func() { done <- e.Run(ctx) }()
		t.Cleanup(func() {
			stop()
			require.NoError(t, <-done)
			pools[i].Close()
		})
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		if err := errors.Join(pools[0].Ready(), pools[1].Ready()); err != nil {
			return err
		}
		if roles := []string{pools[0].Role(), pools[1].Role()}; roles[0] == roles[1] {
			return fmt.Errorf("roles %v", roles)
		}
		return nil
	})
	for _, p := range pools {
		deps := f.deps
		deps.Pool, deps.Registry = p, prometheus.NewRegistry()
		servers[p.Role()] = api.New(deps)
	}
	main := f.srv
	defer func() { f.srv = main }()

	f.srv = servers["standby"]
	status, body := f.do(t, http.MethodPost, "/v1/pool/claim", "acme-rep-s1", mustJSON(t, map[string]any{"customer_ids": []string{"p1"}}))
	require.Equal(t, http.StatusServiceUnavailable, status, "%s", body)
	e := decodeError(t, body)
	require.Equal(t, "not_decider", e.Code)
	require.Contains(t, e.Message, "another siyu serve decides pool changes")
	status, body = f.do(t, http.MethodGet, "/v1/pool/rules", "acme-rep-s1", nil)
	require.Equal(t, http.StatusOK, status, "%s", body)

	f.srv = servers["decider"]
	r := f.claim(t, "acme-rep-s1", "p1")
	require.Equal(t, []string{"p1"}, r.Claimed)
}
