package wecom

import "github.com/prometheus/client_golang/prometheus"

// The outcomes of a callback.
const (
	outcomeAccepted = "accepted" // an event stored in Kafka, "success" answered
	outcomeVerified = "verified" // a URL verification answered
	outcomeRefused  = "refused"  // see siyu_wecom_refused_total
	outcomeFailed   = "failed"   // Kafka or ClickHouse failed: WeCom retries
)

// metrics count callbacks. Every label value is from a fixed set.
type metrics struct {
	callbacks *prometheus.CounterVec
	refusals  *prometheus.CounterVec
	events    *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "siyu_wecom_callbacks_total",
			Help: "WeCom callbacks by outcome: accepted, verified (URL verification), refused, failed (retried by WeCom).",
		}, []string{"outcome"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "siyu_wecom_refused_total",
			Help: "WeCom callbacks refused, by reason (signature, stale, decrypt, receive_id, ...).",
		}, []string{"reason"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "siyu_wecom_events_total",
			Help: "Events produced from WeCom callbacks, by type; wecom.unmapped counts kinds kept raw. WeCom's retries count again.",
		}, []string{"type"}),
	}
	for _, o := range []string{outcomeAccepted, outcomeVerified, outcomeRefused, outcomeFailed} {
		m.callbacks.WithLabelValues(o)
	}
	for _, r := range Reasons() {
		m.refusals.WithLabelValues(string(r))
	}
	for _, t := range producedTypes {
		m.events.WithLabelValues(string(t))
	}
	if reg != nil {
		reg.MustRegister(m.callbacks, m.refusals, m.events)
	}
	return m
}

func (m *metrics) refused(r Reason) {
	m.callbacks.WithLabelValues(outcomeRefused).Inc()
	m.refusals.WithLabelValues(string(r)).Inc()
}
