package ingest

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the pipeline's Prometheus metrics.
type Metrics struct {
	eventsIn      prometheus.Counter
	invalid       *prometheus.CounterVec
	deadLettered  prometheus.Counter
	deadShrunk    *prometheus.CounterVec
	deadDropped   prometheus.Counter
	rowsRefused   prometheus.Counter
	batchRows     prometheus.Histogram
	batchBytes    prometheus.Histogram
	insertSeconds prometheus.Histogram
	insertErrors  prometheus.Counter
	lag           *prometheus.GaugeVec
}

// NewMetrics registers the pipeline metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		eventsIn: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "siyu_ingest_events_total", Help: "Valid events written to ClickHouse (redeliveries included).",
		}),
		invalid: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "siyu_ingest_events_invalid_total", Help: "Invalid records, by the field that made them invalid.",
		}, []string{"field"}),
		deadLettered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "siyu_ingest_dead_lettered_total", Help: "Records produced to the dead-letter topic.",
		}),
		deadShrunk: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "siyu_ingest_dead_letters_shrunk_total",
			Help: "Dead letters produced without their whole value (too large for the dead-letter topic), by form (truncated, headers).",
		}, []string{"form"}),
		deadDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "siyu_ingest_dead_letters_dropped_total",
			Help: "Dead letters the dead-letter topic refused even as headers alone (logged with their source offset).",
		}),
		rowsRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "siyu_ingest_rows_refused_total",
			Help: "Valid events ClickHouse refused for good, split out of their batch and dead-lettered.",
		}),
		batchRows: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "siyu_ingest_batch_rows", Help: "Events per ClickHouse insert.",
			Buckets: prometheus.ExponentialBuckets(10, 4, 8),
		}),
		batchBytes: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "siyu_ingest_batch_bytes", Help: "Estimated payload bytes per ClickHouse insert.",
			Buckets: prometheus.ExponentialBuckets(1024, 4, 9),
		}),
		insertSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "siyu_ingest_insert_seconds", Help: "ClickHouse insert latency.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}),
		insertErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "siyu_ingest_insert_errors_total", Help: "Failed ClickHouse inserts (retried, or bisected when permanent).",
		}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "siyu_ingest_consumer_lag", Help: "Records behind the partition's high watermark at the last fetch.",
		}, []string{"topic", "partition"}),
	}
	if reg != nil {
		reg.MustRegister(m.eventsIn, m.invalid, m.deadLettered, m.deadShrunk, m.deadDropped, m.rowsRefused, m.batchRows, m.batchBytes,
			m.insertSeconds, m.insertErrors, m.lag)
	}
	return m
}
