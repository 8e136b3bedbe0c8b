package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/api"
	"github.com/siyu-dev/siyu/auth"
	"github.com/siyu-dev/siyu/internal/testenv"
)

// authServer is an API with only its key store, on a fresh database: a
// request that passes authentication answers 404 (no WeCom), one that does
// not 401 or 429.
type authServer struct {
	srv   *api.Server
	reg   *prometheus.Registry
	keys  *auth.Keys
	valid string // a valid admin key
}

// authProbe is a route behind authentication.
const authProbe = "/v1/wecom/config"

func newAuthServer(t *testing.T, opts ...auth.Option) *authServer {
	t.Helper()
	conn, _ := testenv.Database(t)
	reg := prometheus.NewRegistry()
	keys := auth.NewKeys(conn, time.Minute, append([]auth.Option{auth.WithRegisterer(reg)}, opts...)...)
	srv := api.New(api.Deps{Keys: keys, Registry: reg, Gatherer: reg, Log: testenv.Logger(),
		Ready: func(context.Context) api.Readiness { return api.Readiness{} }})
	valid, err := keys.Create(context.Background(), auth.NewKeyRequest{Tenant: "acme", Role: auth.RoleAdmin})
	require.NoError(t, err)
	return &authServer{srv: srv, reg: reg, keys: keys, valid: valid}
}

// call sends a request with key ("" for none) through app.Test, whose
// client address is always 0.0.0.0.
func (a *authServer) call(t *testing.T, key string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, authProbe, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := a.srv.App().Test(req, 10_000)
	require.NoError(t, err)
	return resp
}

func (a *authServer) counter(t *testing.T, name, label, value string) float64 {
	return testenv.Counter(t, a.reg, name, label, value)
}

func errorCode(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var body struct {
		Error struct{ Code string } `json:"error"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	return body.Error.Code
}

// TestAuthFailureLimitBoundsKeyLookups sends 1,000 distinct unknown keys
// from one address: only the burst reaches ClickHouse, the rest answer 429
// with Retry-After, and the address's cached key keeps working.
func TestAuthFailureLimitBoundsKeyLookups(t *testing.T) {
	a := newAuthServer(t)
	require.Equal(t, http.StatusNotFound, a.call(t, a.valid).StatusCode, "the valid key passes, and is now cached")

	start := time.Now()
	statuses := map[int]int{}
	for i := range 1_000 {
		resp := a.call(t, fmt.Sprintf("siyu_unknown%06d", i))
		statuses[resp.StatusCode]++
		if resp.StatusCode == http.StatusTooManyRequests {
			retry, err := strconv.Atoi(resp.Header.Get("Retry-After"))
			require.NoError(t, err)
			require.GreaterOrEqual(t, retry, 1)
			require.Equal(t, "too_many_failures", errorCode(t, resp))
		} else {
			resp.Body.Close()
		}
	}
	// The bucket refills 2 tokens a second while the test runs.
	refilled := int(time.Since(start).Seconds()*auth.DefaultFailureRate) + 1
	lookups := a.counter(t, "siyu_auth_lookups_total", "result", "unknown")
	require.GreaterOrEqual(t, lookups, float64(auth.DefaultFailureBurst))
	require.LessOrEqual(t, lookups, float64(auth.DefaultFailureBurst+refilled), "ClickHouse lookups are bounded by the bucket")
	require.Equal(t, lookups, float64(statuses[http.StatusUnauthorized]))
	require.Equal(t, 1_000-int(lookups), statuses[http.StatusTooManyRequests])
	require.Equal(t, float64(statuses[http.StatusTooManyRequests]), a.counter(t, "siyu_auth_refused_total", "reason", "rate_limited"))
	require.Equal(t, lookups, a.counter(t, "siyu_auth_refused_total", "reason", "unknown"))

	require.Equal(t, http.StatusNotFound, a.call(t, a.valid).StatusCode, "a cached valid key still works from the limited address")
	require.Equal(t, 1.0, a.counter(t, "siyu_auth_lookups_total", "result", "valid"))

	resp := a.call(t, "")
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "so does a missing key, without a lookup")
	require.Equal(t, "too_many_failures", errorCode(t, resp))
	other, err := a.keys.Create(context.Background(), auth.NewKeyRequest{Tenant: "acme", Role: auth.RoleAdmin})
	require.NoError(t, err)
	require.Equal(t, http.StatusTooManyRequests, a.call(t, other).StatusCode,
		"a valid key the cache does not know waits for a token, like any lookup")
}

// TestAuthMissingKey answers 401 to a request without a key, and counts it.
func TestAuthMissingKey(t *testing.T) {
	a := newAuthServer(t)
	for _, header := range []string{"", "Basic dXNlcjpwYXNz", "Bearer ", "Bearer siyu_nope"} {
		req := httptest.NewRequest(http.MethodGet, authProbe, nil)
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		resp, err := a.srv.App().Test(req, 10_000)
		require.NoError(t, err)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "header %q", header)
		require.Equal(t, "unauthorized", errorCode(t, resp))
	}
	require.Equal(t, 3.0, a.counter(t, "siyu_auth_refused_total", "reason", "missing"))
	require.Equal(t, 1.0, a.counter(t, "siyu_auth_refused_total", "reason", "unknown"))
}

// TestAuthValidKeyWorksAfterKeyFloodFromManyAddresses serves the API on a
// socket and floods it with distinct unknown keys from 60 loopback
// addresses, each under its burst, through caches far smaller than the
// flood: the valid key stays cached (no second lookup), and each address is
// limited on its own.
func TestAuthValidKeyWorksAfterKeyFloodFromManyAddresses(t *testing.T) {
	// A slow refill, so that the burst is all an address has during the test.
	a := newAuthServer(t, auth.WithCacheSizes(4, 32), auth.WithFailureLimit(0, 0.01, 0))
	base := serve(t, a.srv)
	valid := clientFrom(t, net.IPv4(127, 0, 0, 1))
	require.Equal(t, http.StatusNotFound, get(t, valid, base, a.valid))

	const addresses, perAddress = 60, 15
	for i := range addresses {
		c := clientFrom(t, net.IPv4(127, 0, 1, byte(i+1)))
		for j := range perAddress {
			require.Equal(t, http.StatusUnauthorized, get(t, c, base, fmt.Sprintf("siyu_flood%03d_%03d", i, j)))
		}
		if i%10 == 0 {
			require.Equal(t, http.StatusNotFound, get(t, valid, base, a.valid))
		}
	}
	require.Equal(t, http.StatusNotFound, get(t, valid, base, a.valid), "the valid key survives the flood")
	require.Equal(t, 1.0, a.counter(t, "siyu_auth_lookups_total", "result", "valid"), "from the cache")
	require.Equal(t, float64(addresses*perAddress), a.counter(t, "siyu_auth_lookups_total", "result", "unknown"))

	c := clientFrom(t, net.IPv4(127, 0, 1, 1))
	statuses := map[int]int{}
	for j := range 10 {
		statuses[get(t, c, base, fmt.Sprintf("siyu_again%03d", j))]++
	}
	require.Equal(t, auth.DefaultFailureBurst-perAddress, statuses[http.StatusUnauthorized], "the address spends the rest of its burst")
	require.Equal(t, 10-(auth.DefaultFailureBurst-perAddress), statuses[http.StatusTooManyRequests])
}

// serve runs srv on a loopback socket until the test ends.
func serve(t *testing.T, srv *api.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.App().Listener(ln) }()
	t.Cleanup(func() { _ = srv.App().ShutdownWithTimeout(5 * time.Second) })
	return "http://" + ln.Addr().String()
}

// clientFrom is an HTTP client whose connections come from a given loopback
// address (all of 127.0.0.0/8 is local on Linux).
func clientFrom(t *testing.T, ip net.IP) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func get(t *testing.T, c *http.Client, base, key string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+authProbe, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := c.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}
