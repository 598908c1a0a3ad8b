package mtasts

import "github.com/deliverability-exporter/deliverability_exporter/probes"

// The checks of the probe, as docs/checks.md defines them. "must (if record)"
// and "must (if enforce)" are must checks that are skipped when their
// condition does not hold.
var (
	checkRecord = probes.CheckSpec{ID: "mtasts.record", Level: probes.LevelShould,
		Passing: "_mta-sts.<domain> TXT is v=STSv1; id=... (exactly one, RFC 8461 §3.1)"}
	checkPolicy = probes.CheckSpec{ID: "mtasts.policy", Level: probes.LevelMust,
		Passing: "https://mta-sts.<domain>/.well-known/mta-sts.txt fetches with a valid certificate, no redirect, 200, text/plain, within the size limit, and parses (RFC 8461 §3.2, §3.3)"}
	checkMXMatch = probes.CheckSpec{ID: "mtasts.mx_match", Level: probes.LevelMust,
		Passing: "in enforce mode, every MX host matches a policy mx: pattern (RFC 8461 §4.1) and, when the module runs the smtp probe, presents a certificate valid for its name (RFC 8461 §4.2)"}
	checkMode = probes.CheckSpec{ID: "mtasts.mode", Level: probes.LevelMay,
		Passing: "the policy's mode is enforce"}
	checkMaxAge = probes.CheckSpec{ID: "mtasts.max_age", Level: probes.LevelMay,
		Passing: "the policy's max_age is at least the module's min_max_age (one day by default; RFC 8461 advises weeks)"}
	checkIDChanged = probes.CheckSpec{ID: "mtasts.id_changed", Level: probes.LevelShould,
		Passing: "the policy content did not change while the TXT id stayed the same (remembered across probes, RFC 8461 §3.1)"}
)

var allChecks = []probes.CheckSpec{
	checkRecord, checkPolicy, checkMXMatch, checkMode, checkMaxAge, checkIDChanged,
}

// The measurements of the probe. The mx label is bounded by the MX hosts
// the domain publishes (mailhosts.MaxHosts), the mode by the three modes.
var (
	metricPolicyInfo = &probes.MetricSpec{Name: "mail_mtasts_policy_info",
		Help: "The mode of the MTA-STS policy the domain serves, when it fetched and parsed.", Labels: []string{"mode"}}
	metricMaxAge = &probes.MetricSpec{Name: "mail_mtasts_max_age_seconds",
		Help: "How long senders may cache the MTA-STS policy (its max_age)."}
	metricMXMatch = &probes.MetricSpec{Name: "mail_mtasts_mx_match",
		Help: "Whether an MX host matches an mx pattern of the MTA-STS policy (RFC 8461 §4.1).", Labels: []string{"mx"}}
	metricCertExpiry = &probes.MetricSpec{Name: "mail_mtasts_cert_expiry_timestamp_seconds",
		Help: "When the earliest certificate the MTA-STS policy host serves expires, verified or not."}
	metricCertNotBefore = &probes.MetricSpec{Name: "mail_mtasts_cert_not_before_timestamp_seconds",
		Help: "When the certificate the MTA-STS policy host serves became valid, verified or not."}
)

var allMetrics = []*probes.MetricSpec{
	metricPolicyInfo, metricMaxAge, metricMXMatch, metricCertExpiry, metricCertNotBefore,
}

// CheckSpecs lists every check the probe records.
func (p *Probe) CheckSpecs() []probes.CheckSpec {
	return append([]probes.CheckSpec(nil), allChecks...)
}

// MetricSpecs lists every measurement family the probe records.
func (p *Probe) MetricSpecs() []*probes.MetricSpec {
	return append([]*probes.MetricSpec(nil), allMetrics...)
}
