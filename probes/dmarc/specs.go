package dmarc

import "github.com/deliverability-exporter/deliverability_exporter/probes"

// The checks of the probe, as docs/checks.md defines them.
var (
	checkPresent = probes.CheckSpec{ID: "dmarc.present", Level: probes.LevelMust,
		Passing: "_dmarc.<domain> (or the organizational domain) publishes DMARC"}
	checkSyntax = probes.CheckSpec{ID: "dmarc.syntax", Level: probes.LevelMust,
		Passing: "one record, v=DMARC1 first, valid p=, tags valid"}
	checkPolicy = probes.CheckSpec{ID: "dmarc.policy", Level: probes.LevelShould,
		Passing: "p= (sp= for a subdomain) is in the accepted set (default: any)"}
	checkReports = probes.CheckSpec{ID: "dmarc.reports", Level: probes.LevelShould,
		Passing: "rua= has at least one valid mailto: URI"}
	checkExternalReports = probes.CheckSpec{ID: "dmarc.external_reports", Level: probes.LevelShould,
		Passing: "each external report domain authorises it (<domain>._report._dmarc.<dest>)"}
	checkPct = probes.CheckSpec{ID: "dmarc.pct", Level: probes.LevelMay,
		Passing: "pct= absent or 100"}
)

var allChecks = []probes.CheckSpec{
	checkPresent, checkSyntax, checkPolicy, checkReports, checkExternalReports, checkPct,
}

// The measurements of the probe. Label values are bounded: the three
// policies, two report types, three record sources.
var (
	metricPolicyInfo = &probes.MetricSpec{Name: "mail_dmarc_policy_info",
		Help:   "The DMARC policy that applies to the domain and to its subdomains.",
		Labels: []string{"policy", "subdomain_policy"}}
	metricPct = &probes.MetricSpec{Name: "mail_dmarc_pct",
		Help: "Percentage of failing mail the DMARC policy applies to (pct=, 100 when absent)."}
	metricReportDestinations = &probes.MetricSpec{Name: "mail_dmarc_report_destinations",
		Help:   "Number of valid report URIs in rua= (aggregate) or ruf= (failure) of the DMARC record.",
		Labels: []string{"type"}}
	metricRecordSource = &probes.MetricSpec{Name: "mail_dmarc_record_source_info",
		Help:   "Where the DMARC record that applies was found: at the domain, its organizational domain, or by the DNS tree walk.",
		Labels: []string{"source"}}
)

var allMetrics = []*probes.MetricSpec{metricPolicyInfo, metricPct, metricReportDestinations, metricRecordSource}

// CheckSpecs lists every check the probe records.
func (p *Probe) CheckSpecs() []probes.CheckSpec {
	return append([]probes.CheckSpec(nil), allChecks...)
}

// MetricSpecs lists every measurement family the probe records.
func (p *Probe) MetricSpecs() []*probes.MetricSpec {
	return append([]*probes.MetricSpec(nil), allMetrics...)
}
