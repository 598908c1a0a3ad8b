package mx

import "github.com/deliverability-exporter/deliverability_exporter/probes"

// The checks of the probe, as docs/checks.md defines them.
var (
	checkPresent = probes.CheckSpec{ID: "mx.present", Level: probes.LevelMust,
		Passing: "the domain publishes MX records (no implicit A/AAAA fallback; the implicit MX is still checked as its mail host)"}
	checkNull = probes.CheckSpec{ID: "mx.null", Level: probes.LevelInfo,
		Passing: "a null MX (0 .) stands alone: the domain receives no mail (RFC 7505)"}
	checkHostname = probes.CheckSpec{ID: "mx.hostname", Level: probes.LevelMust,
		Passing: "every MX target is a host name, not an IP literal and not a CNAME"}
	checkResolves = probes.CheckSpec{ID: "mx.resolves", Level: probes.LevelMust,
		Passing: "every MX host has A and/or AAAA"}
	checkIPv6 = probes.CheckSpec{ID: "mx.ipv6", Level: probes.LevelMay,
		Passing: "at least one MX host has AAAA"}
	checkPTRPresent = probes.CheckSpec{ID: "ptr.present", Level: probes.LevelMust,
		Passing: "every MX IP (v4 and v6) has a PTR record"}
	checkFCrDNS = probes.CheckSpec{ID: "ptr.fcrdns", Level: probes.LevelMust,
		Passing: "the PTR name resolves back to the same IP"}
	checkNotGeneric = probes.CheckSpec{ID: "ptr.not_generic", Level: probes.LevelShould,
		Passing: "the PTR name does not look auto-assigned"}
	checkRoleLabel = probes.CheckSpec{ID: "ptr.role_label", Level: probes.LevelMay,
		Passing: "the PTR name has a role label (mail, mx, smtp, mta, ...)"}
	checkDNSSECDomain = probes.CheckSpec{ID: "dnssec.domain", Level: probes.LevelShould,
		Passing: "answers for the domain validate (AD bit from the validating resolver)"}
	checkDNSSECMX = probes.CheckSpec{ID: "dnssec.mx", Level: probes.LevelShould,
		Passing: "answers for each MX host of the domain's own organization validate (a provider's MX hosts count only when they validate: their zones are the provider's to sign)"}
	checkDNSSECNotBogus = probes.CheckSpec{ID: "dnssec.not_bogus", Level: probes.LevelMust,
		Passing: "the resolver refuses no answer for the domain or its MX hosts as DNSSEC-bogus (skipped when none is signed)"}
	checkCAA = probes.CheckSpec{ID: "caa.present", Level: probes.LevelMay,
		Passing: "the domain (or its parent) publishes CAA"}
	checkSRV = probes.CheckSpec{ID: "srv.client", Level: probes.LevelMay,
		Passing: `RFC 6186 SRV records for submission/imap exist or say "not offered" (0 0 0 .)`}
)

var allChecks = []probes.CheckSpec{
	checkPresent, checkNull, checkHostname, checkResolves, checkIPv6,
	checkPTRPresent, checkFCrDNS, checkNotGeneric, checkRoleLabel,
	checkDNSSECDomain, checkDNSSECMX, checkDNSSECNotBogus, checkCAA, checkSRV,
}

// The measurements of the probe. Label values are bounded by the request's
// limits, whatever the domain publishes: at most limits.mx_hosts hosts,
// limits.addresses_per_host addresses each, and maxPTRNames PTR names for
// each of at most limits.ptr_questions addresses.
var (
	metricHosts = &probes.MetricSpec{Name: "mail_mx_hosts",
		Help: "Number of MX hosts, null MX excluded."}
	metricNull = &probes.MetricSpec{Name: "mail_mx_null",
		Help: "Whether the domain publishes a null MX (RFC 7505)."}
	metricImplicit = &probes.MetricSpec{Name: "mail_mx_implicit",
		Help: "Whether the domain publishes no MX records but has addresses, so senders deliver to it as its implicit MX (RFC 5321 section 5.1), which the probes check as its mail host."}
	metricHostInfo = &probes.MetricSpec{Name: "mail_mx_host_info",
		Help: "An MX host of the domain and its preference.", Labels: []string{"mx", "preference"}}
	metricHostAddresses = &probes.MetricSpec{Name: "mail_mx_host_addresses",
		Help: "Number of addresses a mail host resolves to, by family.", Labels: []string{"mx", "family"}}
	metricPTRInfo = &probes.MetricSpec{Name: "mail_ptr_info",
		Help: "A PTR name published for a mail server address.", Labels: []string{"mx", "ip", "ptr"}}
	metricPTRConfirmed = &probes.MetricSpec{Name: "mail_ptr_forward_confirmed",
		Help: "Whether a PTR name of the address resolves back to it.", Labels: []string{"mx", "ip"}}
	metricDNSSEC = &probes.MetricSpec{Name: "mail_dnssec_authenticated",
		Help: "Whether the resolver validated the answers for the name with DNSSEC.", Labels: []string{"name"}}
	metricSRV = &probes.MetricSpec{Name: "mail_srv_records",
		Help: "Number of SRV records published for a mail client service.", Labels: []string{"service"}}
)

var allMetrics = []*probes.MetricSpec{
	metricHosts, metricNull, metricImplicit, metricHostInfo, metricHostAddresses,
	metricPTRInfo, metricPTRConfirmed, metricDNSSEC, metricSRV,
}

// CheckSpecs lists every check the probe records.
func (p *Probe) CheckSpecs() []probes.CheckSpec {
	return append([]probes.CheckSpec(nil), allChecks...)
}

// MetricSpecs lists every measurement family the probe records.
func (p *Probe) MetricSpecs() []*probes.MetricSpec {
	return append([]*probes.MetricSpec(nil), allMetrics...)
}
