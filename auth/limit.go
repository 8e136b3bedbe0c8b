package auth

import (
	"math"
	"net/netip"
	"sync"
	"time"
)

// failureLimiter is a token bucket per client for failed key checks: every
// failure spends a token, tokens come back at rate per second up to burst,
// and a client without a token is refused before its key is looked up.
// Its memory is bounded: buckets live in an LRU of clients, and a client
// pushed out of it starts again with a full bucket (which costs at most one
// burst of lookups, the same as a fresh address).
type failureLimiter struct {
	burst   float64
	rate    float64 // tokens per second
	mu      sync.Mutex
	clients *lru[clientKey, bucket]
}

type bucket struct {
	tokens float64
	at     time.Time // when tokens was last brought up to date
}

func newFailureLimiter(burst int, perSecond float64, clients int) *failureLimiter {
	return &failureLimiter{burst: float64(burst), rate: perSecond, clients: newLRU[clientKey, bucket](clients)}
}

// take spends one of client's tokens. When none is left it spends nothing
// and returns how long until one is back.
func (l *failureLimiter) take(client clientKey, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.refill(client, now)
	if b.tokens < 1 {
		return time.Duration((1 - b.tokens) / l.rate * float64(time.Second)), false
	}
	b.tokens--
	l.clients.put(client, b)
	return 0, true
}

// refund gives back a token taken for a check that did not fail after all
// (the key was valid, or ClickHouse did not answer).
func (l *failureLimiter) refund(client clientKey, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.refill(client, now)
	b.tokens = math.Min(l.burst, b.tokens+1)
	l.clients.put(client, b)
}

// refill returns client's bucket with the tokens earned since it was last
// seen; a client never seen has a full bucket.
func (l *failureLimiter) refill(client clientKey, now time.Time) bucket {
	b, ok := l.clients.get(client)
	if !ok {
		return bucket{tokens: l.burst, at: now}
	}
	if elapsed := now.Sub(b.at); elapsed > 0 {
		b.tokens = math.Min(l.burst, b.tokens+elapsed.Seconds()*l.rate)
		b.at = now
	}
	return b
}

func (l *failureLimiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.clients.len()
}

// clientKey is the bucket a client address counts against.
type clientKey = netip.Prefix

// clientOf is the bucket a client address counts against: the address for
// IPv4, its /64 for IPv6 (one subscriber usually holds a whole /64, so
// rotating through it must not buy a fresh bucket per address). Addresses
// that do not parse share one bucket. The address is parsed, not kept, so a
// string from Fiber's reused buffers is safe to pass.
func clientOf(addr string) clientKey {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return netip.Prefix{}
	}
	a = a.Unmap().WithZone("")
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return netip.Prefix{}
	}
	return p
}
