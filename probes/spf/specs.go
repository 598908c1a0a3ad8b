package spf

import "github.com/deliverability-exporter/deliverability_exporter/probes"

// The checks of the probe, as docs/checks.md defines them.
var (
	checkPresent = probes.CheckSpec{ID: "spf.present", Level: probes.LevelMust,
		Passing: "exactly one TXT record starts with v=spf1"}
	checkSyntax = probes.CheckSpec{ID: "spf.syntax", Level: probes.LevelMust,
		Passing: "the record and every included record parse"}
	checkLookupLimit = probes.CheckSpec{ID: "spf.lookup_limit", Level: probes.LevelMust,
		Passing: "DNS-querying terms (include, a, mx, ptr, exists, redirect) <= 10 across the whole tree"}
	checkVoidLimit = probes.CheckSpec{ID: "spf.void_lookup_limit", Level: probes.LevelMust,
		Passing: "lookups answering NXDOMAIN or no data <= 2, for the address families the domain sends from"}
	checkNoLoop = probes.CheckSpec{ID: "spf.no_loop", Level: probes.LevelMust,
		Passing: "no include/redirect loop"}
	checkAllPolicy = probes.CheckSpec{ID: "spf.all_policy", Level: probes.LevelMust,
		Passing: "ends in an acceptable all (default: ~all or -all); +all and ?all fail"}
	checkNoPTR = probes.CheckSpec{ID: "spf.no_ptr", Level: probes.LevelShould,
		Passing: "no ptr mechanism"}
	checkNotTooBroad = probes.CheckSpec{ID: "spf.not_too_broad", Level: probes.LevelShould,
		Passing: "the IPv4 space the domain's own terms authorise <= a threshold (default /16, 65536 addresses); a provider's include is reported, not counted"}
	checkOutbound = probes.CheckSpec{ID: "spf.authorizes_outbound", Level: probes.LevelShould,
		Passing: "each outbound IP (the request's, and the addresses of the domain's own MX hosts or implicit MX; never a provider's MX) evaluates to pass"}
	checkHELO = probes.CheckSpec{ID: "spf.helo", Level: probes.LevelShould,
		Passing: "each HELO/EHLO name has its own SPF record"}
)

var allChecks = []probes.CheckSpec{
	checkPresent, checkSyntax, checkLookupLimit, checkVoidLimit, checkNoLoop,
	checkAllPolicy, checkNoPTR, checkNotTooBroad, checkOutbound, checkHELO,
}

// The measurements of the probe. Label values are bounded by what the
// domain publishes and the module configures: the four qualifiers, the
// evaluated IPs (the addresses of the domain's own mail hosts and the
// outbound IPs, at most maxEvaluatedIPs), the seven results and the
// configured HELO names.
var (
	metricLookups = &probes.MetricSpec{Name: "mail_spf_dns_lookups",
		Help: "DNS-querying SPF terms (include, a, mx, ptr, exists, redirect) a receiver evaluates for a client no term matches, across the domain's tree; the limit is 10 (RFC 7208 section 4.6.4)."}
	metricVoids = &probes.MetricSpec{Name: "mail_spf_void_lookups",
		Help: "SPF lookups of the domain's tree that answer NXDOMAIN or no records, for the client family that meets more of them among those the domain sends from; the limit is 2."}
	metricRecords = &probes.MetricSpec{Name: "mail_spf_records",
		Help: "Number of TXT records of the domain that start with v=spf1; more than one is a permerror."}
	metricIPv4 = &probes.MetricSpec{Name: "mail_spf_authorized_ipv4_addresses",
		Help: "Number of IPv4 addresses the domain's SPF tree gives a pass."}
	metricIPv6 = &probes.MetricSpec{Name: "mail_spf_authorized_ipv6_prefixes_64",
		Help: "Number of IPv6 /64 prefixes in which the domain's SPF tree gives some address a pass."}
	metricAll = &probes.MetricSpec{Name: "mail_spf_all_info",
		Help: "The result the all ending the domain's SPF evaluation gives (neutral for the implicit ?all).", Labels: []string{"qualifier"}}
	metricCheckHost = &probes.MetricSpec{Name: "mail_spf_check_host_result_info",
		Help: "The SPF check_host() result for an MX or outbound IP of the domain.", Labels: []string{"ip", "result"}}
	metricHELO = &probes.MetricSpec{Name: "mail_spf_helo_record",
		Help: "Whether a HELO name publishes an SPF record of its own.", Labels: []string{"helo"}}
)

var allMetrics = []*probes.MetricSpec{
	metricLookups, metricVoids, metricRecords, metricIPv4, metricIPv6,
	metricAll, metricCheckHost, metricHELO,
}

// CheckSpecs lists every check the probe records.
func (p *Probe) CheckSpecs() []probes.CheckSpec {
	return append([]probes.CheckSpec(nil), allChecks...)
}

// MetricSpecs lists every measurement family the probe records.
func (p *Probe) MetricSpecs() []*probes.MetricSpec {
	return append([]*probes.MetricSpec(nil), allMetrics...)
}
