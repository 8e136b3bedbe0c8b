package auth

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/internal/testenv"
	"github.com/siyu-dev/siyu/store"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestKeysInClickHouse runs the key store on a real ClickHouse: a created
// key is found, an unknown one is looked up once per ttl, a revoked one is
// refused once the ttl has passed, and storing a key that was tried before
// clears its refusal.
func TestKeysInClickHouse(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, _ := testenv.Database(t)
	reg := prometheus.NewRegistry()
	k := NewKeys(conn, 10*time.Second, WithRegisterer(reg))
	clock := time.Now()
	k.now = func() time.Time { return clock }
	lookups := func(result string) float64 {
		return testenv.Counter(t, reg, "siyu_auth_lookups_total", "result", result)
	}

	secret, err := k.Create(ctx, NewKeyRequest{Tenant: "acme", Role: RoleRep, StaffID: "s1", Name: "rep"})
	require.NoError(t, err)
	want := Principal{Tenant: "acme", Role: RoleRep, StaffID: "s1", Name: "rep"}
	for range 3 {
		p, err := k.Check(ctx, "192.0.2.1", secret)
		require.NoError(t, err)
		require.Equal(t, want, p)
	}
	require.Equal(t, 1.0, lookups(lookupValid))

	for range 3 {
		_, err := k.Check(ctx, "192.0.2.1", "siyu_unknown")
		require.ErrorIs(t, err, ErrInvalidKey)
	}
	require.Equal(t, 1.0, lookups(lookupUnknown), "a refusal is cached for ttl")

	require.NoError(t, k.Store(ctx, "siyu_unknown", NewKeyRequest{Tenant: "acme", Role: RoleAdmin}))
	p, err := k.Lookup(ctx, "siyu_unknown")
	require.NoError(t, err, "a stored key is no longer refused from the cache")
	require.Equal(t, RoleAdmin, p.Role)

	later := time.Now().UTC().Truncate(time.Second).Add(time.Second)
	require.NoError(t, store.Insert(ctx, conn,
		"INSERT INTO api_keys (key_hash, key_prefix, tenant, role, staff_id, name, revoked, created_at, updated_at)",
		[]any{Hash(secret), secret[:9], "acme", "rep", "s1", "rep", uint8(1), later, later}))
	_, err = k.Check(ctx, "192.0.2.1", secret)
	require.NoError(t, err, "revocation takes effect within ttl, not at once")
	clock = clock.Add(10 * time.Second)
	_, err = k.Check(ctx, "192.0.2.1", secret)
	require.ErrorIs(t, err, ErrInvalidKey)
	require.Equal(t, 1.0, testenv.Counter(t, reg, "siyu_auth_refused_total", "reason", reasonRevoked))
}
