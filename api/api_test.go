package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/api"
	"github.com/siyu-dev/siyu/auth"
	"github.com/siyu-dev/siyu/cdp"
	"github.com/siyu-dev/siyu/followup"
	"github.com/siyu-dev/siyu/ingest"
	"github.com/siyu-dev/siyu/internal/testenv"
	"github.com/siyu-dev/siyu/kafka"
	"github.com/siyu-dev/siyu/metering"
	"github.com/siyu-dev/siyu/publish"
	"github.com/siyu-dev/siyu/settings"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// fixture is the whole write-and-read path on real components: a fresh
// ClickHouse database, a kfake broker, the ingest pipeline consuming it, and
// the API producing to it. Its keys are named after their holder.
type fixture struct {
	ctx      context.Context
	conn     driver.Conn
	broker   string
	topics   kafka.Topics
	deps     api.Deps
	srv      *api.Server
	profiles *cdp.Profiles
	keys     map[string]string
}

// The key holders every fixture has.
var keyRequests = map[string]auth.NewKeyRequest{
	"acme-admin":    {Tenant: "acme", Role: auth.RoleAdmin},
	"acme-manager":  {Tenant: "acme", Role: auth.RoleManager},
	"acme-marketer": {Tenant: "acme", Role: auth.RoleMarketer},
	"acme-rep-s1":   {Tenant: "acme", Role: auth.RoleRep, StaffID: "s1"},
	"acme-rep-s2":   {Tenant: "acme", Role: auth.RoleRep, StaffID: "s2"},
	"acme-exec":     {Tenant: "acme", Role: auth.RoleExec},
	"acme-billing":  {Tenant: "acme", Role: auth.RoleBilling},
	"globex-admin":  {Tenant: "globex", Role: auth.RoleAdmin},
	"platform":      {Tenant: "ops", Role: auth.RolePlatform},
}

// The seeded customers: the same contact id c1 lives in two tenants under
// different names.
const (
	acmeC1Name   = "Acme Alice"
	acmeC2Name   = "Acme Bob"
	globexC1Name = "Globex Gina"
)

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	conn, _ := testenv.Database(t)
	_, broker := testenv.Kafka(t)
	f := &fixture{ctx: ctx, conn: conn, broker: broker, profiles: cdp.NewProfiles(conn, nil), keys: map[string]string{}}

	cfg := ingest.DefaultConfig()
	cfg.Brokers = []string{broker}
	cfg.Topics.Partitions = 3
	cfg.BatchMaxWait = 50 * time.Millisecond
	f.topics = cfg.Topics
	prod, err := kgo.NewClient(kafka.ProducerOpts(cfg.Brokers)...)
	require.NoError(t, err)
	t.Cleanup(prod.Close)
	require.NoError(t, kafka.EnsureTopics(ctx, prod, cfg.Topics))

	reg := prometheus.NewRegistry()
	startPipeline(t, ctx, cfg, conn, reg)

	keys := auth.NewKeys(conn, 0)
	for name, r := range keyRequests {
		r.Name = name
		secret, err := keys.Create(ctx, r)
		require.NoError(t, err)
		f.keys[name] = secret
	}
	f.deps = api.Deps{
		Keys:     keys,
		Users:    auth.NewUsers(conn, nil, auth.WithPasswordParams(cheapPasswords)),
		Profiles: f.profiles,
		Producer: prod,
		Topics:   cfg.Topics,
		Ready:    api.ReadinessCheck(conn, prod),
		Gatherer: reg,
		Registry: reg,
		Log:      testenv.Logger(),
		Tags:     cdp.NewTagLibrary(conn),
		Metering: metering.NewService(conn, nil),
		Segments: cdp.NewSegments(conn, nil),
		Followup: followup.NewReader(conn),
		Settings: settings.NewStore(conn, time.Second),
		Pool:     followup.NewPool(conn, publish.New(prod, cfg.Topics.Events, 0), followup.DefaultPoolConfig(), testenv.Logger()),
	}
	t.Cleanup(f.deps.Pool.Close)
	f.srv = api.New(f.deps)
	f.seed(t)
	return f
}

// startPipeline runs the real ingest pipeline until the test ends.
func startPipeline(t *testing.T, ctx context.Context, cfg ingest.Config, conn driver.Conn, reg prometheus.Registerer) {
	t.Helper()
	p, err := ingest.New(cfg, conn, reg, testenv.Logger())
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		require.NoError(t, <-done)
		p.Close()
	})
}

// seed posts the customers through the API, as each tenant's admin would,
// and waits until the pipeline has folded them into profiles.
func (f *fixture) seed(t *testing.T) {
	t.Helper()
	at := time.Now().Add(-time.Hour)
	f.postOK(t, "acme-admin",
		contactAdded("seed-acme-c1", "acme", "c1", "s1", acmeC1Name, at),
		contactAdded("seed-acme-c2", "acme", "c2", "s2", acmeC2Name, at))
	f.postOK(t, "globex-admin", contactAdded("seed-globex-c1", "globex", "c1", "g1", globexC1Name, at))
	f.waitProfile(t, "acme", "c1", acmeC1Name, "s1")
	f.waitProfile(t, "acme", "c2", acmeC2Name, "s2")
	f.waitProfile(t, "globex", "c1", globexC1Name, "g1")
}

// postOK posts events that must all be accepted.
func (f *fixture) postOK(t *testing.T, key string, events ...map[string]any) {
	t.Helper()
	status, body := f.do(t, http.MethodPost, "/v1/events", key, mustJSON(t, events))
	require.Equal(t, http.StatusOK, status, "%s", body)
}

// waitProfile polls until the customer has name and a live relation with staff.
func (f *fixture) waitProfile(t *testing.T, tenant, contact, name, staff string) *cdp.Profile {
	t.Helper()
	var pr *cdp.Profile
	testenv.Eventually(t, 20*time.Second, func() error {
		var err error
		pr, err = f.profiles.Get(f.ctx, tenant, contact)
		switch {
		case err != nil:
			return err
		case pr.Name != name:
			return fmt.Errorf("%s/%s is named %q, want %q", tenant, contact, pr.Name, name)
		case !pr.HasRelation(staff):
			return fmt.Errorf("%s/%s has no relation with %s yet", tenant, contact, staff)
		}
		return nil
	})
	return pr
}

// do sends one request through the app as the named key holder ("" sends
// no Authorization header) and returns the status and body.
func (f *fixture) do(t *testing.T, method, path, key string, body []byte) (int, []byte) {
	t.Helper()
	h := http.Header{}
	if key != "" {
		secret, ok := f.keys[key]
		require.True(t, ok, "no key named %q", key)
		h.Set("Authorization", "Bearer "+secret)
	}
	return f.doHeader(t, method, path, h, body)
}

func (f *fixture) doHeader(t *testing.T, method, path string, h http.Header, body []byte) (int, []byte) {
	t.Helper()
	resp, out := f.respond(t, method, path, h, body)
	if resp.StatusCode >= 400 {
		require.Contains(t, resp.Header.Get("Content-Type"), "application/json", "errors answer JSON: %s", out)
	}
	return resp.StatusCode, out
}

// respond sends one request and returns the response with its body read.
func (f *fixture) respond(t *testing.T, method, path string, h http.Header, body []byte) (*http.Response, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	for k, v := range h {
		req.Header[k] = v
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", mediaTypeOf(path))
	}
	resp, err := f.srv.App().Test(req, -1)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, out
}

// mediaTypeOf is the Content-Type the tests send a body to path with:
// CloudEvents' batch type to POST /v1/events, JSON elsewhere.
func mediaTypeOf(path string) string {
	if strings.HasPrefix(path, "/v1/events") {
		return "application/cloudevents-batch+json"
	}
	return "application/json"
}

// apiError is the error shape every failure answers with.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field"`
}

type errorBody struct {
	Error *apiError `json:"error"`
}

// decodeError requires body to be {"error": {"code", "message", ...}}.
func decodeError(t *testing.T, body []byte) *apiError {
	t.Helper()
	var eb errorBody
	require.NoError(t, json.Unmarshal(body, &eb), "%s", body)
	require.NotNil(t, eb.Error, "no error object in %s", body)
	require.NotEmpty(t, eb.Error.Code, "%s", body)
	require.NotEmpty(t, eb.Error.Message, "%s", body)
	return eb.Error
}

func contactAdded(id, tenant, contact, staff, name string, at time.Time) map[string]any {
	return map[string]any{
		"specversion": "1.0", "id": id, "source": "wecom/test", "type": "contact.added",
		"time": at.Format(time.RFC3339), "tenant": tenant, "subject": contact,
		"data": map[string]any{"staff_id": staff, "name": name},
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func TestTenantWalls(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name       string
		key        string
		path       string
		wantStatus int
		wantTenant string // for 200: the profile's tenant
		wantName   string // for 200: the profile's name
		wantField  string // for errors
		wantInMsg  string // for errors
	}{
		{name: "acme admin gets acme's c1", key: "acme-admin", path: "/v1/customers/c1",
			wantStatus: 200, wantTenant: "acme", wantName: acmeC1Name},
		{name: "acme manager gets acme's c1", key: "acme-manager", path: "/v1/customers/c1",
			wantStatus: 200, wantTenant: "acme", wantName: acmeC1Name},
		{name: "acme marketer gets acme's c1", key: "acme-marketer", path: "/v1/customers/c1",
			wantStatus: 200, wantTenant: "acme", wantName: acmeC1Name},
		{name: "acme rep gets acme's c1", key: "acme-rep-s1", path: "/v1/customers/c1",
			wantStatus: 200, wantTenant: "acme", wantName: acmeC1Name},
		{name: "acme admin naming its own tenant", key: "acme-admin", path: "/v1/customers/c1?tenant=acme",
			wantStatus: 200, wantTenant: "acme", wantName: acmeC1Name},
		{name: "globex admin gets globex's c1", key: "globex-admin", path: "/v1/customers/c1",
			wantStatus: 200, wantTenant: "globex", wantName: globexC1Name},
		{name: "globex admin cannot see acme's c2", key: "globex-admin", path: "/v1/customers/c2",
			wantStatus: 404},
		{name: "acme admin asking for globex", key: "acme-admin", path: "/v1/customers/c1?tenant=globex",
			wantStatus: 403, wantInMsg: `"acme"`},
		{name: "acme rep asking for globex", key: "acme-rep-s1", path: "/v1/customers/c1?tenant=globex",
			wantStatus: 403, wantInMsg: `"acme"`},
		{name: "platform without a tenant", key: "platform", path: "/v1/customers/c1",
			wantStatus: 400, wantField: "tenant"},
		{name: "platform in globex", key: "platform", path: "/v1/customers/c1?tenant=globex",
			wantStatus: 200, wantTenant: "globex", wantName: globexC1Name},
		{name: "platform in acme", key: "platform", path: "/v1/customers/c1?tenant=acme",
			wantStatus: 200, wantTenant: "acme", wantName: acmeC1Name},
		{name: "platform in a tenant without c2", key: "platform", path: "/v1/customers/c2?tenant=globex",
			wantStatus: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := f.do(t, http.MethodGet, tt.path, tt.key, nil)
			require.Equal(t, tt.wantStatus, status, "%s", body)
			if status != http.StatusOK {
				e := decodeError(t, body)
				require.Equal(t, tt.wantField, e.Field)
				require.Contains(t, e.Message, tt.wantInMsg)
				return
			}
			var pr cdp.Profile
			require.NoError(t, json.Unmarshal(body, &pr))
			require.Equal(t, tt.wantTenant, pr.Tenant)
			require.Equal(t, tt.wantName, pr.Name)
			require.Equal(t, "c1", pr.ContactID)
		})
	}

	t.Run("acme cannot write into globex", func(t *testing.T) {
		at := time.Now().Add(-30 * time.Minute)
		intrusion := contactAdded("intrude-1", "globex", "c1", "s1", "Hijacked", at)
		status, body := f.do(t, http.MethodPost, "/v1/events", "acme-admin", mustJSON(t, intrusion))
		require.Equal(t, http.StatusBadRequest, status, "%s", body)
		require.Equal(t, "tenant", decodeError(t, body).Field)

		batch := []map[string]any{
			contactAdded("intrude-ok", "acme", "c7", "s1", "Acme Carol", at),
			contactAdded("intrude-2", "globex", "c1", "s1", "Hijacked", at),
		}
		status, body = f.do(t, http.MethodPost, "/v1/events", "acme-admin", mustJSON(t, batch))
		require.Equal(t, http.StatusMultiStatus, status, "%s", body)
		resp := decodeEvents(t, body)
		require.Equal(t, "accepted", resp.Results[0].Status)
		require.Equal(t, "rejected", resp.Results[1].Status)
		require.Equal(t, "tenant", resp.Results[1].Field)

		// Globex's own later write is visible, and the intrusions never were:
		// neither in the log nor in the profile.
		f.postOK(t, "globex-admin", contactAdded("globex-c9", "globex", "c9", "g1", "Globex Gus", at))
		f.waitProfile(t, "globex", "c9", "Globex Gus", "g1")
		f.waitProfile(t, "acme", "c7", "Acme Carol", "s1")
		ids := eventIDs(f.readEvents(t, "globex-c9"))
		require.NotContains(t, ids, "intrude-1")
		require.NotContains(t, ids, "intrude-2")
		pr, err := f.profiles.Get(f.ctx, "globex", "c1")
		require.NoError(t, err)
		require.Equal(t, globexC1Name, pr.Name)
		require.False(t, pr.HasRelation("s1"))
	})
}

func TestRoles(t *testing.T) {
	f := newFixture(t)
	event := mustJSON(t, contactAdded("roles-1", "acme", "c5", "s1", "Acme Eve", time.Now().Add(-time.Minute)))
	tests := []struct {
		name       string
		key        string
		method     string
		path       string
		body       []byte
		wantStatus int
		wantCode   string // for errors
	}{
		{name: "rep s1 sees own c1", key: "acme-rep-s1", method: "GET", path: "/v1/customers/c1", wantStatus: 200},
		{name: "rep s1 does not see s2's c2", key: "acme-rep-s1", method: "GET", path: "/v1/customers/c2", wantStatus: 404, wantCode: "not_found"},
		{name: "rep s2 sees own c2", key: "acme-rep-s2", method: "GET", path: "/v1/customers/c2", wantStatus: 200},
		{name: "rep s2 does not see s1's c1", key: "acme-rep-s2", method: "GET", path: "/v1/customers/c1", wantStatus: 404, wantCode: "not_found"},
		{name: "exec may not read customers", key: "acme-exec", method: "GET", path: "/v1/customers/c1", wantStatus: 403, wantCode: "forbidden"},
		{name: "billing may not read customers", key: "acme-billing", method: "GET", path: "/v1/customers/c1", wantStatus: 403, wantCode: "forbidden"},
		{name: "marketer reads customers", key: "acme-marketer", method: "GET", path: "/v1/customers/c2", wantStatus: 200},
		{name: "manager reads customers", key: "acme-manager", method: "GET", path: "/v1/customers/c2", wantStatus: 200},
		{name: "admin reads customers", key: "acme-admin", method: "GET", path: "/v1/customers/c2", wantStatus: 200},
		{name: "admin: unknown customer", key: "acme-admin", method: "GET", path: "/v1/customers/nobody", wantStatus: 404, wantCode: "not_found"},
		{name: "rep may not post events", key: "acme-rep-s1", method: "POST", path: "/v1/events", body: event, wantStatus: 403, wantCode: "forbidden"},
		{name: "marketer may not post events", key: "acme-marketer", method: "POST", path: "/v1/events", body: event, wantStatus: 403, wantCode: "forbidden"},
		{name: "manager may not post events", key: "acme-manager", method: "POST", path: "/v1/events", body: event, wantStatus: 403, wantCode: "forbidden"},
		{name: "exec may not post events", key: "acme-exec", method: "POST", path: "/v1/events", body: event, wantStatus: 403, wantCode: "forbidden"},
		{name: "no key reading", method: "GET", path: "/v1/customers/c1", wantStatus: 401, wantCode: "unauthorized"},
		{name: "no key posting", method: "POST", path: "/v1/events", body: event, wantStatus: 401, wantCode: "unauthorized"},
		{name: "no key on an unknown v1 route", method: "GET", path: "/v1/nothing", wantStatus: 401, wantCode: "unauthorized"},
		{name: "unknown route", key: "acme-admin", method: "GET", path: "/nothing", wantStatus: 404, wantCode: "not_found"},
		{name: "customer id too long", key: "acme-admin", method: "GET", path: "/v1/customers/" + strings.Repeat("x", 129), wantStatus: 400, wantCode: "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := f.do(t, tt.method, tt.path, tt.key, tt.body)
			require.Equal(t, tt.wantStatus, status, "%s", body)
			if tt.wantCode != "" {
				require.Equal(t, tt.wantCode, decodeError(t, body).Code)
			}
		})
	}

	t.Run("bad authorization headers", func(t *testing.T) {
		for _, h := range []string{
			"Bearer garbage",
			"Bearer siyu_thiskeywasnevercreated",
			"Bearer ",
			"Basic " + f.keys["acme-admin"],
			f.keys["acme-admin"],
		} {
			status, body := f.doHeader(t, http.MethodGet, "/v1/customers/c1", http.Header{"Authorization": {h}}, nil)
			require.Equal(t, http.StatusUnauthorized, status, "%q: %s", h, body)
			require.Equal(t, "unauthorized", decodeError(t, body).Code)
		}
	})

	t.Run("a rep cannot tell another rep's customer from none", func(t *testing.T) {
		_, theirs := f.do(t, http.MethodGet, "/v1/customers/c2", "acme-rep-s1", nil)
		_, nobody := f.do(t, http.MethodGet, "/v1/customers/nobody", "acme-rep-s1", nil)
		require.JSONEq(t, string(nobody), string(theirs))
	})
}
