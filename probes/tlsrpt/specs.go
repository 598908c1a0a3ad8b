package tlsrpt

import "github.com/deliverability-exporter/deliverability_exporter/probes"

// The check of the probe, as docs/checks.md defines it.
var checkPresent = probes.CheckSpec{ID: "tlsrpt.present", Level: probes.LevelShould,
	Passing: "_smtp._tls.<domain> TXT is one v=TLSRPTv1 record whose rua= lists valid mailto: and https: URIs (RFC 8460 §3)"}

var allChecks = []probes.CheckSpec{checkPresent}

// The measurements of the probe; the scheme label is mailto or https.
var metricDestinations = &probes.MetricSpec{Name: "mail_tlsrpt_destinations",
	Help: "Number of valid TLS-RPT report destinations (rua URIs) the domain publishes, by scheme.", Labels: []string{"scheme"}}

var allMetrics = []*probes.MetricSpec{metricDestinations}

// CheckSpecs lists every check the probe records.
func (p *Probe) CheckSpecs() []probes.CheckSpec {
	return append([]probes.CheckSpec(nil), allChecks...)
}

// MetricSpecs lists every measurement family the probe records.
func (p *Probe) MetricSpecs() []*probes.MetricSpec {
	return append([]*probes.MetricSpec(nil), allMetrics...)
}
