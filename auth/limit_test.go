package auth

import (
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFailureLimiterTokenBucket(t *testing.T) {
	l := newFailureLimiter[clientKey](3, 2, 10)
	a := clientOf("192.0.2.1")
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 3 {
		_, ok := l.take(a, t0)
		require.True(t, ok, "failure %d is within the burst", i)
	}
	wait, ok := l.take(a, t0)
	require.False(t, ok)
	require.Equal(t, 500*time.Millisecond, wait, "one token every 1/rate")

	wait, ok = l.take(a, t0.Add(200*time.Millisecond))
	require.False(t, ok)
	require.Equal(t, 300*time.Millisecond, wait)

	_, ok = l.take(a, t0.Add(500*time.Millisecond))
	require.True(t, ok, "a token is back after 1/rate")
	_, ok = l.take(a, t0.Add(500*time.Millisecond))
	require.False(t, ok)

	_, ok = l.take(clientOf("192.0.2.2"), t0)
	require.True(t, ok, "other clients have their own bucket")

	t1 := t0.Add(time.Hour)
	for i := range 3 {
		_, ok := l.take(a, t1)
		require.True(t, ok, "failure %d: the bucket is full again, never fuller", i)
	}
	_, ok = l.take(a, t1)
	require.False(t, ok)
}

func TestFailureLimiterDebt(t *testing.T) {
	l := newFailureLimiter[clientKey](3, 2, 10)
	a := clientOf("192.0.2.1")
	t0 := time.Unix(1_700_000_000, 0)
	// Ten concurrent lookups were allowed while a token was left, then failed.
	_, ok := l.allow(a, t0)
	require.True(t, ok)
	for range 10 {
		l.spend(a, t0)
	}
	wait, ok := l.allow(a, t0)
	require.False(t, ok)
	require.Equal(t, 2*time.Second, wait, "the debt is paid back, down to -burst: (1+3)/2 s")
	_, ok = l.take(a, t0.Add(wait))
	require.True(t, ok)
}

func TestFailureLimiterBound(t *testing.T) {
	l := newFailureLimiter[clientKey](1, 1, 100)
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 10_000 {
		addr := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		_, ok := l.take(clientOf(addr.String()), t0)
		require.True(t, ok)
		require.LessOrEqual(t, l.len(), 100)
	}
}

func TestClientOf(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{"192.0.2.1", "192.0.2.1", true},
		{"192.0.2.1", "192.0.2.2", false},
		{"::ffff:192.0.2.1", "192.0.2.1", true},
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9", true}, // one /64
		{"2001:db8:1:2::1", "2001:db8:1:3::1", false},
		{"fe80::1%eth0", "fe80::2", true},
		{"not an address", "", true},
		{"not an address", "192.0.2.1", false},
	}
	for i, tt := range tests {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			require.Equal(t, tt.same, clientOf(tt.a) == clientOf(tt.b), "%q vs %q", tt.a, tt.b)
		})
	}
}
