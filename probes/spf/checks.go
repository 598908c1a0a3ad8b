package spf

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/mailhosts"
	"github.com/deliverability-exporter/deliverability_exporter/probes/sending"
)

// recordAudit records the checks that rest on the domain's tree.
func (r *run) recordAudit(domain string, t *tree, hosts *mailhosts.Set, hostsErr error, decl *sending.Declaration) {
	rec, a := t.rec, t.audit
	r.res.AddDetail(treeTitle, a.treeLines()...)
	for _, err := range a.errs {
		r.res.Error(err)
	}
	fams, famWhy := r.sendingFamilies(hosts, hostsErr, a)
	if !a.incomplete {
		r.res.Measure(metricLookups, float64(a.lookups))
		r.res.Measure(metricVoids, float64(a.voidLookupsFor(fams)))
		r.res.Measure(metricIPv4, a.pass.v4.size())
		r.res.Measure(metricIPv6, a.pass.touched6.size())
	}
	r.recordSyntax(domain, a)
	r.recordLookups(domain, a)
	r.recordVoids(domain, a, fams, famWhy)
	r.recordLoops(domain, a)
	r.recordAllPolicy(domain, rec, a, hosts, hostsErr, decl)
	r.recordPTR(domain, a)
	r.recordBreadth(domain, a)
}

// sendingFamilies are the address families the domain's mail comes from,
// for the void lookup limit: a receiver counts the void lookups of the
// client in front of it, and an a or mx term whose host has no AAAA is
// void only for IPv6 clients. They are the families of the request's
// outbound IPs, of the mail hosts' addresses, and of what the record
// authorises; both when any of these is unknown (the mail hosts could not
// be found, the record's matches depend on the client) or when none says
// anything.
func (r *run) sendingFamilies(hosts *mailhosts.Set, hostsErr error, a *audit) (fams int, why string) {
	if hostsErr != nil || a.partial || a.capped {
		return famBoth, ""
	}
	var from []string
	use := func(f int, what string) {
		fams |= f
		if !slices.Contains(from, what) {
			from = append(from, what)
		}
	}
	for _, ip := range r.req.OutboundIPs {
		use(familyOf(ip), "its outbound IPs")
	}
	for _, ip := range hosts.AllIPs() {
		use(familyOf(ip), "its mail hosts")
	}
	if a.pass.v4.size() > 0 {
		use(fam4, "the addresses its record authorises")
	}
	if a.pass.touched6.size() > 0 {
		use(fam6, "the addresses its record authorises")
	}
	if fams == 0 {
		return famBoth, ""
	}
	return fams, probes.JoinPhrases(from)
}

// familyOf is the family bit of an address.
func familyOf(ip netip.Addr) int {
	if ip.Unmap().Is4() {
		return fam4
	}
	return fam6
}

// incompleteErr is why a check about the whole tree cannot be decided.
func (a *audit) incompleteErr() error {
	if len(a.errs) > 0 {
		return a.errs[0]
	}
	return errors.New("part of the SPF tree could not be fetched")
}

func (r *run) recordSyntax(domain string, a *audit) {
	if len(a.syntax) == 0 {
		if a.incomplete {
			r.res.Undecided(checkSyntax, a.incompleteErr())
			return
		}
		reason := fmt.Sprintf("the record of %s parses", domain)
		if n := len(a.included); n > 0 {
			reason = fmt.Sprintf("the record of %s and the %s it includes or redirects to parse", domain, probes.Plural(n, "record", "records"))
		}
		r.res.Pass(checkSyntax, reason+a.scope())
		return
	}
	var problems, fixes, evidence []string
	for _, f := range a.syntax {
		problems = append(problems, oneLine(f.String()))
		evidence = append(evidence, oneLine(f.String()))
		if f.domain == domain {
			fixes = append(fixes, oneLine(f.fix()))
		} else {
			fixes = append(fixes, fmt.Sprintf("have the operator of %s fix its record, or remove what includes it", f.domain))
		}
	}
	r.res.Fail(checkSyntax, "receivers return permerror: "+probes.JoinPhrases(problems), probes.JoinPhrases(probes.Dedup(fixes)), evidence...)
}

// scope qualifies a passing reason when the audit resolved only part of
// the tree.
func (a *audit) scope() string {
	if !a.capped {
		return ""
	}
	return fmt.Sprintf(" (in the first %d DNS-querying terms; the audit resolves no more)", auditLookupCap)
}

// branchCosts lists the top-level branches that cost lookups, costliest
// first.
func (a *audit) branchCosts() []string {
	kids := append([]*node(nil), a.root.children...)
	sort.SliceStable(kids, func(i, j int) bool { return kids[i].cost > kids[j].cost })
	var out []string
	for _, k := range kids {
		out = append(out, fmt.Sprintf("%s: %s", k.label, probes.Plural(k.cost, "lookup", "lookups")))
	}
	return out
}

func (r *run) recordLookups(domain string, a *audit) {
	evidence := a.branchCosts()
	count := fmt.Sprintf("%d", a.lookups)
	if a.capped {
		count = "at least " + count
	}
	if a.lookups > LookupLimit || len(a.mxOver) > 0 {
		var problems, fixes []string
		if a.lookups > LookupLimit {
			problems = append(problems, fmt.Sprintf("%s DNS-querying terms across the tree of %s; receivers stop at the %dth with permerror (RFC 7208 §4.6.4)", count, domain, LookupLimit+1))
			if kids := a.root.children; len(kids) > 0 {
				costliest := slices.MaxFunc(kids, func(x, y *node) int { return x.cost - y.cost })
				fixes = append(fixes, fmt.Sprintf("cut %s: %s costs %s; replace it with the ip4:/ip6: ranges it publishes (flatten it) or drop it if you no longer send through it (the include tree in the report shows every branch)",
					probes.Plural(a.lookups-LookupLimit, "lookup", "lookups"), costliest.label, probes.Plural(costliest.cost, "lookup", "lookups")))
			}
		}
		for _, f := range a.mxOver {
			problems = append(problems, oneLine(f.String()))
			fixes = append(fixes, fmt.Sprintf("replace %s in the record of %s with a: or ip4:/ip6: terms for the hosts that send", f.term, f.domain))
		}
		r.res.Fail(checkLookupLimit, probes.JoinPhrases(problems), probes.JoinPhrases(fixes), evidence...)
		return
	}
	if a.incomplete {
		r.res.Undecided(checkLookupLimit, a.incompleteErr())
		return
	}
	reason := fmt.Sprintf("%d of %d DNS-querying terms across the tree of %s", a.lookups, LookupLimit, domain)
	if a.partial {
		reason += " (terms that depend on the client or sender are counted once each)"
	}
	r.res.Pass(checkLookupLimit, reason, evidence...)
}

// recordVoids judges the void lookups for the clients the domain sends
// from (fams); the other family's count is reported, not held against it:
// no receiver meets it for the domain's mail.
func (r *run) recordVoids(domain string, a *audit, fams int, famWhy string) {
	var evidence []string
	for _, f := range a.voidHits {
		if f.fams&fams != 0 {
			evidence = append(evidence, oneLine(f.String()))
		}
	}
	if other := famBoth &^ fams; other != 0 {
		if n := a.voids[famIndex(other)]; n > 0 {
			evidence = append(evidence, fmt.Sprintf("%s for %s, which %s does not send from (%s use %s only): not counted",
				probes.Plural(n, "void lookup", "void lookups"), familyClients(other), domain, famWhy, familiesName(fams)))
		}
	}
	if n := a.voidLookupsFor(fams); n > VoidLookupLimit {
		over := 0
		for _, bit := range []int{fam4, fam6} {
			if fams&bit != 0 && a.voids[famIndex(bit)] > VoidLookupLimit {
				over |= bit
			}
		}
		r.res.Fail(checkVoidLimit,
			fmt.Sprintf("%d void lookups for %s in the tree of %s; receivers return permerror after %d (RFC 7208 §4.6.4)", n, familyClients(over), domain, VoidLookupLimit),
			voidFix(a.voidHits, over), evidence...)
		return
	}
	if a.incomplete {
		r.res.Undecided(checkVoidLimit, a.incompleteErr())
		return
	}
	summary := a.voidSummary()
	if fams != famBoth {
		summary = fmt.Sprintf("%s for %s", probes.Plural(a.voidLookupsFor(fams), "void lookup", "void lookups"), familyClients(fams))
	}
	r.res.Pass(checkVoidLimit, fmt.Sprintf("%s of %d in the tree of %s", summary, VoidLookupLimit, domain)+a.scope(), evidence...)
}

// voidFix says what to do with the terms that are void for the clients in
// fams: remove or repair a term whose name has no records at all; give a
// name that has records of the other family only the missing family's
// records, or replace the term with the addresses it matches today, which
// authorises exactly what it did. It never tells to remove a term whose
// name has records.
func voidFix(hits []finding, fams int) string {
	var remove, complete []string
	for _, f := range hits {
		if f.fams&fams == 0 {
			continue
		}
		if !f.hasRecords {
			remove = append(remove, fmt.Sprintf("%s in %s (%s)", f.term, f.domain, f.msg))
			continue
		}
		missing := "AAAA"
		if f.fams == fam4 {
			missing = "A"
		}
		fix := fmt.Sprintf("%s in %s: publish %s records for %s", f.term, f.domain, missing, f.name)
		if len(f.addrs) > 0 && len(f.addrs) <= maxFixTerms && !strings.Contains(f.term, "/") {
			var terms []string
			for _, ip := range f.addrs {
				terms = append(terms, ipTerm(ip))
			}
			fix += ", or replace the term with " + strings.Join(terms, " ") + " (the addresses it matches today)"
		}
		complete = append(complete, fix)
	}
	var parts []string
	if len(remove) > 0 {
		parts = append(parts, "remove or repair the terms that match nothing (their lookups find no records): "+probes.JoinPhrases(remove))
	}
	if len(complete) > 0 {
		parts = append(parts, "for the terms whose names lack records of one family: "+probes.JoinPhrases(complete))
	}
	return strings.Join(parts, "; ")
}

func (r *run) recordLoops(domain string, a *audit) {
	if len(a.loops) > 0 {
		var problems, fixes []string
		for _, f := range a.loops {
			problems = append(problems, oneLine(f.String()))
			fixes = append(fixes, fmt.Sprintf("remove %s from the record of %s", f.term, f.domain))
		}
		r.res.Fail(checkNoLoop,
			probes.JoinPhrases(problems)+"; receivers go round it until they pass 10 lookups and return permerror",
			probes.JoinPhrases(probes.Dedup(fixes)))
		return
	}
	if a.incomplete {
		r.res.Undecided(checkNoLoop, a.incompleteErr())
		return
	}
	r.res.Pass(checkNoLoop, "no include or redirect leads back to a record being evaluated"+a.scope())
}

// qualifierName is the label value of mail_spf_all_info.
func qualifierName(q Qualifier) string { return string(q.Result()) }

func (r *run) recordAllPolicy(domain string, rec *Record, a *audit, hosts *mailhosts.Set, hostsErr error, decl *sending.Declaration) {
	final := a.final
	nullMX := hostsErr == nil && hosts.NullMX
	if final.broken != "" {
		if final.temporary {
			r.res.Undecided(checkAllPolicy, a.incompleteErr())
			return
		}
		fix := "end the record with -all: " + txtLine(domain, withAll(rec, "-"))
		if rec.Redirect != nil {
			fix = fmt.Sprintf("make %s lead to one valid SPF record that ends in -all (see spf.syntax and spf.no_loop)", rec.Redirect.Text)
		}
		r.res.Fail(checkAllPolicy, "no all decides for unlisted clients: "+oneLine(final.broken), fix)
		return
	}
	r.res.Measure(metricAll, 1, qualifierName(final.qualifier))
	evidence := []string{fmt.Sprintf("%s. TXT %s", domain, probes.Quote(rec.Text)), "decided by " + oneLine(final.from)}
	if nullMX && !onlyFailAll(rec) {
		fix := "publish " + txtLine(domain, "v=spf1 -all") + " in place of the current record"
		if a.pass.v4.size() > 0 || a.pass.touched6.size() > 0 || a.partial || a.capped {
			// The record authorises senders: replacing it would stop
			// the mail they send, if the domain does send.
			fix = "if " + domain + " sends no mail, " + fix + "; if it does, publish MX records naming the host that receives its replies and bounces " +
				"in place of the null MX (RFC 7505 §4.2: receivers may refuse mail from a domain that publishes one)"
		}
		r.res.Fail(checkAllPolicy,
			domain+" publishes a null MX (RFC 7505): it receives no mail and should authorise no sender, but its SPF record is not \"v=spf1 -all\"",
			fix, evidence...)
		return
	}
	if decl != nil && decl.NoMail {
		// The protective records of a domain that sends nothing: the
		// -all, and whether it receives mail (a null MX says it does
		// not).
		evidence = append(evidence, receivingEvidence(domain, hosts, hostsErr))
		r.res.Pass(checkAllPolicy, fmt.Sprintf("%s sends no mail: %s, so every client gets fail", domain, decl.Why), evidence...)
		return
	}
	acceptable := slices.Contains(r.cfg.AcceptableAll, final.qualifier.String())
	what := oneLine(final.from)
	switch {
	case final.implicit:
		what = "no all (so ?all)"
	case !strings.HasSuffix(what, "all") && !strings.HasSuffix(what, "all)"):
		what += " (as " + final.qualifier.String() + "all)"
	}
	if acceptable {
		r.res.Pass(checkAllPolicy, fmt.Sprintf("%s ends in %s: unlisted clients get %s", domain, what, final.qualifier.Result()), evidence...)
		return
	}
	// The fix moves towards rejection one step at a time: ~all when the
	// module accepts it, since a hard -all makes receivers refuse mail
	// from any sender the record forgot.
	want := r.cfg.AcceptableAll[0]
	for _, q := range []string{"~", "-"} {
		if slices.Contains(r.cfg.AcceptableAll, q) {
			want = q
			break
		}
	}
	var reason string
	switch final.qualifier {
	case QualifierPass:
		reason = fmt.Sprintf("%s ends in %s: every host on the internet passes SPF for it", domain, what)
	case QualifierNeutral:
		reason = fmt.Sprintf("%s ends in %s: unlisted clients get neutral, which receivers treat like no SPF at all", domain, what)
	default:
		reason = fmt.Sprintf("%s ends in %s; the module accepts %s", domain, what, acceptedList(r.cfg.AcceptableAll))
	}
	then := ""
	if want == "~" && slices.Contains(r.cfg.AcceptableAll, "-") {
		then = " (and -all once every server that sends for " + domain + " is listed)"
	}
	fix := "end the record with " + want + "all: " + txtLine(domain, withAll(rec, want)) + then
	switch {
	case final.catchAll != "":
		fix = fmt.Sprintf("remove %s, which matches every client before the all is reached, and end the record with %sall", final.catchAll, want)
	case !rec.HasAll() && rec.Redirect != nil:
		fix = fmt.Sprintf("end the record %s points to with %sall", rec.Redirect.Text, want)
	}
	r.res.Fail(checkAllPolicy, reason, fix, evidence...)
}

// receivingEvidence says whether a domain that sends no mail receives any:
// its null MX, its MX hosts, or neither.
func receivingEvidence(domain string, hosts *mailhosts.Set, hostsErr error) string {
	switch {
	case hostsErr != nil:
		return "whether " + domain + " receives mail is unknown: " + hostsErr.Error()
	case hosts.NullMX && len(hosts.Hosts) == 0:
		return domain + " publishes a null MX (RFC 7505): it receives no mail either"
	case hosts.Implicit() != nil:
		return domain + " receives mail at its own addresses (the implicit MX): it receives but does not send"
	case len(hosts.Hosts) > 0:
		var names []string
		for _, h := range hosts.Hosts {
			names = append(names, h.Name)
		}
		return domain + " receives mail at " + probes.JoinNames(names) + ": it receives but does not send"
	}
	return domain + " publishes no MX records: if it receives no mail either, a null MX (mx.present) says so"
}

func acceptedList(qs []string) string {
	var out []string
	for _, q := range qs {
		out = append(out, q+"all")
	}
	return strings.Join(out, " or ")
}

// onlyFailAll reports whether the record authorises nothing: -all and no
// other mechanism or redirect (modifiers such as exp= may stay).
func onlyFailAll(rec *Record) bool {
	return len(rec.Terms) == 1 && rec.Terms[0].Mechanism == MechAll &&
		rec.Terms[0].Qualifier == QualifierFail && rec.Redirect == nil
}

// withAll returns the record text with its all set to qualifier q: the
// existing all changed in place, or "-all" added at the end.
func withAll(rec *Record, q string) string {
	fields := strings.Fields(rec.Text)
	for i, f := range fields {
		if strings.EqualFold(strings.TrimLeft(f, "+-~?"), "all") {
			fields[i] = q + "all"
			return strings.Join(fields, " ")
		}
	}
	// Mechanisms go before modifiers; drop a redirect, which all disables.
	var mechs, mods []string
	for _, f := range fields[1:] {
		if name, _, ok := modifierParts(f); ok {
			if name != "redirect" {
				mods = append(mods, f)
			}
			continue
		}
		mechs = append(mechs, f)
	}
	out := append([]string{"v=spf1"}, mechs...)
	out = append(out, q+"all")
	return strings.Join(append(out, mods...), " ")
}

func (r *run) recordPTR(domain string, a *audit) {
	if len(a.ptrs) > 0 {
		var where []string
		for _, f := range a.ptrs {
			where = append(where, oneLine(f.String()))
		}
		r.res.Fail(checkNoPTR,
			probes.JoinPhrases(where)+": the ptr mechanism is slow, unreliable and not to be used (RFC 7208 §5.5); some receivers ignore it",
			"replace ptr with ip4:/ip6: or a: terms for the hosts it is meant to cover")
		return
	}
	if a.incomplete {
		r.res.Undecided(checkNoPTR, a.incompleteErr())
		return
	}
	r.res.Pass(checkNoPTR, "no ptr mechanism in the tree of "+domain+a.scope())
}

// recordBreadth judges how much address space the domain's own terms
// authorise: ip4, ip6, a and mx of its own names, and any term that passes
// every client. An include (or redirect, a, mx) of another
// organization's names is the domain handing its mail to a provider, whose
// shared space is the intended authorisation: those terms are reported
// with their size and not counted.
func (r *run) recordBreadth(domain string, a *audit) {
	own4 := intersect(a.ownPass.v4, a.pass.v4).size()
	own6 := intersect(a.ownPass.touched6, a.pass.touched6).size()
	n4, n6 := a.pass.v4.size(), a.pass.touched6.size()
	max := float64(r.cfg.MaxIPv4Addresses)
	// Without a provider's term, the own terms are the whole tree.
	subject := "the tree of " + domain + " passes"
	evidence := []string{fmt.Sprintf("IPv4: %s; IPv6: %s", count(n4, "address", "addresses"), count(n6, "/64 prefix", "/64 prefixes"))}
	if len(a.providerTerms) > 0 {
		subject = "the own terms of " + domain + " pass"
		evidence = []string{fmt.Sprintf("its own terms: IPv4 %s, IPv6 %s; the whole tree: IPv4 %s, IPv6 %s",
			count(own4, "address", "addresses"), count(own6, "/64 prefix", "/64 prefixes"),
			count(n4, "address", "addresses"), count(n6, "/64 prefix", "/64 prefixes"))}
	}
	var shares []broadTerm
	for _, s := range a.shares {
		if !s.provider {
			shares = append(shares, s)
		}
	}
	sort.SliceStable(shares, func(i, j int) bool { return shares[i].size > shares[j].size })
	for _, s := range shares {
		evidence = append(evidence, fmt.Sprintf("%s adds %s", s.term, count(s.size, "IPv4 address", "IPv4 addresses")))
	}
	for _, b := range a.broad {
		// Broad terms in the domain's other own records; a provider's
		// records are the provider's business.
		if b.domain != domain && b.size > max && a.ownName(b.domain) {
			evidence = append(evidence, fmt.Sprintf("%s in %s passes %s", b.term, b.domain, count(b.size, "IPv4 address", "IPv4 addresses")))
		}
	}
	providers := append([]broadTerm(nil), a.providerTerms...)
	sort.SliceStable(providers, func(i, j int) bool { return providers[i].size > providers[j].size })
	var named []string
	for _, p := range providers {
		where := ""
		if p.domain != domain {
			where = " in " + p.domain
		}
		evidence = append(evidence, fmt.Sprintf("%s%s: a provider's shared space, not counted (IPv4 %s, IPv6 %s)",
			p.term, where, count(p.size, "address", "addresses"), count(p.size6, "/64 prefix", "/64 prefixes")))
		named = append(named, p.term)
	}
	if own4 > max {
		reason := fmt.Sprintf("%s %s, more than the %d allowed", subject, count(own4, "IPv4 address", "IPv4 addresses"), r.cfg.MaxIPv4Addresses)
		fix := "authorise only the addresses you send from"
		if len(shares) > 0 {
			top := shares[0]
			reason += fmt.Sprintf("; %s adds %.0f", top.term, top.size)
			switch {
			case strings.Contains(top.term, "all"):
				fix = fmt.Sprintf("replace %s with ~all and list the addresses you send from before it", top.term)
			case strings.HasPrefix(top.term, "include:") || strings.HasPrefix(top.term, "redirect="):
				fix = fmt.Sprintf("narrow the record %s leads to, which is %s's own, to the addresses you send from", top.term, domain)
			default:
				fix = fmt.Sprintf("narrow %s to the addresses you send from", top.term)
			}
		}
		r.res.Fail(checkNotTooBroad, reason, fix, evidence...)
		return
	}
	if a.incomplete {
		r.res.Undecided(checkNotTooBroad, a.incompleteErr())
		return
	}
	reason := fmt.Sprintf("%s %s (at most %d allowed)", subject, count(own4, "IPv4 address", "IPv4 addresses"), r.cfg.MaxIPv4Addresses)
	if len(named) > 0 {
		reason += "; its provider's shared space (" + probes.JoinNames(named) + ") is not counted"
	}
	if a.partial {
		reason += ", besides what its ptr, exists or macro terms match"
	}
	r.res.Pass(checkNotTooBroad, reason+a.scope(), evidence...)
}

// intersect returns the keys in both sets.
func intersect(x, y ipSet) ipSet { return x.minus(x.minus(y)) }

// count renders a large count with its noun.
func count(n float64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%.0f %s", n, many)
}

// oneLine makes text from a record safe for a one-line reason by turning
// every control character into a space. It is not probes.OneLine on
// purpose: SPF terms and include chains are quoted whole, with their own
// spacing, so nothing is folded or cut here.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
