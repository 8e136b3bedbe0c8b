package followup

import "github.com/prometheus/client_golang/prometheus"

// poolMetrics are the pool's metrics; they count whether registered or not.
type poolMetrics struct {
	loads *prometheus.CounterVec
}

func newPoolMetrics() poolMetrics {
	return poolMetrics{loads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "siyu_pool_book_loads_total",
		Help: "Reads of a tenant's pool state from ClickHouse by the decider, by reason: none (first, or after a failed write or a new term), " +
			"age (older than the reload interval), asked (a sweep), behind (the state lagged what the ingest group committed and no tail covered it)."},
		[]string{"reason"})}
}

// register adds the metrics and the pool's role to reg.
func (m poolMetrics) register(reg prometheus.Registerer, p *Pool) {
	role := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "siyu_pool_decider",
		Help: "1 when this process decides pool changes, 0 when it is a standby that refuses them."},
		func() float64 {
			if p.Role() == "decider" {
				return 1
			}
			return 0
		})
	reg.MustRegister(m.loads, role)
}
