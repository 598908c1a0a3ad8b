package mx

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
	"github.com/deliverability-exporter/deliverability_exporter/probes/mailhosts"
)

// measureDomain records the MX set of a domain: the hosts its MX records
// name (the implicit MX is none of them), and whether it has an implicit
// MX.
func (r *run) measureDomain(set *mailhosts.Set) {
	r.res.Measure(metricHosts, float64(len(set.MXHosts())+set.Omitted))
	r.res.Measure(metricNull, boolValue(set.NullMX))
	r.res.Measure(metricImplicit, boolValue(set.Implicit() != nil))
	for _, h := range set.MXHosts() {
		r.res.Measure(metricHostInfo, 1, h.Name, strconv.Itoa(int(h.Preference)))
	}
}

// recordLimits makes the checks on every mail host or address undecided
// when the request's limits left hosts, addresses or reverse lookups out:
// what was not looked at cannot be said to pass. The first limit reached
// is the reason; every one is recorded against the probe.
func (r *run) recordLimits(set *mailhosts.Set, rl *reverses) {
	ptr := []probes.CheckSpec{checkPTRPresent, checkFCrDNS, checkNotGeneric, checkRoleLabel}
	r.res.Limited(set.HostsLimited(), append([]probes.CheckSpec{checkHostname, checkResolves, checkDNSSECMX}, ptr...)...)
	r.res.Limited(set.AddrsLimited(), ptr...)
	if rl != nil {
		r.res.Limited(rl.limited, ptr...)
	}
}

// recordPresent checks that the domain publishes MX records at all: without
// them senders fall back to the domain's own A/AAAA records (RFC 5321 §5.1),
// which receivers' guidelines do not accept as a mail set-up. The fix names
// the host that receives the mail today (the implicit MX: the domain
// itself), never a name that may not exist.
func (r *run) recordPresent(set *mailhosts.Set) {
	domain := r.target.Name
	if len(set.MX.Records) == 0 {
		evidence := []string{"MX " + domain + ": no records (NODATA) from " + set.MX.Server}
		null := probes.ZoneLine(domain, "MX", "0 .") + " if it receives no mail (RFC 7505)"
		if h := set.Implicit(); h != nil && len(h.Addrs()) > 0 {
			evidence = append(evidence, addressEvidence(h)...)
			r.res.Fail(checkPresent,
				domain+" publishes no MX records; senders fall back to its own address records (the implicit MX of RFC 5321 §5.1), which the other checks look at as its mail host",
				"publish "+probes.ZoneLine(domain, "MX", "10 "+probes.FQDN(domain))+", the host that receives its mail now, or "+null,
				evidence...)
			return
		}
		reason := domain + " publishes no MX records and has no addresses of its own: no mail can be delivered to it"
		if h := set.Implicit(); h != nil {
			// Its addresses could not be resolved: which host receives
			// its mail now is unknown (mx.resolves says why).
			reason = domain + " publishes no MX records, and its own addresses, which senders would fall back to, are unknown"
		}
		r.res.Fail(checkPresent, reason,
			"if it receives mail, publish an MX record naming the host of your mail server, which must have A/AAAA records (for example "+
				probes.ZoneLine("mail."+domain, "A", "<its IPv4 address>")+", if that name is not in use yet, and "+probes.ZoneLine(domain, "MX", "10 mail."+probes.FQDN(domain))+"); otherwise publish "+null,
			evidence...)
		return
	}
	reason := domain + " publishes " + probes.Plural(len(set.MX.Records), "MX record", "MX records")
	if set.NullMX && len(set.Hosts) == 0 {
		reason = domain + " publishes a null MX: it states that it receives no mail"
	}
	r.res.Pass(checkPresent, reason, mxEvidence(set.MX)...)
}

// recordNull recognises a null MX (RFC 7505): "0 ." alone says the domain
// receives no mail; beside other MX records it is an error (§3).
func (r *run) recordNull(set *mailhosts.Set) {
	domain := r.target.Name
	nulls := nullRecords(set.MX)
	if len(nulls) == 0 {
		r.res.Skip(checkNull, domain+" publishes no null MX")
		return
	}
	evidence := mxEvidence(set.MX)
	if others := len(set.Hosts) + set.Omitted; others > 0 {
		r.res.Fail(checkNull,
			fmt.Sprintf("%s publishes a null MX beside %s; RFC 7505 §3 forbids mixing them", domain, probes.Plural(others, "other MX record", "other MX records")),
			"if "+domain+" receives mail, remove "+probes.ZoneLine(domain, "MX", fmt.Sprintf("%d .", nulls[0].Preference))+
				"; if it does not, remove the other MX records",
			evidence...)
		return
	}
	if pref := nulls[0].Preference; pref != 0 {
		r.res.Fail(checkNull,
			fmt.Sprintf("%s publishes a null MX with preference %d; RFC 7505 §3 defines it as \"0 .\"", domain, pref),
			"publish "+probes.ZoneLine(domain, "MX", "0 .")+" instead of "+probes.ZoneLine(domain, "MX", fmt.Sprintf("%d .", pref)),
			evidence...)
		return
	}
	r.res.Pass(checkNull, domain+" receives no mail: it publishes a null MX (RFC 7505); its SPF record should end in -all",
		evidence...)
}

// recordHostname checks that every MX target is a host name with address
// records of its own: not an address written as a name (the exchange is a
// host's domain name, RFC 1035 §3.3.9; "192.0.2.1." is looked up as a name
// and resolves nowhere) and not an alias (RFC 2181 §10.3).
func (r *run) recordHostname(set *mailhosts.Set) {
	domain := r.target.Name
	if set.Implicit() != nil {
		r.res.Skip(checkHostname, domain+" publishes no MX records, so there is no MX target to judge (its implicit MX is the domain itself)")
		return
	}
	var v probes.Verdict
	for _, h := range set.Hosts {
		switch cnames := h.CNAMEs(); {
		case h.IPLiteral:
			v.See(h.Name + " is an IP address literal")
			v.Fail(fmt.Sprintf("MX target %s is an IP address, not a host name", probes.Quote(h.Name)), r.literalFix(h))
		case len(cnames) > 0:
			canonical := cnames[len(cnames)-1]
			v.See(cnameEvidence(probes.FQDN(h.Name), cnames)...)
			v.Fail(fmt.Sprintf("MX target %s is an alias (CNAME to %s); RFC 2181 §10.3 forbids it",
				probes.Quote(h.Name), probes.Quote(probes.Bare(canonical))),
				"change the MX to the canonical name: "+probes.ZoneLine(domain, "MX", fmt.Sprintf("%d %s", h.Preference, canonical)))
		case h.A == nil && h.AAAA == nil:
			v.Unknown(hostErr(h))
		default:
			v.See(h.Name + " is a host name, not an alias")
		}
	}
	v.Record(r.res, checkHostname, "every MX target is a host name, not an IP literal and not an alias")
}

// recordHosts checks the addresses of the hosts (mx.resolves, mx.ipv6),
// their DNSSEC status and records their address counts.
func (r *run) recordHosts(set *mailhosts.Set) {
	r.measureAddresses(set.Hosts)
	r.recordResolves(set.Hosts)
	r.recordIPv6(set.Hosts, set.HostsLimited())
	r.recordDNSSECMX(set.Hosts)
}

func (r *run) measureAddresses(hosts []*mailhosts.Host) {
	for _, h := range hosts {
		if h.A != nil {
			r.res.Measure(metricHostAddresses, float64(len(h.A.Records)), h.Name, "ipv4")
		}
		if h.AAAA != nil {
			r.res.Measure(metricHostAddresses, float64(len(h.AAAA.Records)), h.Name, "ipv6")
		}
	}
}

// recordResolves checks that every host has an address to deliver to.
func (r *run) recordResolves(hosts []*mailhosts.Host) {
	var v probes.Verdict
	for _, h := range hosts {
		addrs := addressEvidence(h)
		switch {
		case h.IPLiteral:
			v.See(h.Name + " is an IP address literal, not a name with A/AAAA records")
			v.Fail(fmt.Sprintf("MX target %s is an IP literal, not a name with A/AAAA records", probes.Quote(h.Name)),
				r.literalFix(h))
		case len(addrs) > 0:
			v.See(addrs...)
		case h.Err != nil:
			v.Unknown(hostErr(h))
		default:
			problem, line := "has no A or AAAA record", h.Name+": no A or AAAA record"
			if h.A != nil && h.A.NXDomain() || h.AAAA != nil && h.AAAA.NXDomain() {
				problem, line = "does not exist (NXDOMAIN)", h.Name+": NXDOMAIN"
			}
			v.See(line)
			v.Fail(fmt.Sprintf("host %s %s", probes.Quote(h.Name), problem), r.unresolvedFix(h))
		}
	}
	v.Record(r.res, checkResolves, "every mail host has A and/or AAAA records")
}

// literalFix says how to replace an MX target written as an address: give
// the address a name of its own and point the MX at the name. The name
// must be a new one: an address added to a name in use (a web host) would
// send part of the mail there.
func (r *run) literalFix(h *mailhosts.Host) string {
	name := h.Name
	if ip, err := netip.ParseAddr(h.Name); err == nil {
		name = r.newHostName(ip)
	}
	return fmt.Sprintf("publish %s (or the address under another host name not yet in use) and change the MX to %s",
		probes.ZoneLine(name, addressType(h.Name), h.Name),
		probes.ZoneLine(r.target.Name, "MX", fmt.Sprintf("%d %s", h.Preference, probes.FQDN(name))))
}

// unresolvedFix says what record a host without addresses needs.
func (r *run) unresolvedFix(h *mailhosts.Host) string {
	fix := "publish " + probes.ZoneLine(h.Name, "A", "<its IPv4 address>") + " (and AAAA for IPv6)"
	if r.target.Kind == probes.KindDomain {
		fix += ", or remove " + probes.ZoneLine(r.target.Name, "MX", fmt.Sprintf("%d %s", h.Preference, probes.FQDN(h.Name)))
	}
	return fix
}

// recordIPv6 checks that IPv6-only senders can deliver: one host with AAAA
// is enough. hostsLimited is set when the request's limit left MX hosts out:
// one of those may have the AAAA record the others lack.
func (r *run) recordIPv6(hosts []*mailhosts.Host, hostsLimited error) {
	var v probes.Verdict
	for _, h := range hosts {
		if h.AAAA != nil && len(h.AAAA.Records) > 0 {
			v.See(limitedLines(h, h.AAAA, "")...)
		} else if h.AAAA == nil && !h.IPLiteral {
			v.Unknown(hostErr(h))
		}
	}
	v.Unknown(hostsLimited)
	if len(v.Evidence) > 0 {
		// Any address is enough; errors on other hosts change nothing.
		r.res.Pass(checkIPv6, fmt.Sprintf("%d of %d mail hosts have IPv6 addresses", countIPv6(hosts), len(hosts)),
			v.Evidence...)
		return
	}
	if len(v.Errs) == 0 {
		v.Fail("no mail host has an AAAA record, so IPv6-only senders cannot deliver", ipv6Fix(hosts))
	}
	v.Record(r.res, checkIPv6, "")
}

// ipv6Fix says how a mail host gets an IPv6 address: an AAAA record for
// one the domain runs; for a provider's hosts, whose zone only the
// provider can change, the provider's IPv6 MX hosts if it has any.
func ipv6Fix(hosts []*mailhosts.Host) string {
	var providers []string
	for _, h := range hosts {
		switch {
		case h.IPLiteral:
		case h.OwnOrganization:
			return "publish an AAAA record for at least one mail host, e.g. " + probes.ZoneLine(h.Name, "AAAA", "<its IPv6 address>")
		case !contains(providers, zoneOf(h)):
			providers = append(providers, zoneOf(h))
		}
	}
	if len(providers) == 0 {
		return "publish an AAAA record for at least one mail host (a host name, see mx.hostname)"
	}
	return "the mail hosts are in " + probes.JoinNames(providers) + ", whose records only the provider can change: " +
		"ask your provider whether it offers MX hosts with IPv6 addresses, and if it does, point the MX records at them"
}

func countIPv6(hosts []*mailhosts.Host) int {
	n := 0
	for _, h := range hosts {
		if h.AAAA != nil && len(h.AAAA.Records) > 0 {
			n++
		}
	}
	return n
}

// nullRecords returns the MX records with the root as target.
func nullRecords(ans *dnsclient.Answer) []*dns.MX {
	var out []*dns.MX
	for _, rr := range ans.Records {
		if mx, ok := rr.(*dns.MX); ok && mx.Mx == "." {
			out = append(out, mx)
		}
	}
	return out
}

// mxEvidence renders an MX answer: the alias chain, then the records.
func mxEvidence(ans *dnsclient.Answer) []string {
	lines := cnameEvidence(ans.Name, ans.CNAMEs)
	for _, rr := range ans.Records {
		if mx, ok := rr.(*dns.MX); ok {
			lines = append(lines, fmt.Sprintf("%s MX %d %s%s", ans.Owner(), mx.Preference, mx.Mx, unvalidatedMark(ans)))
		}
	}
	return lines
}

// cnameEvidence renders an alias chain as CNAME records.
func cnameEvidence(name string, chain []string) []string {
	var lines []string
	for _, target := range chain {
		lines = append(lines, name+" CNAME "+target)
		name = target
	}
	return lines
}

// addressEvidence renders the address records of a host, as many as the
// request's limit on addresses per host lets through, and a line counting
// the others.
func addressEvidence(h *mailhosts.Host) []string {
	var lines []string
	for _, ans := range []*dnsclient.Answer{h.A, h.AAAA} {
		if ans != nil {
			lines = append(lines, limitedLines(h, ans, unvalidatedMark(ans))...)
		}
	}
	return lines
}

// limitedLines renders the addresses of one answer of h, at most h.MaxAddrs
// of them, each followed by mark.
func limitedLines(h *mailhosts.Host, ans *dnsclient.Answer, mark string) []string {
	limit := h.MaxAddrs
	if limit <= 0 {
		limit = -1
	}
	shown := ans.FirstAddrs(limit)
	lines := make([]string, 0, len(shown)+1)
	for _, ip := range shown {
		lines = append(lines, fmt.Sprintf("%s %s %s%s", probes.FQDN(h.Name), dnsclient.TypeName(ans.Type), ip, mark))
	}
	if more := len(ans.Records) - len(shown); more > 0 {
		lines = append(lines, fmt.Sprintf("%s: %d more %s records not shown", probes.FQDN(h.Name), more, dnsclient.TypeName(ans.Type)))
	}
	return lines
}

// addressType is the record type that holds a literal address.
func addressType(literal string) string {
	if strings.Contains(literal, ":") {
		return "AAAA"
	}
	return "A"
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// hostErr is why a host's addresses are not (all) known, worded the same
// for every check so the probe records it once.
func hostErr(h *mailhosts.Host) error {
	if h.Err == nil {
		return fmt.Errorf("addresses of %s: not resolved", h.Name)
	}
	return fmt.Errorf("addresses of %s: %w", h.Name, h.Err)
}
