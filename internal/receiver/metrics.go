package receiver

import "github.com/prometheus/client_golang/prometheus"

var (
	sessionsDesc = prometheus.NewDesc("deliverability_exporter_receiver_outcomes_total",
		"Sessions and messages the built-in receiver accepted or refused, by outcome.", []string{"outcome"}, nil)
	pendingDesc = prometheus.NewDesc("deliverability_exporter_receiver_expected_messages",
		"Probe messages the built-in receiver expects or holds until the probe reads them.", nil, nil)
)

// Describe implements prometheus.Collector.
func (r *Receiver) Describe(ch chan<- *prometheus.Desc) {
	ch <- sessionsDesc
	ch <- pendingDesc
}

// Collect implements prometheus.Collector.
func (r *Receiver) Collect(ch chan<- prometheus.Metric) {
	counts := r.Counts()
	for _, o := range Outcomes {
		ch <- prometheus.MustNewConstMetric(sessionsDesc, prometheus.CounterValue, float64(counts[o]), string(o))
	}
	r.mu.Lock()
	n := len(r.pending)
	r.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(n))
}
