package mx

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/internal/flight"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
	"github.com/deliverability-exporter/deliverability_exporter/probes/mailhosts"
)

// maxPTRNames bounds the PTR names of one address that are forward-checked
// and exported: an address normally has one, and a reverse zone publishing
// hundreds must not turn into hundreds of lookups and metric series.
const maxPTRNames = 4

// reverse is what the reverse DNS of one address showed.
type reverse struct {
	ip     netip.Addr
	answer *dnsclient.Answer // the PTR answer; nil when err is set
	err    error
	// names are the PTR names, lower case without the trailing dot, sorted
	// and without duplicates.
	names []string
	// forward holds the forward lookups of the first maxPTRNames names.
	forward []forward
}

// forward is the A (for IPv4) or AAAA (for IPv6) answer of one PTR name.
type forward struct {
	name   string
	answer *dnsclient.Answer
	err    error
}

func (f forward) confirms(ip netip.Addr) bool {
	return f.answer != nil && f.answer.HasAddr(ip)
}

// confirmed returns the first PTR name that resolves back to the address
// (forward-confirmed reverse DNS), or "".
func (rv *reverse) confirmed() string {
	for _, f := range rv.forward {
		if f.confirms(rv.ip) {
			return f.name
		}
	}
	return ""
}

// forwardErr returns the first forward lookup that got no answer.
func (rv *reverse) forwardErr() error {
	for _, f := range rv.forward {
		if f.err != nil {
			return f.err
		}
	}
	return nil
}

// judged is the name the heuristics look at: the forward-confirmed one,
// which receivers trust, else the first.
func (rv *reverse) judged() string {
	if name := rv.confirmed(); name != "" {
		return name
	}
	return rv.names[0]
}

// question keys answers already received.
type question struct {
	name  string // fully qualified, lower case
	qtype uint16
}

// reverses is what the reverse lookups of a set's addresses found.
type reverses struct {
	byIP map[netip.Addr]*reverse
	// limited is set when the request's limit on PTR questions left
	// addresses without a lookup.
	limited error
}

// reverseParallel bounds the addresses whose reverse lookups (one PTR and
// up to maxPTRNames forward questions each) run at once: the DNS client
// queues what it cannot send anyway, and a goroutine per address would
// only hold memory while it waits.
const reverseParallel = 32

// lookupReverses asks the PTR of the set's addresses, at most maxPTR of
// them, and then, per address, the forward lookups of its PTR names at
// once.
func lookupReverses(ctx context.Context, r *dnsclient.Resolver, set *mailhosts.Set, maxPTR int) *reverses {
	known := knownAnswers(set)
	out := &reverses{byIP: map[netip.Addr]*reverse{}}
	ips := set.AllIPs()
	if maxPTR > 0 && len(ips) > maxPTR {
		out.limited = &probes.LimitError{Key: "limits.ptr_questions", Max: maxPTR,
			What: fmt.Sprintf("reverse DNS was looked up for %d of %d mail server addresses", maxPTR, len(ips))}
		ips = ips[:maxPTR]
	}
	tasks := flight.Tasks{Limit: reverseParallel}
	for _, ip := range ips {
		rv := &reverse{ip: ip}
		out.byIP[ip] = rv
		tasks.Go(func() { rv.resolve(ctx, r, known) })
	}
	tasks.Wait()
	return out
}

// knownAnswers are the A and AAAA answers of the mail hosts, so a PTR name
// that is an MX host (the healthy case) is confirmed from what mailhosts
// already asked.
func knownAnswers(set *mailhosts.Set) map[question]*dnsclient.Answer {
	known := map[question]*dnsclient.Answer{}
	for _, h := range set.Hosts {
		for _, ans := range []*dnsclient.Answer{h.A, h.AAAA} {
			if ans != nil {
				known[question{dns.CanonicalName(h.Name), ans.Type}] = ans
			}
		}
	}
	return known
}

func (rv *reverse) resolve(ctx context.Context, r *dnsclient.Resolver, known map[question]*dnsclient.Answer) {
	ans, err := r.Lookup(ctx, dnsclient.ReverseName(rv.ip), dns.TypePTR)
	if err != nil {
		rv.err = fmt.Errorf("PTR of %s: %w", rv.ip, err)
		return
	}
	rv.answer = ans
	rv.names = ptrNames(ans)
	qtype := dns.TypeAAAA
	if rv.ip.Unmap().Is4() {
		qtype = dns.TypeA
	}
	rv.forward = make([]forward, min(len(rv.names), maxPTRNames))
	var tasks flight.Tasks
	for i := range rv.forward {
		name := rv.names[i]
		tasks.Go(func() { rv.forward[i] = lookupForward(ctx, r, known, name, qtype, rv.ip) })
	}
	tasks.Wait()
}

func lookupForward(ctx context.Context, r *dnsclient.Resolver, known map[question]*dnsclient.Answer, name string, qtype uint16, ip netip.Addr) forward {
	if ans, ok := known[question{dns.CanonicalName(name), qtype}]; ok {
		return forward{name: name, answer: ans}
	}
	ans, err := r.Lookup(ctx, name, qtype)
	if err != nil {
		err = fmt.Errorf("%s of %s (PTR of %s): %w", dnsclient.TypeName(qtype), name, ip, err)
	}
	return forward{name: name, answer: ans, err: err}
}

// ptrNames returns the PTR names of an answer, sorted and deduplicated.
func ptrNames(ans *dnsclient.Answer) []string {
	var names []string
	for _, n := range ans.Names() {
		if b := probes.Bare(n); b != "" {
			names = append(names, b)
		} else {
			names = append(names, n) // a PTR to the root stays "."
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// ptrSubject is one address to judge, with the mail host it belongs to.
type ptrSubject struct {
	ip   netip.Addr
	host string // the first mail host with this address; "" for an IP target
	rev  *reverse
	// provider is the organisation of a host the domain does not run
	// (mailhosts.Host.OwnOrganization false); "" for the domain's own.
	provider string
}

// recordReverses records the ptr.* checks and measurements.
func (r *run) recordReverses(set *mailhosts.Set, rl *reverses) {
	r.set = set
	revs := rl.byIP
	subjects := ptrSubjects(set, revs)
	// A host whose addresses could not be resolved hides addresses these
	// checks would have judged: they cannot pass until it answers.
	hostErrs := hostErrors(set)
	if len(subjects) == 0 && len(hostErrs) == 0 {
		r.res.SkipAll("no mail host has an address to look up", checkPTRPresent, checkFCrDNS, checkNotGeneric, checkRoleLabel)
		return
	}
	r.measureReverses(set, revs)
	r.recordPTRPresent(subjects, hostErrs)
	r.recordFCrDNS(subjects, hostErrs)
	r.recordNotGeneric(subjects, hostErrs)
	r.recordRoleLabel(subjects, hostErrs)
}

func ptrSubjects(set *mailhosts.Set, revs map[netip.Addr]*reverse) []ptrSubject {
	var out []ptrSubject
	seen := map[netip.Addr]bool{}
	add := func(host, provider string, ip netip.Addr) {
		if !seen[ip] && revs[ip] != nil {
			seen[ip] = true
			out = append(out, ptrSubject{ip: ip, host: host, rev: revs[ip], provider: provider})
		}
	}
	for _, ip := range set.IPs {
		add("", "", ip)
	}
	for _, h := range set.Hosts {
		provider := ""
		if !h.OwnOrganization {
			provider = h.Organization
			if provider == "" {
				provider = h.Name
			}
		}
		for _, ip := range h.Addrs() {
			add(h.Name, provider, ip)
		}
	}
	return out
}

func hostErrors(set *mailhosts.Set) []error {
	var errs []error
	for _, h := range set.Hosts {
		if h.Err != nil {
			errs = append(errs, hostErr(h))
		}
	}
	return errs
}

// measureReverses records the PTR names and forward confirmation of every
// (host, address) pair.
func (r *run) measureReverses(set *mailhosts.Set, revs map[netip.Addr]*reverse) {
	type pair struct {
		host string
		ip   netip.Addr
	}
	seen := map[pair]bool{}
	measure := func(host string, ip netip.Addr) {
		rv := revs[ip]
		if rv == nil || rv.err != nil || seen[pair{host, ip}] {
			return
		}
		seen[pair{host, ip}] = true
		for _, f := range rv.forward {
			r.res.Measure(metricPTRInfo, 1, host, ip.String(), f.name)
		}
		switch {
		case rv.confirmed() != "":
			r.res.Measure(metricPTRConfirmed, 1, host, ip.String())
		case rv.forwardErr() == nil:
			r.res.Measure(metricPTRConfirmed, 0, host, ip.String())
		}
	}
	for _, ip := range set.IPs {
		measure("", ip)
	}
	for _, h := range set.Hosts {
		for _, ip := range h.Addrs() {
			measure(h.Name, ip)
		}
	}
}

// recordPTRPresent: receivers refuse or junk mail from addresses without
// reverse DNS (Gmail's and Microsoft's sender guidelines).
func (r *run) recordPTRPresent(subjects []ptrSubject, hostErrs []error) {
	var v probes.Verdict
	for _, s := range subjects {
		switch {
		case s.rev.err != nil:
			v.Unknown(s.rev.err)
		case len(s.rev.names) == 0:
			v.See(fmt.Sprintf("%s no PTR (%s at %s)", s.ip, emptyKind(s.rev.answer), s.rev.answer.Name))
			v.Fail(fmt.Sprintf("%s has no PTR record", s.ip), "ask whoever runs "+s.ip.String()+
				" (your hosting provider or ISP) to publish "+ptrLine(s.ip, r.suggestedName(s, false)))
		default:
			for _, name := range s.rev.names {
				v.See(fmt.Sprintf("%s PTR %s", s.ip, name))
			}
		}
	}
	for _, err := range hostErrs {
		v.Unknown(err)
	}
	v.Record(r.res, checkPTRPresent, "every mail server address has a PTR record ("+probes.Plural(len(subjects), "address", "addresses")+")")
}

// recordFCrDNS: a PTR name only counts when it resolves back to the
// address (forward-confirmed reverse DNS, RFC 8601 §3's iprev).
func (r *run) recordFCrDNS(subjects []ptrSubject, hostErrs []error) {
	var v probes.Verdict
	for _, s := range subjects {
		switch {
		case s.rev.err != nil:
			v.Unknown(s.rev.err)
		case len(s.rev.names) == 0:
			v.See(fmt.Sprintf("%s no PTR to confirm", s.ip))
			v.Fail(fmt.Sprintf("%s has no PTR name to confirm", s.ip), "ask whoever runs "+s.ip.String()+
				" to publish "+ptrLine(s.ip, r.suggestedName(s, false))+" and keep that name resolving to it")
		default:
			v.See(forwardEvidence(s.rev)...)
			if s.rev.confirmed() != "" {
				continue
			}
			if err := s.rev.forwardErr(); err != nil {
				v.Unknown(err)
				continue
			}
			v.Fail(fmt.Sprintf("PTR %s of %s does not resolve back to it", probes.Quote(s.rev.names[0]), s.ip),
				r.fcrdnsFix(s))
		}
	}
	for _, err := range hostErrs {
		v.Unknown(err)
	}
	v.Record(r.res, checkFCrDNS, "the PTR name of every mail server address resolves back to it")
}

// recordNotGeneric: names an access provider generates for its address
// pools look like end-user machines to receivers' filters.
func (r *run) recordNotGeneric(subjects []ptrSubject, hostErrs []error) {
	var v probes.Verdict
	own, providers := ownSubjects(subjects)
	for _, s := range own {
		switch {
		case s.rev.err != nil:
			v.Unknown(s.rev.err)
		case len(s.rev.names) == 0:
			// ptr.present reports it; nothing to judge.
		default:
			name := s.rev.judged()
			why := genericReason(name, s.ip)
			if why == "" {
				v.See(fmt.Sprintf("%s PTR %s (not generic)", s.ip, name))
				continue
			}
			v.See(fmt.Sprintf("%s PTR %s: %s", s.ip, name, why))
			suggested := r.suggestedName(s, false)
			v.Fail(fmt.Sprintf("PTR %s of %s looks auto-assigned: it %s", probes.Quote(name), s.ip, why),
				"have the PTR of "+s.ip.String()+" set to a name of your own, e.g. "+ptrLine(s.ip, suggested)+
					", published with "+r.forwardLine(s, suggested))
		}
	}
	r.recordJudgement(&v, checkNotGeneric, hostErrs, providers, "no PTR name looks auto-assigned")
}

// recordRoleLabel: a role label tells receivers' filters the host is
// meant to send mail.
func (r *run) recordRoleLabel(subjects []ptrSubject, hostErrs []error) {
	var v probes.Verdict
	own, providers := ownSubjects(subjects)
	for _, s := range own {
		switch {
		case s.rev.err != nil:
			v.Unknown(s.rev.err)
		case len(s.rev.names) == 0:
		default:
			name := s.rev.judged()
			if role := roleLabel(name); role != "" {
				v.See(fmt.Sprintf("%s PTR %s (role label %q)", s.ip, name, role))
				continue
			}
			v.See(fmt.Sprintf("%s PTR %s (no role label)", s.ip, name))
			suggested := r.suggestedName(s, true)
			v.Fail(fmt.Sprintf("PTR %s of %s has no role label such as mail, mx or smtp", probes.Quote(name), s.ip),
				"set the PTR of "+s.ip.String()+" to a name with a role label, e.g. "+ptrLine(s.ip, suggested)+
					", published with "+r.forwardLine(s, suggested))
		}
	}
	r.recordJudgement(&v, checkRoleLabel, hostErrs, providers, "every PTR name has a role label")
}

// ownSubjects splits the subjects into the domain's own addresses and the
// providers whose addresses were left out: how a provider names its
// servers (generic or not, with a role label or not) is its own choice,
// which no customer can change.
func ownSubjects(subjects []ptrSubject) (own []ptrSubject, providers []string) {
	for _, s := range subjects {
		if s.provider == "" {
			own = append(own, s)
		} else if !slices.Contains(providers, s.provider) {
			providers = append(providers, s.provider)
		}
	}
	return own, providers
}

// recordJudgement records a check on PTR names, skipped when there was no
// name to judge (of the domain's own addresses: providers lists whose
// addresses were left out).
func (r *run) recordJudgement(v *probes.Verdict, spec probes.CheckSpec, hostErrs []error, providers []string, passReason string) {
	for _, err := range hostErrs {
		v.Unknown(err)
	}
	if !v.Decided() && len(v.Errs) == 0 {
		reason := "no address has a PTR name to judge"
		if len(providers) > 0 {
			reason = "the mail hosts belong to " + probes.JoinNames(providers) + ": how their addresses are named is theirs to choose, not something " + r.target.Host() + " can change"
		}
		r.res.Skip(spec, reason)
		return
	}
	if len(providers) > 0 {
		passReason += " (of the domain's own addresses; those of " + probes.JoinNames(providers) + " are theirs to name)"
	}
	v.Record(r.res, spec, passReason)
}

// forwardEvidence renders what each PTR name of an address resolves to.
func forwardEvidence(rv *reverse) []string {
	var lines []string
	for i, name := range rv.names {
		if i >= len(rv.forward) {
			lines = append(lines, fmt.Sprintf("%s PTR %s (not checked: only the first %d names are)", rv.ip, name, maxPTRNames))
			continue
		}
		f := rv.forward[i]
		var what string
		switch {
		case f.err != nil:
			what = "lookup failed"
		case f.confirms(rv.ip):
			what = "resolves back"
		case f.answer.NXDomain():
			what = "does not exist"
		case len(f.answer.FirstAddrs(1)) == 0:
			what = "no " + dnsclient.TypeName(f.answer.Type) + " record"
		default:
			what = "resolves to " + joinAddrs(f.answer) + ", not back"
		}
		lines = append(lines, fmt.Sprintf("%s PTR %s (%s)", rv.ip, name, what))
	}
	return lines
}

// fcrdnsFix offers the ways to confirm a PTR name: point the PTR at a name
// that already resolves to the address, or make the name resolve to it.
// The second only while the name has no address of the family: one added
// beside those it has (a web server's, usually) would send part of that
// name's traffic to the mail server.
func (r *run) fcrdnsFix(s ptrSubject) string {
	name := s.rev.names[0]
	change := "have the PTR changed to a name of yours that resolves to " + s.ip.String()
	if s.host != "" {
		change = "have the PTR changed to " + ptrLine(s.ip, s.host)
	}
	if f := s.rev.forward[0]; f.answer != nil && len(f.answer.FirstAddrs(1)) > 0 {
		return change + " (" + name + " resolves to " + joinAddrs(f.answer) + ": an address added to it would send part of its traffic to " + s.ip.String() + ")"
	}
	return "publish " + probes.ZoneLine(name, addressRecordType(s.ip), s.ip.String()) + " if that name is yours, or " + change
}

// suggestedName is the PTR name a remediation proposes: the mail host the
// address belongs to, unless that name would fail the heuristics itself;
// then a new name for the address (newHostName).
func (r *run) suggestedName(s ptrSubject, needRole bool) string {
	name := s.host
	if name == "" || genericReason(name, s.ip) != "" || needRole && roleLabel(name) == "" {
		return r.newHostName(s.ip)
	}
	return name
}

// forwardLine is the address record that makes a proposed PTR name
// resolve back to the subject's address. The mail host's own name already
// does; a new one (newHostName) may be in use elsewhere, a web or IMAP
// host's, which the record would give a second address: so it is to be
// used only while free.
func (r *run) forwardLine(s ptrSubject, name string) string {
	line := probes.ZoneLine(name, addressRecordType(s.ip), s.ip.String())
	if name != s.host {
		line += ", if that name is not in use yet (else another new name of yours)"
	}
	return line
}

// newHostName is the host name remediations propose for an address that
// needs a new one: mail.<domain> for the first such address of the report,
// mail2.<domain> for the next, and so on, never a name the domain's mail
// hosts already use, and the same name for the same address throughout
// the report, so that fixes applied together give each name one address.
// The checks are recorded one after another in a fixed order, so the
// names are the same on every run.
func (r *run) newHostName(ip netip.Addr) string {
	if name, ok := r.newNames[ip]; ok {
		return name
	}
	base := "<your domain>"
	switch r.target.Kind {
	case probes.KindDomain:
		base = r.target.Name
	case probes.KindHost:
		base = registrable(r.target.Name)
	}
	taken := map[string]bool{}
	for _, name := range r.newNames {
		taken[name] = true
	}
	if r.set != nil {
		for _, h := range r.set.Hosts {
			taken[h.Name] = true
		}
	}
	name := "mail." + base
	for n := 2; taken[name]; n++ {
		name = fmt.Sprintf("mail%d.%s", n, base)
	}
	if r.newNames == nil {
		r.newNames = map[netip.Addr]string{}
	}
	r.newNames[ip] = name
	return name
}

// ptrLine renders the PTR record that names ip.
func ptrLine(ip netip.Addr, name string) string {
	return fmt.Sprintf("%q", dnsclient.ReverseName(ip)+" IN PTR "+probes.FQDN(name))
}

func addressRecordType(ip netip.Addr) string {
	if ip.Unmap().Is4() {
		return "A"
	}
	return "AAAA"
}

func emptyKind(ans *dnsclient.Answer) string {
	if ans.NXDomain() {
		return "NXDOMAIN"
	}
	return "no records"
}

// joinAddrs lists the first addresses of an answer, and how many more.
func joinAddrs(ans *dnsclient.Answer) string {
	var s []string
	for _, a := range ans.FirstAddrs(8) {
		s = append(s, a.String())
	}
	if more := len(ans.Records) - len(s); more > 0 {
		return fmt.Sprintf("%s and %d more", strings.Join(s, ", "), more)
	}
	return probes.JoinNames(s)
}
