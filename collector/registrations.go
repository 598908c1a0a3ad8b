package collector

import (
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dkim"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dmarc"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsbl"
	"github.com/deliverability-exporter/deliverability_exporter/probes/mtasts"
	"github.com/deliverability-exporter/deliverability_exporter/probes/mx"
	"github.com/deliverability-exporter/deliverability_exporter/probes/smtp"
	"github.com/deliverability-exporter/deliverability_exporter/probes/spf"
	"github.com/deliverability-exporter/deliverability_exporter/probes/tlsrpt"
)

// Registrations are the probes the exporter has, in the order a module's
// probes run and are reported. Each probe package declares its own
// Registration (how it is built, the facts it reads, the facts its block
// supplies); its block is a field of config.Blocks.
var Registrations = []probes.Registration{
	mx.Registration,
	spf.Registration,
	dkim.Registration,
	dmarc.Registration,
	mtasts.Registration,
	tlsrpt.Registration,
	smtp.Registration,
	dnsbl.Registration,
}

// Catalogue lists every check and every metric family a probe request can
// produce, for documentation and for the test that keeps docs/checks.md and
// docs/metrics.md true.
func Catalogue() (checks []probes.CheckSpec, metrics []*probes.MetricSpec) {
	metrics = append(metrics, FrameMetricSpecs...)
	for _, r := range Registrations {
		d := r.Describe()
		checks = append(checks, d.CheckSpecs()...)
		metrics = append(metrics, d.MetricSpecs()...)
	}
	return checks, metrics
}
