package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/internal/testenv"
)

// fakeKeys is a key store whose ClickHouse is a map and whose clock stands
// still until the test moves it.
type fakeKeys struct {
	*Keys
	t       *testing.T
	reg     *prometheus.Registry
	mu      sync.Mutex
	valid   map[string]Principal // by hash
	down    bool                 // ClickHouse does not answer
	queries int
	clock   time.Time
}

var errOutage = errors.New("clickhouse: connection refused")

func newFakeKeys(t *testing.T, ttl time.Duration, opts ...Option) *fakeKeys {
	t.Helper()
	f := &fakeKeys{t: t, reg: prometheus.NewRegistry(), valid: map[string]Principal{}, clock: time.Unix(1_700_000_000, 0)}
	f.Keys = NewKeys(nil, ttl, append([]Option{WithRegisterer(f.reg)}, opts...)...)
	f.now = func() time.Time { return f.clock }
	f.query = func(_ context.Context, hash string) (Principal, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.queries++
		if f.down {
			return Principal{}, errOutage
		}
		if p, ok := f.valid[hash]; ok {
			return p, nil
		}
		return Principal{}, ErrInvalidKey
	}
	return f
}

func (f *fakeKeys) add(secret string, p Principal) { f.valid[Hash(secret)] = p }

func (f *fakeKeys) refused(reason string) float64 {
	return testenv.Counter(f.t, f.reg, "siyu_auth_refused_total", "reason", reason)
}

func (f *fakeKeys) lookups(result string) float64 {
	return testenv.Counter(f.t, f.reg, "siyu_auth_lookups_total", "result", result)
}

func unknownKey(i int) string { return fmt.Sprintf("siyu_unknown%08d", i) }

func addr(i int) string { return fmt.Sprintf("10.%d.%d.%d", byte(i>>16), byte(i>>8), byte(i)) }

func TestCheckBoundsLookupsOfUnknownKeys(t *testing.T) {
	ctx := context.Background()
	f := newFakeKeys(t, time.Minute)
	var unauthorized, limited int
	for i := range 1_000 {
		_, err := f.Check(ctx, "192.0.2.1", unknownKey(i))
		var tooMany *TooManyFailuresError
		switch {
		case errors.As(err, &tooMany):
			limited++
			require.Equal(t, time.Second/DefaultFailureRate, tooMany.RetryAfter)
		case errors.Is(err, ErrInvalidKey):
			unauthorized++
		default:
			t.Fatalf("key %d: %v", i, err)
		}
	}
	require.Equal(t, DefaultFailureBurst, unauthorized)
	require.Equal(t, 1_000-DefaultFailureBurst, limited)
	require.Equal(t, DefaultFailureBurst, f.queries, "only the burst reaches ClickHouse")
	require.Equal(t, float64(DefaultFailureBurst), f.lookups(lookupUnknown))
	require.Equal(t, float64(DefaultFailureBurst), f.refused(reasonUnknown))
	require.Equal(t, float64(1_000-DefaultFailureBurst), f.refused(reasonRateLimited))

	f.clock = f.clock.Add(time.Second)
	for i := range 3 {
		_, _ = f.Check(ctx, "192.0.2.1", unknownKey(2_000+i))
	}
	require.Equal(t, DefaultFailureBurst+2, f.queries, "then rate lookups a second")
}

func TestCheckCountsMissingAndMalformed(t *testing.T) {
	ctx := context.Background()
	f := newFakeKeys(t, time.Minute, WithFailureLimit(4, 1, 0))
	for _, secret := range []string{"", "", "not-a-siyu-key", "siyu_" + string(make([]byte, 200))} {
		_, err := f.Check(ctx, "192.0.2.1", secret)
		require.ErrorIs(t, err, ErrInvalidKey)
	}
	_, err := f.Check(ctx, "192.0.2.1", "")
	var tooMany *TooManyFailuresError
	require.ErrorAs(t, err, &tooMany, "missing and malformed keys are failures too")
	require.Zero(t, f.queries)
	require.Equal(t, 2.0, f.refused(reasonMissing))
	require.Equal(t, 2.0, f.refused(reasonMalformed))
	require.Equal(t, 1.0, f.refused(reasonRateLimited))

	_, err = f.Check(ctx, "192.0.2.2", "")
	require.ErrorIs(t, err, ErrMissingKey)
}

// TestCheckValidKeySurvivesFlood floods the store with 200,000 distinct
// unknown keys from many addresses (none of them past its burst), then takes
// ClickHouse down: the valid key must still be in the cache.
func TestCheckValidKeySurvivesFlood(t *testing.T) {
	ctx := context.Background()
	f := newFakeKeys(t, time.Minute, WithFailureLimit(0, 0, 1_000))
	valid := Principal{Tenant: "acme", Role: RoleAdmin}
	f.add("siyu_valid", valid)
	p, err := f.Check(ctx, "192.0.2.1", "siyu_valid")
	require.NoError(t, err)
	require.Equal(t, valid, p)

	const flood = 200_000
	for i := range flood {
		if _, err := f.Check(ctx, addr(i/10), unknownKey(i)); !errors.Is(err, ErrInvalidKey) {
			t.Fatalf("unknown key %d: %v", i, err)
		}
		if i%10_000 == 0 { // keep the key in use, as its client would
			_, err := f.Check(ctx, "192.0.2.1", "siyu_valid")
			require.NoError(t, err)
		}
	}
	require.Equal(t, flood+1, f.queries)
	validN, invalidN := f.cache.sizes()
	require.Equal(t, 1, validN)
	require.Equal(t, DefaultInvalidKeys, invalidN, "the refused keys are bounded")
	require.Equal(t, 1_000, f.limiter.len(), "the clients are bounded")

	f.down = true
	p, err = f.Check(ctx, "192.0.2.1", "siyu_valid")
	require.NoError(t, err, "the valid key is served from the cache")
	require.Equal(t, valid, p)
	require.Equal(t, flood+1, f.queries)
}

func TestCheckValidKeysOfLimitedClient(t *testing.T) {
	ctx := context.Background()
	f := newFakeKeys(t, time.Minute, WithFailureLimit(2, 2, 0))
	f.add("siyu_cached", Principal{Tenant: "acme", Role: RoleAdmin})
	f.add("siyu_uncached", Principal{Tenant: "acme", Role: RoleRep, StaffID: "s1"})
	_, err := f.Check(ctx, "192.0.2.1", "siyu_cached")
	require.NoError(t, err)
	for i := range 5 {
		_, _ = f.Check(ctx, "192.0.2.1", unknownKey(i))
	}

	_, err = f.Check(ctx, "192.0.2.1", "siyu_cached")
	require.NoError(t, err, "a cached valid key is never refused")

	_, err = f.Check(ctx, "192.0.2.1", "siyu_uncached")
	var tooMany *TooManyFailuresError
	require.ErrorAs(t, err, &tooMany, "a key the cache does not know costs a lookup: refused")

	f.clock = f.clock.Add(time.Minute) // the cached key is stale; the bucket full again
	for i := range 5 {
		_, _ = f.Check(ctx, "192.0.2.1", unknownKey(10+i))
	}
	queries := f.queries
	_, err = f.Check(ctx, "192.0.2.1", "siyu_cached")
	require.NoError(t, err, "a stale valid key is looked up again whatever the bucket holds")
	require.Equal(t, queries+1, f.queries)

	f.clock = f.clock.Add(500 * time.Millisecond)
	_, err = f.Check(ctx, "192.0.2.1", "siyu_uncached")
	require.NoError(t, err, "with a token back, a valid key is looked up")
	_, err = f.Check(ctx, "192.0.2.1", unknownKey(20))
	require.ErrorIs(t, err, ErrInvalidKey, "and its token was given back")
}

func TestCheckRevocationWithinTTL(t *testing.T) {
	ctx := context.Background()
	f := newFakeKeys(t, 10*time.Second)
	f.add("siyu_key", Principal{Tenant: "acme", Role: RoleAdmin})
	_, err := f.Check(ctx, "192.0.2.1", "siyu_key")
	require.NoError(t, err)
	delete(f.valid, Hash("siyu_key"))

	f.clock = f.clock.Add(9 * time.Second)
	_, err = f.Check(ctx, "192.0.2.1", "siyu_key")
	require.NoError(t, err, "cached for ttl")

	f.clock = f.clock.Add(time.Second)
	for range 3 {
		_, err = f.Check(ctx, "192.0.2.1", "siyu_key")
		require.ErrorIs(t, err, ErrInvalidKey, "revoked after ttl")
	}
	require.Equal(t, 2, f.queries, "the refusal is cached too")
	require.Equal(t, 3.0, f.refused(reasonRevoked))
	require.Zero(t, f.refused(reasonUnknown))

	f.clock = f.clock.Add(10 * time.Second)
	_, err = f.Check(ctx, "192.0.2.1", "siyu_key")
	require.ErrorIs(t, err, ErrInvalidKey)
	require.Equal(t, 4.0, f.refused(reasonRevoked), "still revoked when looked up again")
}

func TestCheckOutagesAreNeitherCachedNorFailures(t *testing.T) {
	ctx := context.Background()
	f := newFakeKeys(t, time.Minute, WithFailureLimit(2, 1, 0))
	f.add("siyu_key", Principal{Tenant: "acme", Role: RoleAdmin})
	f.down = true
	for range 10 {
		_, err := f.Check(ctx, "192.0.2.1", "siyu_key")
		require.ErrorIs(t, err, errOutage)
	}
	require.Equal(t, 10.0, f.lookups(lookupError))
	f.down = false
	_, err := f.Check(ctx, "192.0.2.1", "siyu_key")
	require.NoError(t, err, "the outage was not cached, nor counted against the client")
	require.Equal(t, 11, f.queries)
}

// TestCheckConcurrentValidKeysColdCache sends many concurrent requests with
// valid keys the cache does not know yet from one address (a busy backend
// just after start): none is refused, since only failures spend tokens.
func TestCheckConcurrentValidKeysColdCache(t *testing.T) {
	ctx := context.Background()
	f := newFakeKeys(t, 0, WithFailureLimit(2, 1, 0)) // ttl 0: every request looks its key up
	for i := range 5 {
		f.add(fmt.Sprintf("siyu_valid%d", i), Principal{Tenant: "acme", Role: RoleAdmin})
	}
	var wg sync.WaitGroup
	errs := make(chan error, 500)
	for i := range 500 {
		wg.Go(func() {
			_, err := f.Check(ctx, "192.0.2.1", fmt.Sprintf("siyu_valid%d", i%5))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}
