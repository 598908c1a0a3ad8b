package spf

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// recordAudit records the checks that rest on the domain's tree.
func (r *run) recordAudit(domain string, rec *Record, a *audit, nullMX bool) {
	r.res.AddDetail(treeTitle, a.treeLines()...)
	for _, err := range a.errs {
		r.res.Error(err)
	}
	if !a.incomplete {
		r.res.Measure(metricLookups, float64(a.lookups))
		r.res.Measure(metricVoids, float64(a.voidLookups()))
		r.res.Measure(metricIPv4, a.pass.v4.size())
		r.res.Measure(metricIPv6, a.pass.touched6.size())
	}
	r.recordSyntax(domain, a)
	r.recordLookups(domain, a)
	r.recordVoids(domain, a)
	r.recordLoops(domain, a)
	r.recordAllPolicy(domain, rec, a, nullMX)
	r.recordPTR(domain, a)
	r.recordBreadth(domain, a)
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

func (r *run) recordVoids(domain string, a *audit) {
	var evidence []string
	for _, f := range a.voidHits {
		evidence = append(evidence, oneLine(f.String()))
	}
	if n := a.voidLookups(); n > VoidLookupLimit {
		fams := 0
		if a.voids[0] > VoidLookupLimit {
			fams |= fam4
		}
		if a.voids[1] > VoidLookupLimit {
			fams |= fam6
		}
		who := familyClients(fams)
		var terms []string
		for _, f := range a.voidHits {
			terms = append(terms, fmt.Sprintf("%s in %s (%s)", f.term, f.domain, f.msg))
		}
		r.res.Fail(checkVoidLimit,
			fmt.Sprintf("%d void lookups for %s in the tree of %s; receivers return permerror after %d (RFC 7208 §4.6.4)", n, who, domain, VoidLookupLimit),
			"remove or repair the terms whose names have no records: "+probes.JoinPhrases(terms), evidence...)
		return
	}
	if a.incomplete {
		r.res.Undecided(checkVoidLimit, a.incompleteErr())
		return
	}
	r.res.Pass(checkVoidLimit, fmt.Sprintf("%s of %d in the tree of %s", a.voidSummary(), VoidLookupLimit, domain)+a.scope(), evidence...)
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

func (r *run) recordAllPolicy(domain string, rec *Record, a *audit, nullMX bool) {
	final := a.final
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
		r.res.Fail(checkAllPolicy,
			domain+" publishes a null MX (RFC 7505): it receives no mail and should authorise no sender, but its SPF record is not \"v=spf1 -all\"",
			"publish "+txtLine(domain, "v=spf1 -all")+" in place of the current record", evidence...)
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
	want := "-"
	if !slices.Contains(r.cfg.AcceptableAll, want) {
		want = r.cfg.AcceptableAll[0]
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
	fix := "end the record with " + want + "all: " + txtLine(domain, withAll(rec, want))
	switch {
	case final.catchAll != "":
		fix = fmt.Sprintf("remove %s, which matches every client before the all is reached, and end the record with %sall", final.catchAll, want)
	case !rec.HasAll() && rec.Redirect != nil:
		fix = fmt.Sprintf("end the record %s points to with %sall", rec.Redirect.Text, want)
	}
	r.res.Fail(checkAllPolicy, reason, fix, evidence...)
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

func (r *run) recordBreadth(domain string, a *audit) {
	n4, n6 := a.pass.v4.size(), a.pass.touched6.size()
	max := float64(r.cfg.MaxIPv4Addresses)
	evidence := []string{fmt.Sprintf("IPv4: %s; IPv6: %s", count(n4, "address", "addresses"), count(n6, "/64 prefix", "/64 prefixes"))}
	shares := append([]broadTerm(nil), a.shares...)
	sort.SliceStable(shares, func(i, j int) bool { return shares[i].size > shares[j].size })
	for _, s := range shares {
		evidence = append(evidence, fmt.Sprintf("%s adds %s", s.term, count(s.size, "IPv4 address", "IPv4 addresses")))
	}
	for _, b := range a.broad {
		if b.domain != domain && b.size > max {
			evidence = append(evidence, fmt.Sprintf("%s in %s passes %s", b.term, b.domain, count(b.size, "IPv4 address", "IPv4 addresses")))
		}
	}
	if n4 > max {
		reason := fmt.Sprintf("the tree of %s passes %s, more than the %d allowed", domain, count(n4, "IPv4 address", "IPv4 addresses"), r.cfg.MaxIPv4Addresses)
		fix := "authorise only the addresses you send from"
		if len(shares) > 0 {
			top := shares[0]
			reason += fmt.Sprintf("; %s adds %.0f", top.term, top.size)
			switch {
			case strings.Contains(top.term, "all"):
				fix = fmt.Sprintf("replace %s with -all and list the addresses you send from", top.term)
			case strings.HasPrefix(top.term, "include:") || strings.HasPrefix(top.term, "redirect="):
				fix = fmt.Sprintf("%s is a provider's shared address space (%.0f addresses): if you send through it, raise max_ipv4_addresses of the module above %.0f; if you do not, remove it", top.term, top.size, n4)
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
	reason := fmt.Sprintf("the tree of %s passes %s (at most %d allowed)", domain, count(n4, "IPv4 address", "IPv4 addresses"), r.cfg.MaxIPv4Addresses)
	if a.partial {
		reason += ", besides what its ptr, exists or macro terms match"
	}
	r.res.Pass(checkNotTooBroad, reason+a.scope(), evidence...)
}

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
