package dkim

import "github.com/deliverability-exporter/deliverability_exporter/probes"

// The checks of the probe, as docs/checks.md defines them.
var (
	checkPresent = probes.CheckSpec{ID: "dkim.present", Level: probes.LevelMust,
		Passing: "at least one selector publishes a key (and every selector asked for by name does)"}
	checkKeyValid = probes.CheckSpec{ID: "dkim.key_valid", Level: probes.LevelMust,
		Passing: "p= decodes to a key of the declared k= type"}
	checkKeyStrength = probes.CheckSpec{ID: "dkim.key_strength", Level: probes.LevelMust,
		Passing: "RSA keys are at least 2048 bits (the module's min_rsa_bits); Ed25519 passes"}
	checkNotRevoked = probes.CheckSpec{ID: "dkim.not_revoked", Level: probes.LevelInfo,
		Passing: "an empty p= is reported as revoked (not a failure for old selectors)"}
	checkNotTesting = probes.CheckSpec{ID: "dkim.not_testing", Level: probes.LevelShould,
		Passing: "no key has t=y"}
	checkHash = probes.CheckSpec{ID: "dkim.hash", Level: probes.LevelShould,
		Passing: "h=, if present, allows sha256"}
	checkEd25519 = probes.CheckSpec{ID: "dkim.ed25519", Level: probes.LevelMay,
		Passing: "an Ed25519 selector exists besides RSA"}
)

var allChecks = []probes.CheckSpec{
	checkPresent, checkKeyValid, checkKeyStrength, checkNotRevoked,
	checkNotTesting, checkHash, checkEd25519,
}

// The measurements of the probe. Label values are bounded by what the
// domain publishes at the selectors looked up: at most the module's
// selectors, the request's dkim_selector= values and the discovery list.
var (
	metricKeyBits = &probes.MetricSpec{Name: "mail_dkim_key_bits",
		Help:   "Size of the DKIM public key in bits (RSA modulus length; 256 for Ed25519).",
		Labels: []string{"selector", "key_type"}}
	metricSelectorsFound = &probes.MetricSpec{Name: "mail_dkim_selectors_found",
		Help: "Number of selectors that publish a DKIM key record, revoked ones included."}
	metricKeyInfo = &probes.MetricSpec{Name: "mail_dkim_key_info",
		Help:   "A DKIM key record found, with its declared key type and t= flags (y testing, s strict).",
		Labels: []string{"selector", "key_type", "testing"}}
	metricKeyRevoked = &probes.MetricSpec{Name: "mail_dkim_key_revoked",
		Help:   "Whether the selector's key is revoked (empty p=).",
		Labels: []string{"selector"}}
)

var allMetrics = []*probes.MetricSpec{metricKeyBits, metricSelectorsFound, metricKeyInfo, metricKeyRevoked}

// CheckSpecs lists every check the probe records.
func (p *Probe) CheckSpecs() []probes.CheckSpec {
	return append([]probes.CheckSpec(nil), allChecks...)
}

// MetricSpecs lists every measurement family the probe records.
func (p *Probe) MetricSpecs() []*probes.MetricSpec {
	return append([]*probes.MetricSpec(nil), allMetrics...)
}
