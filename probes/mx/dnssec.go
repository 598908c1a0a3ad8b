package mx

import (
	"fmt"
	"strings"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
	"github.com/deliverability-exporter/deliverability_exporter/probes/mailhosts"
)

// The DNSSEC checks read the AD bit of answers already received (RFC 4035
// §3.2.3, RFC 6840 §5.8): the exporter does not validate itself, it trusts
// the module's resolver, so the evidence always names that resolver. A
// non-validating resolver makes every signed zone look unsigned.

// recordDNSSECDomain judges the MX answer of the domain.
func (r *run) recordDNSSECDomain(set *mailhosts.Set) {
	domain := r.target.Name
	ans := set.MX
	r.measureDNSSEC(domain, ans.Authenticated)
	if ans.Authenticated {
		r.res.Pass(checkDNSSECDomain,
			"the MX answer for "+domain+" validated (AD bit set by resolver "+ans.Server+")",
			"MX "+domain+": AD bit set by "+ans.Server)
		return
	}
	r.res.Fail(checkDNSSECDomain,
		"the MX answer for "+domain+" was not validated: resolver "+ans.Server+" did not set the AD bit",
		"sign "+domain+" with DNSSEC and publish its DS record at the registrar; if it is signed already, "+
			"make the module's resolvers a validating resolver (only a validating resolver sets the AD bit)",
		"MX "+domain+": no AD bit from "+ans.Server)
}

// recordDNSSECHosts judges the A and AAAA answers of every host.
func (r *run) recordDNSSECHosts(hosts []*mailhosts.Host) {
	var v probes.Verdict
	var insecureHosts, servers []string
	for _, h := range hosts {
		if h.IPLiteral {
			continue // no name, nothing to validate; mx.hostname reports it
		}
		answers := []*dnsclient.Answer{h.A, h.AAAA}
		insecure := unauthenticated(answers)
		if insecure == nil && (h.A == nil || h.AAAA == nil) {
			v.Unknown(hostErr(h))
			continue
		}
		r.measureDNSSEC(h.Name, insecure == nil)
		if insecure != nil {
			insecureHosts = append(insecureHosts, h.Name)
			servers = append(servers, insecure.Server)
			v.See(fmt.Sprintf("%s %s: no AD bit from %s", dnsclient.TypeName(insecure.Type), h.Name, insecure.Server))
			v.Fail(h.Name, "")
			continue
		}
		v.See(fmt.Sprintf("A/AAAA %s: AD bit set by %s", h.Name, answerServers(answers)))
	}
	if len(insecureHosts) > 0 {
		v.FailReason = fmt.Sprintf("answers for %s are not validated (no AD bit from resolver %s)",
			quoteAll(insecureHosts), strings.Join(probes.Dedup(servers), ", "))
		v.Fixes = []string{"sign the zones of " + probes.JoinNames(insecureHosts) +
			" with DNSSEC and publish their DS records at the parent; if they are signed already, " +
			"make the module's resolvers validating (only a validating resolver sets the AD bit)"}
	}
	v.RecordOrSkip(r.res, checkDNSSECMX, "the answers for every mail host validated", "no MX target is a host name")
}

// quoteAll quotes DNS-supplied names for a reason line.
func quoteAll(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = probes.Quote(n)
	}
	return probes.JoinNames(quoted)
}

// unauthenticated returns the first answer without the AD bit, or nil.
func unauthenticated(answers []*dnsclient.Answer) *dnsclient.Answer {
	for _, a := range answers {
		if a != nil && !a.Authenticated {
			return a
		}
	}
	return nil
}

// answerServers names the resolvers that gave the answers.
func answerServers(answers []*dnsclient.Answer) string {
	var servers []string
	for _, a := range answers {
		if a != nil {
			servers = append(servers, a.Server)
		}
	}
	return strings.Join(probes.Dedup(servers), ", ")
}

// measureDNSSEC records a name's status once: the MX host may be the domain
// itself.
func (r *run) measureDNSSEC(name string, authenticated bool) {
	if r.dnssecMeasured == nil {
		r.dnssecMeasured = map[string]bool{}
	}
	if r.dnssecMeasured[name] {
		return
	}
	r.dnssecMeasured[name] = true
	r.res.Measure(metricDNSSEC, boolValue(authenticated), name)
}
