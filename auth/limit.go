package auth

import (
	"math"
	"net/netip"
	"sync"
	"time"
)

// failureLimiter is a token bucket per client (an address, or for
// sign-ins also a login) for failed checks: every
// failure spends a token, tokens come back at rate per second up to burst,
// and a client without a token is refused before its key is looked up.
// Its memory is bounded: buckets live in an LRU of clients, and a client
// pushed out of it starts again with a full bucket (which costs at most one
// burst of lookups, the same as a fresh address).
type failureLimiter[K comparable] struct {
	burst   float64
	rate    float64 // tokens per second
	mu      sync.Mutex
	clients *lru[K, bucket]
}

type bucket struct {
	tokens float64
	at     time.Time // when tokens was last brought up to date
}

func newFailureLimiter[K comparable](burst int, perSecond float64, clients int) *failureLimiter[K] {
	return &failureLimiter[K]{burst: float64(burst), rate: perSecond, clients: newLRU[K, bucket](clients)}
}

// allow reports whether client has a token left, spending nothing; when it
// has none, it returns how long until one is back.
func (l *failureLimiter[K]) allow(client K, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.wait(l.refill(client, now))
}

// take spends one of client's tokens for a failure, unless none is left:
// then it spends nothing and returns how long until one is back.
func (l *failureLimiter[K]) take(client K, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.refill(client, now)
	if wait, ok := l.wait(b); !ok {
		return wait, false
	}
	l.spendFrom(client, b)
	return 0, true
}

// spend spends one of client's tokens for a failure that allow let through,
// even if other failures spent the last one meanwhile: the bucket then owes
// tokens, down to -burst, so that concurrent lookups cannot exceed the rate
// for long (a debt of burst is a refusal of 2·burst/rate at most).
func (l *failureLimiter[K]) spend(client K, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.spendFrom(client, l.refill(client, now))
}

func (l *failureLimiter[K]) spendFrom(client K, b bucket) {
	b.tokens = math.Max(-l.burst, b.tokens-1)
	l.clients.put(client, b)
}

func (l *failureLimiter[K]) wait(b bucket) (time.Duration, bool) {
	if b.tokens >= 1 {
		return 0, true
	}
	return time.Duration((1 - b.tokens) / l.rate * float64(time.Second)), false
}

// refill returns client's bucket with the tokens earned since it was last
// seen; a client never seen has a full bucket.
func (l *failureLimiter[K]) refill(client K, now time.Time) bucket {
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

// reset forgets client's failures: its bucket is full again.
func (l *failureLimiter[K]) reset(client K) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clients.remove(client)
}

func (l *failureLimiter[K]) len() int {
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
