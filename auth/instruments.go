package auth

import "github.com/prometheus/client_golang/prometheus"

// Why a key check was refused: the values of siyu_auth_refused_total's
// reason label.
const (
	reasonMissing     = "missing"      // no key sent
	reasonMalformed   = "malformed"    // not shaped like a Siyu key: refused without a lookup
	reasonUnknown     = "unknown"      // well formed, but no such key
	reasonRevoked     = "revoked"      // a key this process knew as valid, now revoked
	reasonRateLimited = "rate_limited" // the client failed too often: refused without a lookup
)

// The results of a ClickHouse key lookup: siyu_auth_lookups_total's label.
const (
	lookupValid   = "valid"
	lookupUnknown = "unknown" // no such key, or revoked
	lookupError   = "error"   // ClickHouse did not answer
)

type keyMetrics struct {
	refused *prometheus.CounterVec
	lookups *prometheus.CounterVec
}

// newKeyMetrics makes the key store's metrics and registers them on reg
// (none: they are kept but not exported). Every label value starts at zero,
// so a scrape shows a refusal reason before the first refusal.
func newKeyMetrics(reg prometheus.Registerer) *keyMetrics {
	m := &keyMetrics{
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "siyu_auth_refused_total", Help: "Requests refused by the API key check, by reason.",
		}, []string{"reason"}),
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "siyu_auth_lookups_total", Help: "API key lookups in ClickHouse (cache misses), by result.",
		}, []string{"result"}),
	}
	for _, r := range []string{reasonMissing, reasonMalformed, reasonUnknown, reasonRevoked, reasonRateLimited} {
		m.refused.WithLabelValues(r)
	}
	for _, r := range []string{lookupValid, lookupUnknown, lookupError} {
		m.lookups.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.refused, m.lookups)
	}
	return m
}
