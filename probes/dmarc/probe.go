// Package dmarc is the probe that looks at a mail domain's DMARC record
// (RFC 7489, with the tags and the DNS tree walk of DMARCbis): where it is
// published (the domain, or the organizational domain it inherits from),
// whether receivers can apply it, which policy it asks for, whether it asks
// for aggregate reports, and whether every report destination outside the
// domain has agreed to receive them (RFC 7489 §7.1).
//
// The lookups take two rounds at most: every _dmarc name a receiver may
// consult at once (the domain and its organizational domain, or every
// name of the tree walk), then the authorization records of the external
// report destinations the record names.
package dmarc

import (
	"context"
	"fmt"
	"strings"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/internal/flight"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
	"github.com/deliverability-exporter/deliverability_exporter/probes/sending"
)

// Name is the probe's name (the probe label of its metrics).
const Name = "dmarc"

// Where the record that applies was found (mail_dmarc_record_source_info).
const (
	SourceDomain   = "domain"
	SourceOrg      = "organizational_domain"
	SourceTreeWalk = "tree_walk"
)

// maxExternalDestinations bounds the authorization lookups of one record.
const maxExternalDestinations = 10

// Probe checks the DMARC record of a domain. It is safe for concurrent use.
type Probe struct {
	cfg Config
}

var (
	_ probes.Probe     = (*Probe)(nil)
	_ probes.Describer = (*Probe)(nil)
)

// New makes a probe. cfg should have passed Validate (decoding it from YAML
// does that).
func New(cfg Config) *Probe {
	cfg.AcceptedPolicies = append([]string(nil), cfg.AcceptedPolicies...)
	return &Probe{cfg: cfg}
}

// Registration declares the probe to the engine. It reads whether the
// domain declares that it sends no mail (the spf block supplies that
// fact): for such a domain DMARC protects and reports nothing, so only
// p=reject is asked of it.
var Registration = probes.Register(Name, []string{sending.FactName}, DefaultConfig,
	func(c Config, _ probes.Setup) *Probe { return New(c) })

// Name returns "dmarc".
func (p *Probe) Name() string { return Name }

// level is the _dmarc name of one domain and what it answered.
type level struct {
	domain  string
	name    string // _dmarc.<domain>.
	ans     *dnsclient.Answer
	err     error
	records []string // TXT records that are DMARC records
	misfits []string // TXT records meant as DMARC that receivers discard
}

// Run checks the target's DMARC record. It returns when the checks are
// done or ctx ends, whichever is first, with what it found.
func (p *Probe) Run(ctx context.Context, req *probes.Request, env *probes.Env) *probes.Result {
	r := &run{cfg: p.cfg, ctx: ctx, env: env, res: probes.NewResult(Name), domain: req.Target.Name}
	if why := req.Target.NotADomain("DMARC records"); why != "" {
		r.res.SkipAll(why, allChecks...)
		return r.res
	}
	// Whether the domain sends mail is asked beside the records; it
	// depends on none of them. A module without an spf block, or an SPF
	// record that got no answer, leaves the domain judged as one that may
	// send (the spf probe reports the failed lookup).
	var tasks flight.Tasks
	tasks.Go(func() {
		if d, err := sending.Of(ctx, req, env); err == nil && d.NoMail {
			r.noMail = d
		}
	})
	// A null MX makes report addresses in the domain bounce. The MX
	// question is the mx probe's too: one question for the request.
	tasks.Go(func() { r.nullMX = hasNullMX(ctx, env.DNS, r.domain) })
	r.levels = lookupLevels(ctx, env.DNS, r.lookupDomains())
	tasks.Wait()
	r.judge()
	return r.res
}

// run is the state of one Run.
type run struct {
	cfg    Config
	ctx    context.Context
	env    *probes.Env
	res    *probes.Result
	domain string
	levels []*level
	// noMail is set when the domain declares that it sends no mail.
	noMail *sending.Declaration
	// nullMX: the domain publishes a null MX (RFC 7505), so it receives
	// no mail, reports included.
	nullMX bool
}

// lookupDomains lists the domains whose _dmarc record a receiver may use
// for the target, in the order it consults them: the domain itself, then
// its organizational domain (RFC 7489 §6.6.3) or, with tree_walk, every
// parent (DMARCbis).
func (r *run) lookupDomains() []string {
	if r.cfg.TreeWalk {
		return treeWalk(r.domain)
	}
	out := []string{r.domain}
	if org := OrganizationalDomain(r.domain); org != "" && org != r.domain {
		out = append(out, org)
	}
	return out
}

// lookupLevels asks TXT of every _dmarc name at once: only the first that
// answers with a record counts, but asking them one after another would
// cost a round trip per level for a record published high up.
func lookupLevels(ctx context.Context, r *dnsclient.Resolver, domains []string) []*level {
	levels := make([]*level, len(domains))
	var tasks flight.Tasks
	for i, d := range domains {
		l := &level{domain: d, name: dns.Fqdn("_dmarc." + d)}
		levels[i] = l
		tasks.Go(func() {
			ans, err := r.Lookup(ctx, l.name, dns.TypeTXT)
			if err != nil {
				l.err = fmt.Errorf("DMARC record of %s: %w", d, err)
				return
			}
			l.ans = ans
			for _, txt := range ans.TXT() {
				switch {
				case IsRecord(txt):
					l.records = append(l.records, txt)
				case LooksLikeRecord(txt):
					l.misfits = append(l.misfits, txt)
				}
			}
		})
	}
	tasks.Wait()
	return levels
}

func (l *level) found() bool { return len(l.records)+len(l.misfits) > 0 }

// evidence renders what the level answered.
func (l *level) evidence() []string {
	switch {
	case l.err != nil:
		return []string{l.err.Error()}
	case l.ans == nil:
		return nil
	}
	return probes.TXTEvidence(l.name, l.ans, 0)
}

// judge picks the record that applies, as a receiver would: the first
// level in order with a record. A level that could not be asked before
// that leaves everything undecided, since its answer could have been the
// one that applies.
func (r *run) judge() {
	var evidence []string
	for i, l := range r.levels {
		evidence = append(evidence, l.evidence()...)
		if l.err != nil {
			r.res.UndecidedAll(l.err, allChecks...)
			return
		}
		if l.found() {
			r.judgeLevel(i, l, evidence)
			return
		}
	}
	r.recordMissing(evidence)
}

// source says how the record at levels[i] was found.
func (r *run) source(i int) string {
	switch {
	case i == 0:
		return SourceDomain
	case r.cfg.TreeWalk:
		return SourceTreeWalk
	}
	return SourceOrg
}

// recordMissing fails dmarc.present with a starter record to publish.
func (r *run) recordMissing(evidence []string) {
	var where []string
	for _, l := range r.levels {
		where = append(where, strings.TrimSuffix(l.name, "."))
	}
	fix := "publish a starter record that asks for reports and enforces nothing yet: " +
		probes.ZoneTXT("_dmarc."+r.domain, "v=DMARC1; p=none; rua="+r.reportAddress(r.domain))
	if org := OrganizationalDomain(r.domain); org != "" && org != r.domain {
		fix += " (or publish it at _dmarc." + org + ", which covers every subdomain of " + org + ")"
	}
	fix += "; once the reports show your mail passes, move to p=quarantine, then p=reject"
	if r.noMail != nil {
		// Nothing legitimate can fail: reject at once, and nothing else
		// is needed (reports would only show who forges the domain).
		fix = "publish " + probes.ZoneTXT("_dmarc."+r.domain, "v=DMARC1; p=reject") + ": " + r.noMailPhrase() + ", so no legitimate mail can fail DMARC"
	}
	r.res.Fail(checkPresent, "no DMARC record at "+probes.JoinNames(where), fix, evidence...)
	r.res.SkipAll("no DMARC record", checkSyntax, checkPolicy, checkReports, checkExternalReports, checkPct)
}

// judgeLevel records the checks for the record(s) found at level i.
func (r *run) judgeLevel(i int, l *level, evidence []string) {
	src := r.source(i)
	reason := "_dmarc." + l.domain + " publishes a DMARC record"
	switch src {
	case SourceOrg:
		reason = fmt.Sprintf("%s has no DMARC record; its organizational domain %s has one, which applies to it (RFC 7489 §6.6.3)", r.domain, l.domain)
	case SourceTreeWalk:
		reason = fmt.Sprintf("%s has no DMARC record; the DNS tree walk (DMARCbis) finds one at _dmarc.%s", r.domain, l.domain)
	}
	if len(l.records) == 0 {
		reason = "_dmarc." + l.domain + " publishes a record meant as DMARC, which receivers discard (see dmarc.syntax)"
	}
	r.res.Pass(checkPresent, reason, evidence...)
	rest := []probes.CheckSpec{checkPolicy, checkReports, checkExternalReports, checkPct}
	own := l.evidence()
	switch {
	case len(l.records) > 1:
		// One record that says what they all meant: the strictest policy
		// any of them states, and every report destination.
		fix := "keep exactly one, with the strictest policy and every report destination of them, e.g. " +
			probes.ZoneTXT(l.name, Repair(strings.Join(l.records, "; "), r.noMailSet()))
		r.res.Fail(checkSyntax, fmt.Sprintf("_dmarc.%s has %d DMARC records: receivers apply no DMARC at all (RFC 7489 §6.6.3)", l.domain, len(l.records)),
			fix, own...)
		r.res.SkipAll("receivers apply no DMARC while _dmarc."+l.domain+" has several records", rest...)
		return
	case len(l.records) == 0:
		// Only records receivers discard (v=DMARC1 not first, another
		// case): report the mistake where it is rather than what a
		// receiver falls back to, which would hide it.
		_, err := Parse(l.misfits[0])
		r.recordUnusable(l, l.misfits[0], err, own)
		r.res.SkipAll("receivers discard the record at _dmarc."+l.domain, rest...)
		return
	}
	rec, err := Parse(l.records[0])
	if err != nil {
		r.recordUnusable(l, l.records[0], err, own)
		r.res.SkipAll("receivers apply no DMARC with the record at _dmarc."+l.domain, rest...)
		return
	}
	r.measure(rec, src)
	r.recordSyntax(l, rec, own)
	r.recordPolicy(l, rec, src)
	r.recordReports(l, rec)
	r.recordExternal(l, rec)
	r.recordPct(l, rec)
}

// recordUnusable fails dmarc.syntax for a record receivers cannot apply.
// The record to publish instead keeps what the broken one meant (Repair):
// never a weaker policy, never without its report destinations.
func (r *run) recordUnusable(l *level, text string, err error, evidence []string) {
	fix := ""
	if re, ok := err.(*RecordError); ok && re.Fix != "" {
		fix = "publish " + probes.ZoneTXT(l.name, Repair(re.Fix, r.noMailSet()))
	} else if r.noMail != nil {
		fix = "publish " + probes.ZoneTXT(l.name, "v=DMARC1; p=reject")
	} else {
		// Nothing of a DMARC record can be read off the text: the
		// starter record, which changes nothing for the domain's mail.
		fix = "publish a record of the form " + probes.ZoneTXT(l.name, "v=DMARC1; p=none; rua="+r.reportAddress(l.domain)) +
			" (" + probes.Quote(probes.Clip(text, 80)) + " states no policy to keep), and move to p=quarantine, then p=reject, once the reports show your mail passes"
	}
	r.res.Fail(checkSyntax, "_dmarc."+l.domain+": "+err.Error(), fix, evidence...)
}

// reportAddress is the report destination a remediation proposes:
// dmarc-reports@ the domain, unless the domain receives no mail (a null
// MX, RFC 7505), where reports would bounce; then an address at a domain
// that receives mail, to be filled in.
func (r *run) reportAddress(domain string) string {
	if hasNullMX(r.ctx, r.env.DNS, domain) {
		return "mailto:dmarc-reports@<a domain of yours that receives mail>"
	}
	return "mailto:dmarc-reports@" + domain
}

// hasNullMX reports whether the domain publishes a null MX (RFC 7505): it
// receives no mail.
func hasNullMX(ctx context.Context, r *dnsclient.Resolver, domain string) bool {
	ans, err := r.Lookup(ctx, dns.Fqdn(domain), dns.TypeMX)
	if err != nil || len(ans.Records) != 1 {
		return false
	}
	mx, ok := ans.Records[0].(*dns.MX)
	return ok && mx.Mx == "."
}

// noMailPhrase says why the domain needs only p=reject.
func (r *run) noMailPhrase() string {
	return fmt.Sprintf("%s sends no mail (%s)", r.domain, r.noMail.Why)
}

// noMailSet is what a remediation's record sets for a domain that sends
// no mail: p=reject, nothing legitimate being able to fail; nil
// otherwise.
func (r *run) noMailSet() map[string]string {
	if r.noMail == nil {
		return nil
	}
	return map[string]string{"p": PolicyReject}
}

func (r *run) measure(rec *Record, src string) {
	policy := rec.EffectivePolicy
	if src != SourceDomain {
		policy = rec.EffectiveSubdomainPolicy
	}
	r.res.Measure(metricPolicyInfo, 1, policy, rec.EffectiveSubdomainPolicy)
	r.res.Measure(metricPct, float64(rec.Pct))
	count := func(us []URI) float64 {
		n := 0
		for _, u := range us {
			if u.Valid() {
				n++
			}
		}
		return float64(n)
	}
	r.res.Measure(metricReportDestinations, count(rec.RUA), "rua")
	r.res.Measure(metricReportDestinations, count(rec.RUF), "ruf")
	r.res.Measure(metricRecordSource, 1, src)
}

func (r *run) recordSyntax(l *level, rec *Record, evidence []string) {
	if len(rec.Unknown) > 0 {
		evidence = append(evidence, "tags receivers ignore (RFC 7489 §6.3): "+strings.Join(rec.Unknown, ", "))
	}
	if len(rec.Problems) == 0 {
		reason := "one DMARC record at _dmarc." + l.domain + ", v=DMARC1 first, every tag valid"
		if rec.Policy == "" {
			reason += "; it has no p=, so receivers act as if p=none because rua= is valid (RFC 7489 §6.6.3)"
		}
		r.res.Pass(checkSyntax, reason, evidence...)
		return
	}
	r.res.Fail(checkSyntax, "_dmarc."+l.domain+": "+probes.JoinPhrases(rec.Problems),
		"publish "+probes.ZoneTXT(l.name, rec.with(r.noMailSet())), evidence...)
}

// recordPolicy records dmarc.policy against the module's accepted set.
func (r *run) recordPolicy(l *level, rec *Record, src string) {
	policy := rec.EffectivePolicy
	what := "p=" + policy
	if src != SourceDomain {
		policy = rec.EffectiveSubdomainPolicy
		if rec.SubdomainPolicy != "" {
			what = fmt.Sprintf("sp=%s of %s's record", policy, l.domain)
		} else {
			what = fmt.Sprintf("p=%s of %s's record (it has no sp=, so p= covers subdomains)", policy, l.domain)
		}
	}
	if rec.EffectivePolicy == PolicyNone && rec.Policy != PolicyNone {
		what = "none (receivers' reading of a record without a valid p= or sp=, RFC 7489 §6.6.3)"
	}
	if r.noMail != nil {
		r.recordNoMailPolicy(l, rec, src, what, policy)
		return
	}
	if r.cfg.accepts(policy) {
		r.res.Pass(checkPolicy, fmt.Sprintf("%s applies to %s, an accepted policy (%s)", what, r.domain, strings.Join(r.cfg.AcceptedPolicies, ", ")))
		return
	}
	want := r.stricter(policy)
	var fix string
	if src == SourceDomain {
		fix = "once DMARC reports show your legitimate mail passes, publish " + probes.ZoneTXT(l.name, rec.with(map[string]string{"p": want}))
	} else {
		fix = "once DMARC reports show your legitimate mail passes, set sp=" + want + " at " + probes.ZoneTXT(l.name, rec.with(map[string]string{"sp": want})) +
			", or give " + r.domain + " a record of its own, " + probes.ZoneTXT("_dmarc."+r.domain, "v=DMARC1; p="+want+"; rua="+r.reportAddress(l.domain))
	}
	r.res.Fail(checkPolicy, fmt.Sprintf("%s applies to %s; the module accepts only %s", what, r.domain, strings.Join(r.cfg.AcceptedPolicies, ", ")), fix)
}

// recordNoMailPolicy records dmarc.policy for a domain that sends no mail:
// p=reject is its protective record (every message in its name is a
// forgery), whatever the module accepts of domains that send.
func (r *run) recordNoMailPolicy(l *level, rec *Record, src, what, policy string) {
	if policy == PolicyReject {
		r.res.Pass(checkPolicy, fmt.Sprintf("%s applies to %s, which sends no mail: receivers refuse mail forged in its name", what, r.domain))
		return
	}
	fix := "publish " + probes.ZoneTXT(l.name, rec.with(map[string]string{"p": PolicyReject}))
	if src != SourceDomain {
		fix = "give " + r.domain + " a record of its own, " + probes.ZoneTXT("_dmarc."+r.domain, "v=DMARC1; p=reject")
	}
	r.res.Fail(checkPolicy, fmt.Sprintf("%s applies to %s; %s, so nothing legitimate can fail DMARC, and only p=reject makes receivers refuse mail forged in its name",
		what, r.domain, r.noMailPhrase()), fix)
}

// stricter returns the weakest accepted policy stricter than policy, or
// the weakest accepted one.
func (r *run) stricter(policy string) string {
	rank := func(p string) int {
		for i, q := range Policies {
			if q == p {
				return i
			}
		}
		return -1
	}
	best := ""
	for _, p := range Policies {
		if r.cfg.accepts(p) && (best == "" || rank(p) > rank(policy) && rank(best) <= rank(policy)) {
			best = p
		}
	}
	return best
}

// recordReports records dmarc.reports: rua= has a valid mailto: URI.
func (r *run) recordReports(l *level, rec *Record) {
	var good, bad, bouncing []string
	for _, u := range rec.RUA {
		switch {
		case u.Mailto() && r.nullMX && strings.EqualFold(u.Domain, r.domain):
			bouncing = append(bouncing, "mailto:"+u.Address)
		case u.Mailto():
			good = append(good, "mailto:"+u.Address)
		case u.Valid():
			bad = append(bad, u.Raw+" (receivers need only support mailto:, RFC 7489 §6.2)")
		default:
			bad = append(bad, u.Problem)
		}
	}
	if len(good) > 0 {
		r.res.Pass(checkReports, "aggregate reports go to "+probes.JoinNames(good))
		return
	}
	if len(bouncing) > 0 {
		// Receivers' reports to a domain that receives no mail bounce.
		r.res.Note("%s sends aggregate reports to %s, but %s publishes a null MX (RFC 7505): the reports bounce", l.name, probes.JoinNames(bouncing), r.domain)
	}
	if r.noMail != nil {
		r.res.Skip(checkReports, r.noMailPhrase()+": aggregate reports would show only who forges it, so they are optional")
		return
	}
	reason := "no rua= tag: nobody receives the aggregate reports that show who sends mail as " + l.domain
	switch {
	case len(bouncing) > 0:
		reason = fmt.Sprintf("rua= sends the reports to %s, but %s publishes a null MX (RFC 7505), so they bounce", probes.JoinNames(bouncing), r.domain)
	case len(rec.RUA) > 0 || rec.tags["rua"].Name != "":
		reason = "rua= has no valid mailto: URI"
		if len(bad) > 0 {
			reason += ": " + probes.JoinPhrases(bad)
		}
	}
	r.res.Fail(checkReports, reason, "publish "+probes.ZoneTXT(l.name, rec.with(map[string]string{"rua": r.reportAddress(l.domain)})))
}

// recordExternal records dmarc.external_reports: every report destination
// outside the record's organizational domain publishes
// <domain>._report._dmarc.<destination> (RFC 7489 §7.1), or receivers
// drop the reports.
func (r *run) recordExternal(l *level, rec *Record) {
	if !r.cfg.CheckExternalReports {
		r.res.Skip(checkExternalReports, "check_external_reports is off in the module")
		return
	}
	own := OrganizationalDomain(l.domain)
	if own == "" {
		own = l.domain
	}
	var dests []string
	seen := map[string]bool{}
	for _, u := range append(append([]URI(nil), rec.RUA...), rec.RUF...) {
		if !u.Valid() || u.Domain == "" || seen[u.Domain] {
			continue
		}
		seen[u.Domain] = true
		org := OrganizationalDomain(u.Domain)
		if org == "" {
			org = u.Domain
		}
		if org != own {
			dests = append(dests, u.Domain)
		}
	}
	if len(dests) == 0 {
		r.res.Skip(checkExternalReports, "every report destination is within "+own)
		return
	}
	if len(dests) > maxExternalDestinations {
		r.res.Note("%s names %d external report domains; only the first %d are checked", l.name, len(dests), maxExternalDestinations)
		dests = dests[:maxExternalDestinations]
	}
	auths := lookupAuthorizations(r.ctx, r.env.DNS, l.domain, dests)
	var v probes.Verdict
	var ok []string
	for _, a := range auths {
		switch {
		case a.err != nil:
			v.Unknown(a.err, a.evidence()...)
		case a.authorized:
			ok = append(ok, a.dest)
			v.Pass(a.evidence()...)
		default:
			// The problem is the destination; the reason names them all.
			v.Fail(a.dest, "ask "+a.dest+" to publish "+probes.ZoneTXT(a.name, "v=DMARC1"), a.evidence()...)
		}
	}
	if missing := v.Problems; len(missing) > 0 {
		v.FailReason = fmt.Sprintf("%s %s not authorised %s's reports: no v=DMARC1 record at %s, so receivers send them nowhere (RFC 7489 §7.1)",
			probes.JoinNames(missing), probes.PluralForm(len(missing), "has", "have"), l.domain, probes.JoinNames(authNames(auths, missing)))
		v.Fixes = []string{probes.JoinPhrases(v.Fixes) + ", or send the reports to an address within " + own}
	}
	v.Record(r.res, checkExternalReports, "every external report destination authorises "+l.domain+": "+probes.JoinNames(ok))
}

// authorization is one <domain>._report._dmarc.<dest> lookup.
type authorization struct {
	dest       string
	name       string
	ans        *dnsclient.Answer
	err        error
	authorized bool
}

func (a *authorization) evidence() []string {
	switch {
	case a.err != nil:
		return []string{a.err.Error()}
	case a.ans == nil:
		return []string{a.name + " is longer than a DNS name can be"}
	}
	var lines []string
	for _, t := range a.ans.TXT() {
		lines = append(lines, a.ans.Owner()+" TXT "+probes.Quote(t))
	}
	if len(lines) == 0 {
		if a.ans.NXDomain() {
			return []string{a.name + " no TXT record (NXDOMAIN)"}
		}
		return []string{a.name + " no TXT record"}
	}
	return lines
}

// lookupAuthorizations asks every destination's authorization record at
// once.
func lookupAuthorizations(ctx context.Context, r *dnsclient.Resolver, domain string, dests []string) []*authorization {
	out := make([]*authorization, len(dests))
	var tasks flight.Tasks
	for i, d := range dests {
		a := &authorization{dest: d, name: dns.Fqdn(domain + "._report._dmarc." + d)}
		out[i] = a
		if len(a.name) > 254 {
			continue
		}
		tasks.Go(func() {
			ans, err := r.Lookup(ctx, a.name, dns.TypeTXT)
			if err != nil {
				a.err = fmt.Errorf("DMARC report authorization at %s: %w", strings.TrimSuffix(a.name, "."), err)
				return
			}
			a.ans = ans
			for _, t := range ans.TXT() {
				if IsRecord(t) {
					a.authorized = true
				}
			}
		})
	}
	tasks.Wait()
	return out
}

func authNames(auths []*authorization, dests []string) []string {
	var out []string
	for _, a := range auths {
		for _, d := range dests {
			if a.dest == d {
				out = append(out, strings.TrimSuffix(a.name, "."))
			}
		}
	}
	return out
}

// recordPct records dmarc.pct: the policy applies to all failing mail.
func (r *run) recordPct(l *level, rec *Record) {
	t, ok := rec.tags["pct"]
	switch {
	case !ok:
		r.res.Pass(checkPct, "no pct=: the policy applies to all failing mail")
	case !rec.PctSet:
		r.res.Fail(checkPct, fmt.Sprintf("pct=%s is not a whole number from 0 to 100; receivers ignore it", probes.OneLine(t.Value, 64)),
			"publish "+probes.ZoneTXT(l.name, rec.with(map[string]string{"pct": ""})))
	case rec.Pct == 100:
		r.res.Pass(checkPct, "pct=100: the policy applies to all failing mail")
	default:
		r.res.Fail(checkPct, fmt.Sprintf("pct=%d: the policy applies to %d%% of failing mail only", rec.Pct, rec.Pct),
			"once the reports look right, publish "+probes.ZoneTXT(l.name, rec.with(map[string]string{"pct": ""}))+" (without pct=, which means 100)")
	}
}
