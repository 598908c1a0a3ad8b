package mx

import (
	"fmt"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
	"github.com/deliverability-exporter/deliverability_exporter/probes/mailhosts"
)

// recordDNSSECMX judges dnssec.mx on the mail hosts the domain's own
// organization runs (mailhosts.Host.OwnOrganization), and on a provider's
// MX hosts only where their answers validated: whether a provider's MX
// hosts (aspmx.l.google.com, *.mail.protection.outlook.com) are in a
// signed zone is the provider's decision, which no customer can change. A
// provider's host whose answers did not validate (and were not refused as
// bogus) is named in the evidence and not judged; with no host left to judge, the check is skipped,
// naming the providers' zones. Their mail_dnssec_authenticated samples
// are recorded all the same: what the resolver said is a fact either way.
func (r *run) recordDNSSECMX(hosts []*mailhosts.Host) {
	var judged []*mailhosts.Host
	var provider, zones, evidence []string
	for _, h := range hosts {
		answers := []*dnsclient.Answer{h.A, h.AAAA}
		validated := h.A != nil && h.AAAA != nil && unauthenticated(answers) == nil
		// A bogus answer is judged wherever it is: validation failing is
		// never left out (dnssec.go).
		if h.OwnOrganization || h.IPLiteral || validated || bogusOf(answers) != nil {
			judged = append(judged, h)
			continue
		}
		provider = append(provider, h.Name)
		if !contains(zones, zoneOf(h)) {
			zones = append(zones, zoneOf(h))
		}
		if h.A != nil && h.AAAA != nil {
			r.measureDNSSEC(h.Name, false)
		}
		evidence = append(evidence, fmt.Sprintf("%s: not validated, in %s, its provider's zone: not judged (only %s can sign it)", h.Name, zoneOf(h), zoneOf(h)))
	}
	switch {
	case len(provider) == 0:
		r.recordDNSSECHosts(hosts)
	case len(judged) == 0:
		r.res.Skip(checkDNSSECMX, fmt.Sprintf("the MX hosts of %s (%s) are its provider's, in %s, whose answers did not validate: whether they are DNSSEC-signed is the provider's decision, not %s's",
			r.target.Name, probes.JoinNames(provider), probes.JoinNames(zones), r.target.Name))
	default:
		r.recordDNSSECHosts(judged)
		// Add the provider hosts to the evidence of the verdict on the
		// others: a skip with evidence changes neither its status nor
		// its reason.
		r.res.Add(probes.Check{ID: checkDNSSECMX.ID, Level: checkDNSSECMX.Level, Status: probes.StatusSkip, Evidence: evidence})
	}
}

// zoneOf names the zone a host is in, as far as its name tells.
func zoneOf(h *mailhosts.Host) string {
	if h.Organization != "" {
		return h.Organization
	}
	return h.Name
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
