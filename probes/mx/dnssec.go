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
//
// An answer the resolver refused as bogus (dnsclient.Bogus: SERVFAIL, its
// Extended DNS Error, and the data with checking disabled) fails all three
// checks: dnssec.not_bogus (must), because no sender that validates can
// deliver to the domain then, and dnssec.domain and dnssec.mx, which are
// about validation and so must not be absent when validation fails.

// recordDNSSECDomain judges the MX answer of the domain.
func (r *run) recordDNSSECDomain(set *mailhosts.Set) {
	domain := r.target.Name
	ans := set.MX
	r.measureDNSSEC(domain, ans.Authenticated)
	if ans.Bogus != nil {
		r.res.Fail(checkDNSSECDomain,
			"the MX answer for "+domain+" does not validate: resolver "+ans.Bogus.Server+" refused it as DNSSEC-bogus",
			bogusFixes([]bogusName{{domain, ans.Bogus}})[0], ans.Bogus.String(), cdEvidence(ans.Bogus.Server))
		return
	}
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
	var insecureHosts, bogusHosts, servers []string
	var bogus []bogusName
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
		if b := bogusOf(answers); b != nil {
			bogusHosts = append(bogusHosts, h.Name)
			bogus = append(bogus, bogusName{h.Name, b})
			v.Fail(h.Name, "", b.String())
			continue
		}
		if insecure != nil {
			insecureHosts = append(insecureHosts, h.Name)
			servers = append(servers, insecure.Server)
			v.See(fmt.Sprintf("%s %s: no AD bit from %s", dnsclient.TypeName(insecure.Type), h.Name, insecure.Server))
			v.Fail(h.Name, "")
			continue
		}
		v.See(fmt.Sprintf("A/AAAA %s: AD bit set by %s", h.Name, answerServers(answers)))
	}
	var reasons []string
	v.Fixes = bogusFixes(bogus)
	if len(bogusHosts) > 0 {
		reasons = append(reasons, "the resolver refused the answers for "+quoteAll(bogusHosts)+" as DNSSEC-bogus")
		v.See(cdEvidence(bogus[0].bogus.Server))
	}
	if len(insecureHosts) > 0 {
		reasons = append(reasons, fmt.Sprintf("answers for %s are not validated (no AD bit from resolver %s)",
			quoteAll(insecureHosts), strings.Join(probes.Dedup(servers), ", ")))
		v.Fixes = append(v.Fixes, "sign the zones of "+probes.JoinNames(insecureHosts)+
			" with DNSSEC and publish their DS records at the parent; if they are signed already, "+
			"make the module's resolvers validating (only a validating resolver sets the AD bit)")
	}
	v.FailReason = strings.Join(reasons, "; ")
	v.RecordOrSkip(r.res, checkDNSSECMX, "the answers for every mail host validated", "no MX target is a host name")
}

// recordNotBogus fails when the resolver refused an answer about the
// domain or its mail hosts as DNSSEC-bogus: every sender that validates
// (Gmail, Microsoft 365, Postfix with DANE, ...) then gets SERVFAIL and
// defers the mail (RFC 7672 §2.1.1 for DANE; any resolver that validates
// for the rest). set.MX is nil for a host target.
func (r *run) recordNotBogus(set *mailhosts.Set) {
	var v probes.Verdict
	var validated, hostsValidated int
	var bogus []bogusName
	judge := func(name string, list ...*dnsclient.Answer) bool {
		var types []string
		var first *dnsclient.Bogus
		secure := false
		for _, ans := range list {
			if ans == nil {
				continue
			}
			if ans.Authenticated {
				validated++
				secure = true
			}
			if ans.Bogus == nil {
				continue
			}
			types = append(types, dnsclient.TypeName(ans.Type))
			if first == nil {
				first = ans.Bogus
			}
			v.See(ans.Bogus.String())
		}
		if first != nil {
			bogus = append(bogus, bogusName{name, first})
			v.Fail(probes.Quote(name)+" ("+strings.Join(types, ", ")+")", "")
		}
		return secure
	}
	if set.MX != nil {
		judge(r.target.Name, set.MX)
	}
	for _, h := range set.Hosts {
		if h.IPLiteral {
			continue
		}
		if h.A == nil && h.AAAA == nil {
			v.Unknown(hostErr(h))
			continue
		}
		if judge(h.Name, h.A, h.AAAA) {
			hostsValidated++
		}
	}
	if validated == 0 && len(bogus) == 0 && len(v.Errs) == 0 {
		// Unsigned zones (or a resolver that does not validate): there
		// are no signatures that could fail. dnssec.domain and dnssec.mx
		// report the missing validation.
		r.res.Skip(checkDNSSECNotBogus, "no answer for "+r.target.Name+" or its mail hosts is DNSSEC-signed (no AD bit from "+
			strings.Join(r.dns.Servers(), ", ")+"): nothing to validate, so nothing can be bogus")
		return
	}
	if len(bogus) > 0 {
		v.FailReason = "the validating resolver refused the answers for " + probes.JoinNames(v.Problems) +
			" as DNSSEC-bogus: " + bogusConsequence(r.target, set)
		v.Fixes = bogusFixes(bogus)
		v.See(cdEvidence(bogus[0].bogus.Server))
	} else {
		v.See(fmt.Sprintf("%s validated (AD bit) for %s and %s, none refused as bogus by %s",
			probes.Plural(validated, "answer", "answers"), r.target.Name, probes.Plural(hostsValidated, "mail host", "mail hosts"),
			strings.Join(r.dns.Servers(), ", ")))
	}
	v.Record(r.res, checkDNSSECNotBogus, "the signed answers for "+r.target.Name+" and its mail hosts validate: the resolver refused none as DNSSEC-bogus")
}

// bogusConsequence says what bogus answers do to validating senders: a
// bogus MX answer stops all mail; bogus addresses stop mail to those hosts,
// and senders fall back to the others.
func bogusConsequence(target probes.Target, set *mailhosts.Set) string {
	if set.MX != nil && set.MX.Bogus != nil {
		return "senders that validate cannot deliver mail to " + target.Name + " at all"
	}
	var bogus, fine []string
	for _, h := range set.Hosts {
		if h.IPLiteral {
			continue
		}
		if bogusOf([]*dnsclient.Answer{h.A, h.AAAA}) != nil {
			bogus = append(bogus, h.Name)
		} else if len(h.Addrs()) > 0 {
			fine = append(fine, h.Name)
		}
	}
	if len(fine) == 0 {
		return "senders that validate cannot reach " + probes.JoinNames(bogus) + ", so they cannot deliver mail to " + target.Name
	}
	return "senders that validate cannot reach " + probes.JoinNames(bogus) + " and deliver only to " + probes.JoinNames(fine)
}

// unvalidatedMark marks an evidence line whose record came from a bogus
// answer: the zone publishes it, validating senders never see it.
func unvalidatedMark(ans *dnsclient.Answer) string {
	if ans.Bogus == nil {
		return ""
	}
	return " (DNSSEC-bogus: unvalidated, asked with checking disabled)"
}

// bogusOf returns the first bogus answer's Bogus, or nil.
func bogusOf(answers []*dnsclient.Answer) *dnsclient.Bogus {
	for _, a := range answers {
		if a != nil && a.Bogus != nil {
			return a.Bogus
		}
	}
	return nil
}

// cdEvidence says what the other checks ran on.
func cdEvidence(server string) string {
	return "the other checks ran on the records " + server +
		" gave with checking disabled (CD): what validating senders never get"
}

// bogusName is a name whose answer the resolver refused, and why.
type bogusName struct {
	name  string
	bogus *dnsclient.Bogus
}

// bogusFixes says what to repair, once per kind of failure the resolver's
// Extended DNS Errors name, for the zones that hold the names. Nothing
// here turns DNSSEC off without saying that is the choice.
func bogusFixes(list []bogusName) []string {
	type kind struct {
		fix   func(zones string) string
		names []string
	}
	var order []*kind
	byFix := map[int]*kind{}
	for _, b := range list {
		i, fix := bogusFixFor(b.bogus.Code())
		k := byFix[i]
		if k == nil {
			k = &kind{fix: fix}
			byFix[i] = k
			order = append(order, k)
		}
		k.names = append(k.names, probes.Bare(b.name))
	}
	var out []string
	for _, k := range order {
		zones := "the zone of " + k.names[0]
		if len(k.names) > 1 {
			zones = "the zones that hold " + probes.JoinNames(k.names)
		}
		out = append(out, k.fix(zones))
	}
	return out
}

// bogusFixFor returns the remedy for an Extended DNS Error code, and an
// index that tells the remedies apart; without a DNSSEC code, the two
// usual causes.
func bogusFixFor(code uint16) (int, func(zones string) string) {
	switch code {
	case 7, 8, 25: // Signature Expired, Signature Not Yet Valid, Signature Expired before Valid
		return 1, func(zones string) string {
			return "re-sign " + zones + ": the RRSIG records are outside their validity period " +
				"(the signer stopped renewing them, or its clock is wrong); keep the signer running so " +
				"signatures are renewed well before they expire"
		}
	case 10, 12: // RRSIGs Missing, NSEC Missing
		return 2, func(zones string) string {
			return "serve " + zones + " signed from every name server: one of them answers without " +
				"the signatures or the NSEC/NSEC3 records (an unsigned copy, or a secondary that does not transfer them)"
		}
	case 9, 11: // DNSKEY Missing, No Zone Key Bit Set
		return 3, func(zones string) string {
			return "make the DS records of " + zones + " at the registrar (the parent zone) match a key the zone " +
				"publishes (compare \"dig +cd DNSKEY\" with \"dig DS\"), as after a key rollover that did not reach " +
				"the registrar; if a zone is to be unsigned, remove its DS records at the registrar first"
		}
	case 1, 2, 27: // Unsupported DNSKEY Algorithm, Unsupported DS Digest Type, Unsupported NSEC3 Iterations
		return 4, func(zones string) string {
			return "re-sign " + zones + " with an algorithm and digest resolvers support (ECDSA P-256, SHA-256 DS, " +
				"NSEC3 without extra iterations, RFC 9276)"
		}
	}
	return 0, func(zones string) string {
		return "repair the DNSSEC of " + zones + ": the DS records at the registrar must match a key the zone " +
			"publishes, and every answer must carry current signatures (\"dig +cd DNSKEY\", \"dig DS\" and " +
			"DNSViz show which link breaks); if a zone is to be unsigned, remove its DS records at the registrar first"
	}
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
