package auth

import (
	"crypto/sha256"
	"sync"
	"time"
)

// keySum is a key's SHA-256: the cache's index (32 bytes, where the hex
// form stored in ClickHouse would take 64 and a string header).
type keySum = [sha256.Size]byte

// keyCache remembers lookups for ttl, valid keys and refused ones in two
// separate bounded LRUs: refused keys cost nothing to make up, so a flood of
// them churns only its own LRU and can never evict a valid key. Outages are
// never cached.
type keyCache struct {
	ttl     time.Duration
	mu      sync.Mutex
	valid   *lru[keySum, validEntry]
	invalid *lru[keySum, invalidEntry]
}

type validEntry struct {
	p  Principal
	at time.Time
}

type invalidEntry struct {
	reason string // reasonUnknown or reasonRevoked
	at     time.Time
}

// cacheState is what the cache knows of a key.
type cacheState int

const (
	cacheMiss    cacheState = iota // never seen, or seen refused more than ttl ago
	cacheValid                     // valid less than ttl ago
	cacheStale                     // valid, but more than ttl ago: look it up again
	cacheInvalid                   // refused less than ttl ago
)

func newKeyCache(ttl time.Duration, valid, invalid int) *keyCache {
	return &keyCache{ttl: ttl, valid: newLRU[keySum, validEntry](valid), invalid: newLRU[keySum, invalidEntry](invalid)}
}

// get returns what the cache knows of sum at now: the principal of a valid
// key, the reason of a refused one.
func (c *keyCache) get(sum keySum, now time.Time) (Principal, string, cacheState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.valid.get(sum); ok {
		if now.Sub(e.at) < c.ttl {
			return e.p, "", cacheValid
		}
		return Principal{}, "", cacheStale
	}
	if e, ok := c.invalid.get(sum); ok && now.Sub(e.at) < c.ttl {
		return Principal{}, e.reason, cacheInvalid
	}
	return Principal{}, "", cacheMiss
}

func (c *keyCache) putValid(sum keySum, p Principal, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.invalid.remove(sum)
	c.valid.put(sum, validEntry{p: p, at: now})
}

// putInvalid records a refused key and returns why it was refused: a key
// the cache holds (or held) as valid is revoked, any other unknown. The
// query does not tell the two apart (it skips revoked rows), so a revoked
// key the cache has forgotten counts as unknown.
func (c *keyCache) putInvalid(sum keySum, now time.Time) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	reason := reasonUnknown
	if _, ok := c.valid.get(sum); ok {
		reason = reasonRevoked
		c.valid.remove(sum)
	} else if e, ok := c.invalid.get(sum); ok {
		reason = e.reason
	}
	c.invalid.put(sum, invalidEntry{reason: reason, at: now})
	return reason
}

// forget drops what the cache knows of sum (a key just stored).
func (c *keyCache) forget(sum keySum) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.valid.remove(sum)
	c.invalid.remove(sum)
}

// sizes returns the number of valid and refused keys held.
func (c *keyCache) sizes() (valid, invalid int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.valid.len(), c.invalid.len()
}
