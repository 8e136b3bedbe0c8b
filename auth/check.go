package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"
)

// ErrMissingKey means the request carried no key. It is an ErrInvalidKey.
var ErrMissingKey = fmt.Errorf("missing API key: %w", ErrInvalidKey)

// TooManyFailuresError refuses a client that failed too many key checks;
// its key was not looked up.
type TooManyFailuresError struct {
	// RetryAfter is how long until the client may fail again.
	RetryAfter time.Duration
}

func (e *TooManyFailuresError) Error() string {
	return fmt.Sprintf("too many failed API key checks from this address: retry in %s", e.RetryAfter.Round(time.Millisecond))
}

// Check returns the principal of the key a client sent ("" for none), or
// ErrInvalidKey (ErrMissingKey when there was none), or a
// *TooManyFailuresError, or the error of a ClickHouse that did not answer.
//
// Every failed check (no key, a malformed, unknown or revoked one) spends a
// token of the client's bucket (see WithFailureLimit), and a client without
// one is refused before its key is looked up, so the ClickHouse lookups a
// client can force are bounded by the burst and the rate. A key the cache
// holds as valid is never refused: it costs no lookup, and a valid key
// shared with a flooding address (behind one NAT) keeps working, including
// its refresh after ttl (which a client cannot force for a key it does not
// hold). What such an address loses is the first lookup of a valid key the
// cache does not know, until a token is back (at most 1/rate).
//
// A failure is counted once the lookup has failed, not reserved before it:
// a valid key never needs a token, so a busy client with a cold cache (many
// concurrent requests from one address) is never refused. The price is that
// concurrent lookups from one address can overshoot its burst by as many as
// it has in flight, which its bucket then owes (see failureLimiter.spend).
//
// client is the address the request came from (Fiber's c.IP(): the peer,
// unless the app trusts a proxy header); it is parsed, never kept.
func (k *Keys) Check(ctx context.Context, client, secret string) (Principal, error) {
	from, now := clientOf(client), k.now()
	if secret == "" {
		return Principal{}, k.refuse(from, now, reasonMissing, ErrMissingKey)
	}
	if !wellFormed(secret) {
		return Principal{}, k.refuse(from, now, reasonMalformed, ErrInvalidKey)
	}
	sum := sha256.Sum256([]byte(secret))
	p, reason, state := k.cache.get(sum, now)
	switch state {
	case cacheValid:
		return p, nil
	case cacheInvalid:
		return Principal{}, k.refuse(from, now, reason, ErrInvalidKey)
	case cacheStale:
		return k.refresh(ctx, from, sum, now)
	}
	// A key the cache does not know costs a lookup: only for a client with
	// a token left, spent if the key is refused.
	if wait, ok := k.limiter.allow(from, now); !ok {
		return Principal{}, k.rateLimited(wait)
	}
	p, reason, err := k.fetch(ctx, sum, now)
	if !errors.Is(err, ErrInvalidKey) {
		return p, err
	}
	k.limiter.spend(from, now)
	k.metrics.refused.WithLabelValues(reason).Inc()
	return Principal{}, err
}

// refresh looks up again a key that was valid more than ttl ago, whatever
// the client's bucket holds.
func (k *Keys) refresh(ctx context.Context, from clientKey, sum keySum, now time.Time) (Principal, error) {
	p, reason, err := k.fetch(ctx, sum, now)
	if errors.Is(err, ErrInvalidKey) {
		return Principal{}, k.refuse(from, now, reason, err)
	}
	return p, err
}

// refuse spends a token of the client's bucket for a failed check and
// returns err, or a *TooManyFailuresError when no token was left.
func (k *Keys) refuse(from clientKey, now time.Time, reason string, err error) error {
	if wait, ok := k.limiter.take(from, now); !ok {
		return k.rateLimited(wait)
	}
	k.metrics.refused.WithLabelValues(reason).Inc()
	return err
}

func (k *Keys) rateLimited(wait time.Duration) error {
	k.metrics.refused.WithLabelValues(reasonRateLimited).Inc()
	return &TooManyFailuresError{RetryAfter: wait}
}
