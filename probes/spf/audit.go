package spf

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/internal/flight"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
	"github.com/deliverability-exporter/deliverability_exporter/probes/mailhosts"
)

// The audit walks a domain's SPF tree the way a receiver evaluates it for a
// client that no ip4, ip6, a, mx, ptr or exists term matches: every term up
// to the first one that matches every client (all, usually) is evaluated,
// includes and redirects are followed, and the DNS-querying terms and void
// lookups are counted as RFC 7208 §4.6.4 counts them. That client costs a
// receiver the most lookups, so its count is the one the limits apply to.
//
// Unlike a receiver, the audit does not stop at a limit or an error: it
// notes where the limit is crossed and carries on, so the report shows the
// whole tree and what each branch costs. It does stop following a loop, and
// it resolves at most auditLookupCap terms, so a hostile tree costs a
// bounded number of questions. Both address families are looked at, so void
// lookups are counted for IPv4 and for IPv6 clients separately (an a term
// whose host has no AAAA record is void for IPv6 clients only).

// auditLookupCap bounds the DNS-querying terms the audit resolves: three
// times the limit, so every tree a receiver could evaluate is counted
// exactly and a hostile one (includes nested 1,000 deep) is not followed
// for ever.
const auditLookupCap = 3 * LookupLimit

// Families, as bits, for void lookups.
const (
	fam4    = 1
	fam6    = 2
	famBoth = fam4 | fam6
)

// node is a DNS-querying term of the tree (or the root record).
type node struct {
	label    string
	depth    int
	own      int // lookups the term itself costs (1, or 0 for the root)
	cost     int // own plus the children's cost, after the walk
	notes    []string
	children []*node
	// skipped counts DNS-querying terms of this record the audit counted
	// but did not resolve (past auditLookupCap).
	skipped int
	// mark says the limit is crossed at this term, or inside this branch.
	mark string
}

func (n *node) child(label string) *node {
	c := &node{label: label, depth: n.depth + 1}
	n.children = append(n.children, c)
	return c
}

func (n *node) note(format string, args ...any) {
	n.notes = append(n.notes, fmt.Sprintf(format, args...))
}

// finding is one problem the audit met, with where it is.
type finding struct {
	domain string // whose record
	term   string // the term, or "" for the record as a whole
	msg    string
	remedy string // what to change, when the message does not say

	// For a void lookup: the client families it is void for, the name
	// looked up, whether that name has records of the other family, and
	// the addresses it has (what the term matches today).
	fams       int
	name       string
	hasRecords bool
	addrs      []netip.Addr
}

// fix is what to change.
func (f finding) fix() string {
	if f.remedy != "" {
		return f.remedy
	}
	return "fix the record of " + f.domain + ": " + f.msg
}

func (f finding) String() string {
	switch {
	case f.term == "":
		return f.domain + ": " + f.msg
	case f.msg == "":
		return fmt.Sprintf("%s in %s", f.term, f.domain)
	}
	return fmt.Sprintf("%s in %s: %s", f.term, f.domain, f.msg)
}

// finalAll is the all that decides for a client no other term matches:
// the record's own all, the one its redirect target ends with, or the
// implicit ?all of a record with neither (RFC 7208 §4.7).
type finalAll struct {
	qualifier Qualifier
	from      string // "-all", "redirect=_spf.example.com (-all)", ...
	implicit  bool
	// catchAll is the term, other than all, that matches every client
	// first (an include of a +all record, an exists of a fixed name).
	catchAll string
	// broken is why no all can be found: the redirect target has no
	// record (permerror) or could not be fetched (temperror).
	broken    string
	temporary bool
}

// audit is one walk.
type audit struct {
	ctx context.Context
	dns Resolver
	// identity is the domain being audited (%{o}).
	identity string

	lookups int
	voids   [2]int // for IPv4 clients, for IPv6 clients
	// capped is set when terms were counted but not resolved.
	capped bool
	// incomplete is set when a lookup failed (temperror): the counts and
	// findings are lower bounds.
	incomplete bool

	crossLookups *node
	crossVoids   *node
	crossVoidFam int

	root  *node
	final finalAll
	// pass is what the tree authorises; partial says ptr, exists or
	// unexpanded terms authorise more that depends on the client.
	pass    addrSets
	partial bool

	broad  []broadTerm
	shares []broadTerm // the root's terms, by the IPv4 addresses each adds
	// ownPass is what the domain's own terms pass: ip4, ip6, a and mx of
	// its own names, catch-alls, in its own records (the root, and the
	// records of its own names it includes or redirects to).
	// providerTerms are the terms of those records that hand the decision
	// to another organization (an include of a provider), with the IPv4
	// addresses each adds: the provider's shared space, reported and not
	// held against the domain (spf.not_too_broad).
	ownPass       addrSets
	providerTerms []broadTerm

	syntax   []finding // permerror causes: parse errors, missing or duplicate records
	loops    []finding
	ptrs     []finding
	mxOver   []finding
	voidHits []finding
	errs     []error

	path     []string        // domains being evaluated, root first
	included map[string]bool // include and redirect targets seen, for duplicates

	warmMu    sync.Mutex
	warmed    map[string]bool
	warmBudge int
	warmTasks flight.Tasks
}

// runAudit audits the SPF tree of domain, whose record rec has already
// been fetched and parsed.
func runAudit(ctx context.Context, r Resolver, domain string, rec *Record) *audit {
	a := &audit{
		ctx:       ctx,
		dns:       r,
		identity:  domain,
		root:      &node{label: domain},
		included:  map[string]bool{},
		warmed:    map[string]bool{},
		warmBudge: auditLookupCap,
	}
	res := a.walkRecord(a.root, domain, rec, true)
	a.final = res.final
	a.pass = res.pass
	a.warmTasks.Wait()
	a.finish(a.root)
	return a
}

// recordResult is what evaluating one record gave.
type recordResult struct {
	final finalAll
	pass  addrSets
	// everyone is set when a term matches every client (all, an exists
	// that resolves, an include whose record passes everyone): the result
	// those clients get; decider is that term.
	everyone Result
	decider  string
}

// broadTerm is a term that passes many IPv4 addresses by itself.
type broadTerm struct {
	domain, term string
	size         float64
	// provider is set for a term that hands the decision to another
	// organization's record or names (see audit.providerTerms).
	provider bool
	// size6 is the IPv6 /64 prefixes it adds (for provider terms).
	size6 float64
}

// noteBroad remembers pass terms that cover more than a /24, for the
// reason of spf.not_too_broad.
func (a *audit) noteBroad(domain string, t *Term, match addrSets) {
	if t.Qualifier != QualifierPass || len(a.broad) >= 16 {
		return
	}
	if size := match.v4.size(); size > 256 {
		a.broad = append(a.broad, broadTerm{domain: domain, term: t.Text, size: size})
	}
}

// share remembers how many IPv4 addresses a term of the root record adds
// to what the tree passes, for the reason of spf.not_too_broad.
func (a *audit) share(n *node, label string, q Qualifier, match, decided addrSets, provider bool) {
	if n != a.root || q != QualifierPass {
		return
	}
	if size := match.v4.minus(decided.v4).size(); size > 0 {
		a.shares = append(a.shares, broadTerm{domain: a.identity, term: label, size: size, provider: provider})
	}
}

// attribute records, for a pass term of one of the domain's own records,
// whose authorisation the addresses it adds are: the domain's own
// (ownPass), or, for a term that names another organization, that
// organization's (providerTerms). An include or redirect of the domain's
// own names attributes nothing itself: the terms of the record it leads
// to were attributed one by one.
func (a *audit) attribute(domain, label string, q Qualifier, match, decided addrSets, owner termOwner) {
	if q != QualifierPass || owner == ownRecord {
		return
	}
	var added addrSets
	decide(&added, &addrSets{v4: decided.v4, touched6: decided.touched6, full6: decided.full6}, match, QualifierPass)
	if owner == ownTerm {
		a.ownPass.v4.addAll(added.v4)
		a.ownPass.touched6.addAll(added.touched6)
		return
	}
	if added.v4.size() > 0 || added.touched6.size() > 0 {
		a.providerTerms = append(a.providerTerms, broadTerm{domain: domain, term: label, size: added.v4.size(),
			size6: added.touched6.size(), provider: true})
	}
}

// termOwner says whose authorisation a term of one of the domain's own
// records is.
type termOwner int

const (
	// ownTerm: the domain's own (ip4, ip6, a or mx of its own names, a
	// term that matches every client).
	ownTerm termOwner = iota
	// ownRecord: an include or redirect of the domain's own names; the
	// record it leads to is attributed term by term.
	ownRecord
	// providerTerm: an include, redirect, a or mx of another
	// organization's names.
	providerTerm
)

// ownerOf classifies a term of one of the domain's own records by the
// name it points at ("" for a term without a name, which uses the record's
// own domain).
func (a *audit) ownerOf(m Mechanism, target string, everyone bool) termOwner {
	switch {
	case everyone:
		return ownTerm
	case m != MechInclude && m != MechA && m != MechMX:
		return ownTerm
	case target != "" && !a.ownName(target):
		return providerTerm
	case m == MechInclude:
		return ownRecord
	}
	return ownTerm
}

// ownName reports whether a name an SPF term points at belongs to the
// audited domain's organization.
func (a *audit) ownName(name string) bool {
	return mailhosts.SameOrganization(a.identity, name)
}

// walkTarget follows an include or a redirect to target's record; own says
// the record is one of the domain's own (see audit.ownPass).
func (a *audit) walkTarget(n *node, kind, target string, own bool) recordResult {
	fail := func(temp bool, format string, args ...any) recordResult {
		msg := fmt.Sprintf(format, args...)
		n.note("%s", msg)
		if !temp {
			parent := a.parentOf(n)
			a.syntax = append(a.syntax, finding{domain: parent, term: n.label, msg: msg,
				remedy: fmt.Sprintf("remove %s from the record of %s, or have %s publish one valid SPF record", n.label, parent, target)})
		}
		return recordResult{final: finalAll{broken: msg, temporary: temp}}
	}
	name, ok := targetName(target)
	if !ok {
		return fail(false, "%q is not a valid domain name: receivers return permerror (RFC 7208 §4.3)", target)
	}
	for _, d := range a.path {
		if d == name {
			msg := fmt.Sprintf("loop: %s is already being evaluated (%s)", name, strings.Join(append(append([]string(nil), a.path...), name), " -> "))
			n.note("%s", msg)
			a.loops = append(a.loops, finding{domain: a.parentOf(n), term: n.label, msg: msg})
			return recordResult{final: finalAll{broken: msg}}
		}
	}
	if a.included[name] {
		n.note("evaluated again: its lookups count again")
	}
	a.included[name] = true
	set, err := fetchRecord(a.ctx, a.dns, name)
	if err != nil {
		a.incomplete = true
		a.errs = append(a.errs, fmt.Errorf("spf %s %q: %w", kind, name, err))
		return fail(true, "temperror: %v", shortError(err))
	}
	switch len(set.records) {
	case 0:
		if set.answer.Empty() {
			why := "no TXT records"
			if set.answer.NXDomain() {
				why = "NXDOMAIN"
			}
			a.void(n, famBoth, why)
		}
		return fail(false, "%s publishes no SPF record: receivers return permerror (RFC 7208 §%s)", name, map[string]string{"include": "5.2", "redirect": "6.1"}[kind])
	case 1:
	default:
		return fail(false, "%s publishes %d SPF records: receivers return permerror (RFC 7208 §4.5)", name, len(set.records))
	}
	rec, _ := Parse(set.records[0])
	return a.walkRecord(n, name, rec, own && a.ownName(name))
}

// parentOf names the domain whose record holds n.
func (a *audit) parentOf(*node) string {
	if len(a.path) == 0 {
		return a.identity
	}
	return a.path[len(a.path)-1]
}

// walkRecord evaluates one record for the client no address term matches;
// own says the record is one of the domain's own, whose terms are
// attributed (audit.attribute).
func (a *audit) walkRecord(n *node, domain string, rec *Record, own bool) recordResult {
	for _, e := range rec.Errors {
		a.syntax = append(a.syntax, finding{domain: domain, msg: e.Error()})
		n.note("syntax error: %s", e)
	}
	a.path = append(a.path, domain)
	defer func() { a.path = a.path[:len(a.path)-1] }()
	a.warm(rec, domain)

	var res recordResult
	var decided addrSets
	vals := &auditVals{a: a, domain: domain}
	hasAll := rec.HasAll()
	for i := range rec.Terms {
		t := &rec.Terms[i]
		if res.everyone != "" {
			if t.Mechanism.QueriesDNS() || t.Mechanism == MechAll {
				n.note("%s and the terms after it are never evaluated: %s matches every client first", t.Text, res.decider)
			}
			break
		}
		if t.Mechanism == MechAll {
			res.everyone, res.decider = t.Qualifier.Result(), t.Text
			res.final = finalAll{qualifier: t.Qualifier, from: t.Text}
			a.noteBroad(domain, t, everything())
			a.share(n, t.Text, t.Qualifier, everything(), decided, false)
			if own {
				a.attribute(domain, t.Text, t.Qualifier, everything(), decided, ownTerm)
			}
			decide(&res.pass, &decided, everything(), t.Qualifier)
			continue // to note what follows it
		}
		match, everyone, target := a.walkTerm(n, domain, t, vals, own)
		if everyone {
			res.everyone, res.decider = t.Qualifier.Result(), t.Text
			res.final = finalAll{qualifier: t.Qualifier, from: t.Text + " (matches every client)", catchAll: t.Text}
			match = everything()
		}
		if t.Mechanism != MechInclude {
			a.noteBroad(domain, t, match)
		}
		owner := a.ownerOf(t.Mechanism, target, everyone)
		a.share(n, t.Text, t.Qualifier, match, decided, owner == providerTerm)
		if own {
			a.attribute(domain, t.Text, t.Qualifier, match, decided, owner)
		}
		decide(&res.pass, &decided, match, t.Qualifier)
	}
	switch {
	case rec.Redirect == nil:
		if res.everyone == "" {
			res.final = finalAll{qualifier: QualifierNeutral, from: "no all (implicit ?all)", implicit: true}
		}
	case hasAll:
		// RFC 7208 §6.1: a redirect is ignored when the record has all.
		n.note("%s is ignored: the record has an all mechanism (RFC 7208 §6.1)", rec.Redirect.Text)
	case res.everyone != "":
		n.note("%s is never used: %s matches every client first", rec.Redirect.Text, res.decider)
	default:
		c, ok := a.charge(n, rec.Redirect.Text)
		if !ok {
			res.final = finalAll{broken: "the redirect was not followed (the audit stops after " + fmt.Sprint(auditLookupCap) + " lookups)"}
			break
		}
		target, known := rec.Redirect.Value.expand(vals)
		if !known {
			c.note("depends on %s: not followed", vals.missingWhat())
			a.partial = true
			res.final = finalAll{broken: rec.Redirect.Text + " depends on " + vals.missingWhat()}
			break
		}
		owner := a.ownerOf(MechInclude, target, false)
		sub := a.walkTarget(c, "redirect", target, own)
		a.share(n, rec.Redirect.Text, QualifierPass, sub.pass, decided, owner == providerTerm)
		if own {
			a.attribute(domain, rec.Redirect.Text, QualifierPass, sub.pass, decided, owner)
		}
		decide(&res.pass, &decided, sub.pass, QualifierPass)
		res.everyone = sub.everyone
		res.final = sub.final
		if sub.final.broken == "" {
			res.final.from = rec.Redirect.Text + " (" + sub.final.from + ")"
		}
	}
	return res
}

// walkTerm evaluates one DNS-querying term, or an ip4/ip6 one, and returns
// the addresses it matches (everyone: it matches every client).
//
// target is the name the term looked up ("" for ip4, ip6 and a term not
// looked up); own says the term is in one of the domain's own records.
func (a *audit) walkTerm(n *node, domain string, t *Term, vals *auditVals, own bool) (match addrSets, everyone bool, target string) {
	switch t.Mechanism {
	case MechIP4, MechIP6:
		match.addPrefix(t.Network)
		return match, false, ""
	}
	c, ok := a.charge(n, t.Text)
	if !ok {
		return match, false, ""
	}
	target = domain
	if t.Domain != nil {
		var known bool
		if target, known = t.Domain.expand(vals); !known {
			c.note("depends on %s: not looked up", vals.missingWhat())
			a.partial = true
			return match, false, ""
		}
	}
	switch t.Mechanism {
	case MechInclude:
		sub := a.walkTarget(c, "include", target, own)
		// An include matches the clients its record passes (§5.2).
		return sub.pass, sub.everyone == Pass, target
	case MechA:
		a.lookupAddrs(c, target, t, &match, true)
	case MechMX:
		a.walkMX(c, target, t, &match)
	case MechPTR:
		a.partial = true
		c.note("matches clients by their reverse DNS: the lookups depend on the client")
		a.ptrs = append(a.ptrs, finding{domain: domain, term: t.Text})
	case MechExists:
		ans, err := lookup(a.ctx, a.dns, target, dns.TypeA)
		if err != nil {
			a.lookupFailed(c, "exists", target, err)
			return match, false, target
		}
		if ans.Empty() {
			a.void(c, famBoth, voidWhy(ans, "A"))
			return match, false, target
		}
		if !t.Domain.onlyLetters("do") {
			a.partial = true
			c.note("matches clients whose name resolves: depends on the client")
			return match, false, target
		}
		// A fixed name that resolves matches every client.
		return match, true, target
	}
	return match, false, target
}

// walkMX looks up the MX hosts and their addresses; more than 10 MX
// records make receivers return permerror (§4.6.4).
func (a *audit) walkMX(c *node, target string, t *Term, match *addrSets) {
	ans, err := lookup(a.ctx, a.dns, target, dns.TypeMX)
	if err != nil {
		a.lookupFailed(c, "mx", target, err)
		return
	}
	if ans.Empty() {
		a.void(c, famBoth, voidWhy(ans, "MX"))
		return
	}
	if len(ans.Records) > AddressLimit {
		msg := fmt.Sprintf("%s has %d MX records: more than %d make receivers return permerror (RFC 7208 §4.6.4)", target, len(ans.Records), AddressLimit)
		c.note("%s", msg)
		a.mxOver = append(a.mxOver, finding{domain: a.path[len(a.path)-1], term: t.Text, msg: msg})
		return
	}
	hosts := mxHosts(ans)
	c.note("%s, %d address lookups (not counted against the limit, §4.6.4)", probes.Plural(len(hosts), "MX host", "MX hosts"), 2*len(hosts))
	for _, h := range hosts {
		a.lookupAddrs(c, h, t, match, false)
	}
}

// lookupAddrs asks A and AAAA of name and adds what it finds, with the
// term's prefix lengths; void lookups count when asked for an a term.
func (a *audit) lookupAddrs(c *node, name string, t *Term, match *addrSets, countVoid bool) {
	fams := 0
	var why []string
	var found []netip.Addr
	for _, q := range []struct {
		qtype uint16
		fam   int
	}{{dns.TypeA, fam4}, {dns.TypeAAAA, fam6}} {
		ans, err := lookup(a.ctx, a.dns, name, q.qtype)
		if err != nil {
			a.lookupFailed(c, t.Text, name, err)
			return
		}
		for ip := range ans.AllAddrs() {
			match.addAddr(ip, t.Prefix4, t.Prefix6)
			found = append(found, ip)
		}
		if ans.Empty() {
			fams |= q.fam
			why = append(why, voidWhy(ans, dns.TypeToString[q.qtype]))
			if ans.NXDomain() {
				fams = famBoth
				why = []string{"NXDOMAIN"}
				break
			}
		}
	}
	if countVoid && fams != 0 {
		if fams == famBoth {
			found = nil
		}
		a.voidOf(c, fams, strings.Join(why, ", "), name, found)
	}
}

func voidWhy(ans *dnsclient.Answer, rrtype string) string {
	if ans.NXDomain() {
		return "NXDOMAIN"
	}
	return "no " + rrtype
}

// charge counts one DNS-querying term and gives it a node; ok is false when
// the audit has resolved as many terms as it will.
func (a *audit) charge(n *node, label string) (*node, bool) {
	a.lookups++
	if a.lookups > auditLookupCap {
		a.capped = true
		n.skipped++
		return nil, false
	}
	c := n.child(label)
	c.own = 1
	if a.lookups == LookupLimit+1 {
		a.crossLookups = c
	}
	return c, true
}

// void counts a void lookup for the client families in fams.
func (a *audit) void(c *node, fams int, why string) {
	a.voidOf(c, fams, why, "", nil)
}

// voidOf counts a void lookup of name for the client families in fams;
// addrs are the addresses name has in the other family, if any.
func (a *audit) voidOf(c *node, fams int, why, name string, addrs []netip.Addr) {
	for i, bit := range []int{fam4, fam6} {
		if fams&bit == 0 {
			continue
		}
		a.voids[i]++
		if a.voids[i] == VoidLookupLimit+1 && (a.crossVoids == nil || a.crossVoids == c) {
			a.crossVoids = c
			a.crossVoidFam |= bit
		}
	}
	who := ""
	if fams != famBoth {
		who = " for " + familyClients(fams)
	}
	c.note("void lookup%s (%s)", who, why)
	a.voidHits = append(a.voidHits, finding{domain: a.path[len(a.path)-1], term: c.label, msg: why + who,
		fams: fams, name: name, hasRecords: len(addrs) > 0, addrs: addrs})
}

func (a *audit) lookupFailed(c *node, what, name string, err error) {
	a.incomplete = true
	a.errs = append(a.errs, fmt.Errorf("spf %s %q: %w", what, name, err))
	c.note("temperror: %s", shortError(err))
}

// familyClients names the clients of the families in fams.
func familyClients(fams int) string {
	switch fams {
	case fam4:
		return "IPv4 clients"
	case fam6:
		return "IPv6 clients"
	}
	return "IPv4 and IPv6 clients"
}

// shortError keeps the DNS client's message, which names the question.
func shortError(err error) string { return err.Error() }

// voidLookups is the larger of the two families' counts: what the clients
// of one family meet.
func (a *audit) voidLookups() int { return max(a.voids[0], a.voids[1]) }

// voidLookupsFor is the larger count among the families in fams.
func (a *audit) voidLookupsFor(fams int) int {
	n := 0
	for _, bit := range []int{fam4, fam6} {
		if fams&bit != 0 {
			n = max(n, a.voids[famIndex(bit)])
		}
	}
	return n
}

// famIndex is the index of a single family bit in audit.voids.
func famIndex(bit int) int {
	if bit == fam6 {
		return 1
	}
	return 0
}

// familiesName names the families in fams.
func familiesName(fams int) string {
	switch fams {
	case fam4:
		return "IPv4"
	case fam6:
		return "IPv6"
	}
	return "IPv4 and IPv6"
}

// finish sums the branch costs and marks the branches where the limits
// are crossed.
func (a *audit) finish(n *node) {
	sumCosts(n)
	if a.crossLookups != nil {
		markPath(n, a.crossLookups,
			fmt.Sprintf("<< lookup %d: over the limit, receivers stop here with permerror", LookupLimit+1),
			"<< crosses the lookup limit")
	}
	if a.crossVoids != nil {
		markPath(n, a.crossVoids,
			fmt.Sprintf("<< void lookup %d for %s: receivers stop here with permerror", VoidLookupLimit+1, familyClients(a.crossVoidFam)),
			"<< crosses the void lookup limit")
	}
}

func sumCosts(n *node) int {
	n.cost = n.own + n.skipped
	for _, c := range n.children {
		n.cost += sumCosts(c)
	}
	return n.cost
}

// markPath marks target with mark and the nodes above it with above.
func markPath(n, target *node, mark, above string) bool {
	if n == target {
		n.mark = joinMark(n.mark, mark)
		return true
	}
	for _, c := range n.children {
		if markPath(c, target, mark, above) {
			if n.depth > 0 {
				n.mark = joinMark(n.mark, above)
			}
			return true
		}
	}
	return false
}

func joinMark(old, mark string) string {
	if old == "" {
		return mark
	}
	return old + " " + mark
}

// auditVals supplies macro values known without a client: %{d}, %{o}.
// The others depend on the client or the sender, and the term is counted
// without being looked up.
type auditVals struct {
	a       *audit
	domain  string
	missing byte
}

func (v *auditVals) value(letter byte) (string, bool) {
	switch letter {
	case 'd':
		return v.domain, true
	case 'o':
		return v.a.identity, true
	}
	v.missing = letter
	return "", false
}

func (v *auditVals) missingWhat() string {
	switch v.missing {
	case 's', 'l':
		return fmt.Sprintf("the sender (%%{%c})", v.missing)
	case 'h':
		return "the HELO name (%{h})"
	}
	return fmt.Sprintf("the client address (%%{%c})", v.missing)
}

// warm asks, all at once, the questions the walk is about to ask one after
// another for rec's terms, and recursively for the records they include,
// so the walk finds the answers in the request cache: a tree costs as many
// round trips as it is deep, not as many as it has terms. It changes no
// count: the walk alone counts. Each record is warmed once, and no more
// terms are warmed than the walk resolves (auditLookupCap).
func (a *audit) warm(rec *Record, domain string) {
	a.warmMu.Lock()
	if a.warmed[domain] {
		a.warmMu.Unlock()
		return
	}
	a.warmed[domain] = true
	a.warmMu.Unlock()
	vals := &auditVals{a: a, domain: domain}
	spend := func() bool {
		a.warmMu.Lock()
		defer a.warmMu.Unlock()
		if a.warmBudge <= 0 {
			return false
		}
		a.warmBudge--
		return true
	}
	for i := range rec.Terms {
		t := &rec.Terms[i]
		if t.Mechanism == MechAll {
			return // receivers never get past it, nor to a redirect
		}
		if !t.Mechanism.QueriesDNS() || t.Mechanism == MechPTR || !spend() {
			continue
		}
		target := domain
		if t.Domain != nil {
			var ok bool
			if target, ok = t.Domain.expand(vals); !ok {
				continue
			}
		}
		a.warmTasks.Go(func() { a.warmTerm(t.Mechanism, target) })
	}
	if rec.Redirect != nil && spend() {
		if target, ok := rec.Redirect.Value.expand(vals); ok {
			a.warmTasks.Go(func() { a.warmTerm(MechInclude, target) })
		}
	}
}

func (a *audit) warmTerm(m Mechanism, target string) {
	ask := func(name string, qtype uint16) *dnsclient.Answer {
		ans, err := lookup(a.ctx, a.dns, name, qtype)
		if err != nil {
			return nil
		}
		return ans
	}
	switch m {
	case MechInclude:
		name, ok := targetName(target)
		if !ok {
			return
		}
		set, err := fetchRecord(a.ctx, a.dns, name)
		if err != nil || len(set.records) != 1 {
			return
		}
		if rec, _ := Parse(set.records[0]); rec != nil {
			a.warm(rec, name)
		}
	case MechA:
		a.warmTasks.Go(func() { ask(target, dns.TypeA) })
		ask(target, dns.TypeAAAA)
	case MechExists:
		ask(target, dns.TypeA)
	case MechMX:
		ans := ask(target, dns.TypeMX)
		if ans == nil || len(ans.Records) > AddressLimit {
			return
		}
		for _, h := range mxHosts(ans) {
			a.warmTasks.Go(func() { ask(h, dns.TypeA) })
			a.warmTasks.Go(func() { ask(h, dns.TypeAAAA) })
		}
	}
}
