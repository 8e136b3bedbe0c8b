package auth

import "github.com/prometheus/client_golang/prometheus"

// The defaults of the key store's bounds.
const (
	// DefaultValidKeys bounds the cache of valid keys: far more keys than a
	// deployment uses within one ttl, at about 200 bytes each (2 MB).
	DefaultValidKeys = 10_000
	// DefaultInvalidKeys bounds the cache of refused keys (about 150 bytes
	// each, 1.5 MB). It only spares the lookups of a client that retries
	// the same bad key; the failure limit is what bounds a flood of
	// distinct ones, which churns this cache and never the valid one.
	DefaultInvalidKeys = 10_000
	// DefaultFailureBurst and DefaultFailureRate make the token bucket of
	// failed key checks per client. A person pasting a wrong key, or a
	// script deployed with a revoked one, fails a handful of times: 20
	// leaves room for that without a 429. Past the burst a client costs at
	// most 2 lookups a second (one every 500 ms) instead of the ~600 a
	// second one client could force before, and a client that fixes its key
	// waits at most half a second for a token.
	DefaultFailureBurst = 20
	DefaultFailureRate  = 2.0
	// DefaultFailureClients bounds the buckets kept (about 120 bytes each,
	// 8 MB). A client pushed out starts again with a full bucket.
	DefaultFailureClients = 65_536
)

// Option configures a key store.
type Option func(*options)

type options struct {
	reg                    prometheus.Registerer
	validKeys, invalidKeys int
	burst                  int
	rate                   float64
	clients                int
}

func defaultOptions() options {
	return options{
		validKeys: DefaultValidKeys, invalidKeys: DefaultInvalidKeys,
		burst: DefaultFailureBurst, rate: DefaultFailureRate, clients: DefaultFailureClients,
	}
}

// WithRegisterer registers the key store's metrics on reg:
// siyu_auth_refused_total{reason} and siyu_auth_lookups_total{result}.
// Without it they are not exported.
func WithRegisterer(reg prometheus.Registerer) Option {
	return func(o *options) { o.reg = reg }
}

// WithCacheSizes bounds the caches of valid and of refused keys (least
// recently used first out). Values below 1 keep the defaults
// (DefaultValidKeys, DefaultInvalidKeys).
func WithCacheSizes(valid, invalid int) Option {
	return func(o *options) {
		if valid > 0 {
			o.validKeys = valid
		}
		if invalid > 0 {
			o.invalidKeys = invalid
		}
	}
}

// WithFailureLimit sets the token bucket of failed key checks per client:
// burst failures, then perSecond, with at most clients buckets kept.
// Values below or at 0 keep the defaults (DefaultFailureBurst,
// DefaultFailureRate, DefaultFailureClients).
func WithFailureLimit(burst int, perSecond float64, clients int) Option {
	return func(o *options) {
		if burst > 0 {
			o.burst = burst
		}
		if perSecond > 0 {
			o.rate = perSecond
		}
		if clients > 0 {
			o.clients = clients
		}
	}
}
