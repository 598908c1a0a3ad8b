package dnsbl

import "github.com/deliverability-exporter/deliverability_exporter/probes"

// The checks of the probe, as docs/checks.md defines them.
var (
	checkIP = probes.CheckSpec{ID: "dnsbl.ip", Level: probes.LevelMust,
		Passing: "no MX or outbound IP (v4 and v6) is listed on a configured IP list"}
	checkDomain = probes.CheckSpec{ID: "dnsbl.domain", Level: probes.LevelMust,
		Passing: "the domain (and MX host names) are not on a configured domain list"}
	checkHealth = probes.CheckSpec{ID: "dnsbl.list_health", Level: probes.LevelInfo,
		Passing: "each list answers its RFC 5782 test point (127.0.0.2 listed, 127.0.0.1 not) and no error code"}
	checkAllow = probes.CheckSpec{ID: "dnswl.listed", Level: probes.LevelMay,
		Passing: "an IP is on a configured allowlist"}
)

var allChecks = []probes.CheckSpec{checkIP, checkDomain, checkHealth, checkAllow}

// The measurements of the probe. Label values are bounded by the
// configuration (zones, codes and their meanings) and by what the domain
// publishes (its MX addresses and names, at most maxIPSubjects and
// maxNameSubjects of them, plus the request's outbound IPs).
var (
	metricListed = &probes.MetricSpec{Name: "mail_dnsbl_listed",
		Help:   "Whether a blocklist lists the subject (an MX or outbound address, the domain or an MX host name), with the listing's severity (critical, warning, info: its return codes' on the list, one step lower for a subject that only receives mail; for a subject not listed, the list's own).",
		Labels: []string{"zone", "subject", "severity"}}
	metricReturnCode = &probes.MetricSpec{Name: "mail_dnsbl_return_code_info",
		Help:   "A return code a list answered for a listed subject, with its meaning from the module's codes.",
		Labels: []string{"zone", "subject", "code", "meaning"}}
	metricListError = &probes.MetricSpec{Name: "mail_dnsbl_list_error",
		Help:   "Whether a list refused or failed queries (an error code such as 127.255.255.254, an answer outside 127.0.0.0/8, SERVFAIL or timeout).",
		Labels: []string{"zone"}}
	metricListHealthy = &probes.MetricSpec{Name: "mail_dnsbl_list_healthy",
		Help:   "Whether a list answers its RFC 5782 test points as it should (127.0.0.2 listed, 127.0.0.1 not).",
		Labels: []string{"zone"}}
	metricAllowListed = &probes.MetricSpec{Name: "mail_dnswl_listed",
		Help:   "Whether an allowlist lists the address.",
		Labels: []string{"zone", "subject"}}
)

var allMetrics = []*probes.MetricSpec{
	metricListed, metricReturnCode, metricListError, metricListHealthy, metricAllowListed,
}

// CheckSpecs lists every check the probe records.
func (p *Probe) CheckSpecs() []probes.CheckSpec {
	return append([]probes.CheckSpec(nil), allChecks...)
}

// MetricSpecs lists every measurement family the probe records.
func (p *Probe) MetricSpecs() []*probes.MetricSpec {
	return append([]*probes.MetricSpec(nil), allMetrics...)
}
