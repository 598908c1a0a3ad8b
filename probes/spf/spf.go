// Package spf is the probe that audits a domain's SPF record (RFC 7208)
// the way receivers evaluate it: the record and every record it includes
// or redirects to, parsed in full; the DNS-querying terms and void lookups
// counted exactly as §4.6.4 counts them, for the client that costs the
// most (void lookups: among the address families the domain sends from);
// loops, ptr, the all that decides for unlisted clients, and how much
// address space the domain's own terms authorise (a provider's include is
// reported, not counted). It evaluates check_host() for the domain's
// outbound addresses (the request's outbound IPs and the addresses of the
// mail hosts it runs itself, never a provider's inbound MX hosts), and
// checks that HELO names publish records of their own.
//
// Its block supplies the sending fact (probes/sending): whether the domain
// declares that it sends no mail, decided on the same record and audit as
// its checks. For such a domain it checks the protective records (the
// -all, and the null MX when it receives nothing either) and skips what
// only matters to mail it sends.
//
// The parser (Parse) and the receiver-side evaluator (CheckHost) are
// usable on their own.
package spf

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/deliverability-exporter/deliverability_exporter/internal/flight"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/mailhosts"
	"github.com/deliverability-exporter/deliverability_exporter/probes/sending"
	"github.com/deliverability-exporter/deliverability_exporter/probes/smtpsession"
)

// Name is the probe's name (the probe label of its metrics).
const Name = "spf"

// maxEvaluatedIPs bounds the addresses check_host() is evaluated for (and
// so the ip label values of mail_spf_check_host_result_info).
const maxEvaluatedIPs = 64

// Probe audits the SPF set-up of a target. It is safe for concurrent use.
type Probe struct {
	cfg Config
}

var (
	_ probes.Probe     = (*Probe)(nil)
	_ probes.Describer = (*Probe)(nil)
)

// New makes a probe. cfg should have passed Validate (decoding it from
// YAML does that); HELO names are normalised here too.
func New(cfg Config) *Probe {
	names, err := cfg.normalized()
	if err != nil {
		names = nil
		for _, h := range cfg.HeloNames {
			if n, err := probes.NormalizeName(h); err == nil && !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	cfg.HeloNames = names
	cfg.AcceptableAll = append([]string(nil), cfg.AcceptableAll...)
	return &Probe{cfg: cfg}
}

// Registration declares the probe to the engine. spf.helo reads the names
// the servers give in the SMTP conversations when the module's smtp block
// supplies them, so it checks the names the servers really use without
// connecting twice. Its block supplies the sending fact (whether the
// domain declares that it sends no mail) to the other probes of the
// module, decided on the same record and audit as its own checks.
var Registration = probes.Register(Name, []string{mailhosts.FactName, smtpsession.FactName, sending.FactName},
	DefaultConfig, func(c Config, _ probes.Setup) *Probe { return New(c) },
).WithProvider(func(any, probes.Setup) map[string]probes.Provider {
	return map[string]probes.Provider{sending.FactName: provideSending}
})

// provideSending supplies the sending fact: the declaration of the
// request's target domain, from its SPF tree as the probe audits it.
func provideSending(ctx context.Context, req *probes.Request, env *probes.Env, _ string) (any, error) {
	if req.Target.Kind != probes.KindDomain {
		return &sending.Declaration{Domain: req.Target.Name,
			Why: "the target is not a mail domain; only a domain declares what it sends"}, nil
	}
	t, err := lookupTree(ctx, env, req.Target.Name)
	if err != nil {
		return nil, err
	}
	return t.declaration()
}

// Name returns "spf".
func (p *Probe) Name() string { return Name }

// Run checks the target. It returns when the checks are done or ctx ends,
// whichever is first, with what it found.
func (p *Probe) Run(ctx context.Context, req *probes.Request, env *probes.Env) *probes.Result {
	r := &run{cfg: p.cfg, ctx: ctx, req: req, env: env, dns: env.DNS, res: probes.NewResult(Name)}
	switch req.Target.Kind {
	case probes.KindIP:
		r.res.SkipAll("the target is an IP address; SPF records belong to domains and host names", allChecks...)
	case probes.KindHost:
		r.res.SkipAll("the target is one host ("+req.Target.String()+"); its name is checked as a HELO identity, the other SPF checks apply to a mail domain",
			checkPresent, checkSyntax, checkLookupLimit, checkVoidLimit, checkNoLoop,
			checkAllPolicy, checkNoPTR, checkNotTooBroad, checkOutbound)
		r.checkHELO([]string{req.Target.Name}, nil)
	default:
		r.checkDomain()
	}
	return r.res
}

// run is the state of one Run.
type run struct {
	cfg Config
	ctx context.Context
	req *probes.Request
	env *probes.Env
	dns Resolver
	res *probes.Result
}

// checkDomain runs every check on a mail domain. The HELO records, the mail
// hosts and the domain's tree are looked up side by side; check_host() for
// the outbound addresses runs last, mostly from the request cache.
func (r *run) checkDomain() {
	domain := r.req.Target.Name
	var tasks flight.Tasks
	tasks.Go(func() {
		names, unknown := r.heloNames()
		if len(names) == 0 && len(unknown) == 0 {
			r.res.Skip(checkHELO, "no HELO names to check: the module's smtp probe reported none and helo_names is empty")
			return
		}
		r.checkHELO(names, unknown)
	})
	var hosts *mailhosts.Set
	var hostsErr error
	tasks.Go(func() { hosts, hostsErr = mailhosts.Discover(r.ctx, r.req, r.env) })
	t, err := lookupTree(r.ctx, r.env, domain)
	tasks.Wait()

	var decl *sending.Declaration
	var top *recordSet
	if err != nil {
		r.res.UndecidedAll(err, checkPresent, checkSyntax, checkLookupLimit, checkVoidLimit, checkNoLoop,
			checkAllPolicy, checkNoPTR, checkNotTooBroad)
	} else {
		top = t.top
		decl, _ = t.declaration()
		r.res.Measure(metricRecords, float64(len(top.records)))
		r.recordPresent(domain, top, hosts, hostsErr)
		switch len(top.records) {
		case 0:
			r.res.SkipAll(domain+" publishes no SPF record", checkSyntax, checkLookupLimit, checkVoidLimit, checkNoLoop,
				checkAllPolicy, checkNoPTR, checkNotTooBroad)
		case 1:
			r.recordAudit(domain, t, hosts, hostsErr, decl)
		default:
			r.res.SkipAll(fmt.Sprintf("%s publishes %d SPF records: receivers return permerror without reading any (fix spf.present first)", domain, len(top.records)),
				checkSyntax, checkLookupLimit, checkVoidLimit, checkNoLoop, checkAllPolicy, checkNoPTR, checkNotTooBroad)
		}
	}
	if note := setNote(hosts, hostsErr); note != "" {
		r.res.Note("%s", note)
	}
	r.checkOutbound(domain, hosts, hostsErr, t, decl)
}

// setNote is the mail hosts' line for the report: the implicit MX, when
// the probe judged one.
func setNote(hosts *mailhosts.Set, err error) string {
	if err != nil || hosts == nil {
		return ""
	}
	return hosts.ImplicitNote()
}

// tree is a domain's SPF record and the audit of its tree, gathered once
// per request: the probe's checks and the sending fact read the same one.
type tree struct {
	domain string
	top    *recordSet
	rec    *Record // the one SPF record, parsed; nil unless there is one
	audit  *audit  // its tree; nil unless there is one record
}

// treeKey keys the tree among the sending fact's values.
const treeKey = "spf-tree|"

// lookupTree fetches and audits the SPF tree of domain once per request,
// whichever of the probe and the sending fact's readers asks first.
func lookupTree(ctx context.Context, env *probes.Env, domain string) (*tree, error) {
	v, err := env.Facts.Do(ctx, sending.FactName, treeKey+domain, func() (any, error) {
		top, err := fetchRecord(ctx, env.DNS, domain)
		if err != nil {
			return nil, fmt.Errorf("spf TXT %s: %w", domain, err)
		}
		t := &tree{domain: domain, top: top}
		if len(top.records) == 1 {
			t.rec, _ = Parse(top.records[0])
			t.audit = runAudit(ctx, env.DNS, domain, t.rec)
		}
		return t, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*tree), nil
}

// declaration decides whether the domain declares that it sends no mail
// (the rule is probes/sending's package comment). The error is set when a
// part of the tree could not be fetched: the answer is then unknown.
func (t *tree) declaration() (*sending.Declaration, error) {
	d := &sending.Declaration{Domain: t.domain}
	switch n := len(t.top.records); {
	case n == 0:
		d.Why = t.domain + " publishes no SPF record"
		return d, nil
	case n > 1:
		d.Why = fmt.Sprintf("%s publishes %d SPF records (permerror)", t.domain, n)
		return d, nil
	}
	a := t.audit
	d.Record = t.rec.Text
	switch {
	case a.incomplete:
		return nil, fmt.Errorf("whether %s sends mail is unknown: %w", t.domain, a.incompleteErr())
	case len(a.syntax) > 0 || len(a.loops) > 0 || len(a.mxOver) > 0 || a.lookups > LookupLimit || a.final.broken != "":
		d.Why = fmt.Sprintf("the SPF record of %s is not valid (permerror), so it declares nothing", t.domain)
	case a.partial || a.capped:
		d.Why = fmt.Sprintf("the SPF record of %s has terms whose matches depend on the client (ptr, exists or macros)", t.domain)
	case a.final.qualifier != QualifierFail:
		d.Why = fmt.Sprintf("the SPF record of %s ends in %sall, not -all", t.domain, a.final.qualifier)
	case a.pass.v4.size() > 0 || a.pass.touched6.size() > 0:
		d.Why = fmt.Sprintf("the SPF record of %s authorises clients", t.domain)
	case a.voidLookups() > VoidLookupLimit:
		d.Why = fmt.Sprintf("the SPF record of %s is not valid (permerror: too many void lookups), so it declares nothing", t.domain)
	case onlyFailAll(t.rec):
		d.NoMail = true
		d.Why = fmt.Sprintf("its SPF record %s authorises no client", probes.Quote(t.rec.Text))
	default:
		d.NoMail = true
		d.Why = fmt.Sprintf("its SPF record %s ends in -all and its other terms match no client", probes.Quote(t.rec.Text))
	}
	return d, nil
}

// recordPresent records spf.present from the domain's TXT answer.
func (r *run) recordPresent(domain string, top *recordSet, hosts *mailhosts.Set, hostsErr error) {
	var evidence []string
	for _, s := range top.records {
		evidence = append(evidence, fmt.Sprintf("%s. TXT %s", domain, probes.Quote(s)))
	}
	for _, s := range top.others {
		if why := nearMiss(s); why != "" {
			evidence = append(evidence, fmt.Sprintf("%s. TXT %s (not an SPF record: %s)", domain, probes.Quote(s), why))
		}
	}
	switch n := len(top.records); {
	case n == 1:
		r.res.Pass(checkPresent, domain+" publishes one SPF record", evidence...)
	case n > 1:
		r.res.Fail(checkPresent,
			fmt.Sprintf("%s publishes %d SPF records; receivers return permerror (RFC 7208 §4.5)", domain, n),
			r.mergeFix(domain, top.records, "publish", "and remove the others"),
			evidence...)
	default:
		reason := domain + " publishes no SPF record"
		if top.answer.NXDomain() {
			reason = domain + " does not exist (NXDOMAIN)"
			evidence = append(evidence, "TXT "+domain+": NXDOMAIN from "+top.answer.Server)
		} else if len(evidence) == 0 {
			evidence = append(evidence, fmt.Sprintf("%s. has %s, none starting with v=spf1", domain, probes.Plural(len(top.others), "TXT record", "TXT records")))
		}
		r.res.Fail(checkPresent, reason, r.suggestedFix(domain, hosts, hostsErr), evidence...)
	}
}

// nearMiss says why a TXT string that looks like SPF is not an SPF record.
func nearMiss(s string) string {
	t := strings.ToLower(strings.TrimLeft(s, " \t\"'"))
	switch {
	case !strings.HasPrefix(t, "v=spf") && !strings.HasPrefix(t, "spf"):
		return ""
	case strings.HasPrefix(t, "v=spf2"):
		return "Sender ID (v=spf2.0) is not SPF"
	case t != strings.ToLower(s):
		return "it must start with v=spf1, with nothing before it"
	case strings.HasPrefix(t, "v=spf1"):
		return `"v=spf1" must be followed by a space`
	}
	return `it must start with "v=spf1 "`
}

// suggestedFix says what a domain without an SPF record should publish,
// from what it is known to send from: its own mail hosts (the mx term for
// its own MX hosts, the a term for the implicit MX, which is the domain's
// own address) and the request's outbound IPs. A domain whose mail hosts
// are a provider's is told to take the record its provider documents: the
// provider's inbound servers are not where its mail comes from. A domain
// that receives no mail and names no outbound IPs gets "v=spf1 -all".
func (r *run) suggestedFix(domain string, hosts *mailhosts.Set, hostsErr error) string {
	var terms []string
	providerHosts := false
	if hostsErr == nil && hosts != nil {
		switch {
		case hosts.Implicit() != nil:
			terms = append(terms, "a")
		default:
			for _, h := range hosts.MXHosts() {
				if h.OwnOrganization && !slices.Contains(terms, "mx") {
					terms = append(terms, "mx")
				}
				providerHosts = providerHosts || !h.OwnOrganization && !h.IPLiteral
			}
		}
	}
	for _, ip := range r.req.OutboundIPs {
		terms = append(terms, ipTerm(ip))
	}
	switch {
	case providerHosts && len(terms) == 0:
		return "publish the SPF record your mail provider documents for " + domain +
			" (usually \"v=spf1 include:<the provider's SPF domain> ~all\"), listing every other service that sends for it; " +
			"if " + domain + " sends no mail, publish " + txtLine(domain, "v=spf1 -all")
	case providerHosts:
		return "publish " + txtLine(domain, "v=spf1 "+strings.Join(terms, " ")+" -all") +
			", with the include your mail provider documents for " + domain + " before the -all"
	case len(terms) == 0:
		return "publish " + txtLine(domain, "v=spf1 -all") + " if " + domain + " sends no mail; otherwise list the servers that send for it, e.g. " +
			txtLine(domain, "v=spf1 ip4:<their address> -all")
	}
	return "publish " + txtLine(domain, "v=spf1 "+strings.Join(terms, " ")+" -all")
}

// ipTerm is the ip4: or ip6: term for one address.
func ipTerm(ip netip.Addr) string {
	if ip.Unmap().Is4() {
		return "ip4:" + ip.Unmap().String()
	}
	return "ip6:" + ip.String()
}

// mergeFix proposes the one record that replaces several (mergeRecords),
// warning when the merged record would cross the lookup limit.
func (r *run) mergeFix(owner string, records []string, verb, tail string) string {
	merged := mergeRecords(records)
	fix := verb + " " + txtLine(owner, merged) + " " + tail
	if rec, err := Parse(merged); err == nil {
		if a := runAudit(r.ctx, r.dns, owner, rec); !a.incomplete && a.lookups > LookupLimit {
			fix += fmt.Sprintf("; the merged record costs %d DNS lookups, more than the %d allowed, so replace the costliest include with the ip4:/ip6: ranges it publishes, or drop the services that no longer send",
				a.lookups, LookupLimit)
		}
	}
	return fix
}

// mergeRecords joins several SPF records into one that authorises what any
// of them did: every mechanism once (in the order given), a redirect
// turned into the include it amounts to, at most one exp= (RFC 7208 §6
// allows one), and one all last. The all is the most lenient of the
// records' own among ~all and -all (so no sender one of them let through
// now fails hard); a record ending in ?all or +all, or in none, makes it
// ~all: the merged record must not pass everyone, nor leave unlisted
// senders neutral.
func mergeRecords(records []string) string {
	var mechs, mods []string
	seen := map[string]bool{}
	hasExp := false
	all := "-all"
	add := func(term string) {
		key := strings.TrimPrefix(strings.ToLower(term), "+")
		if !seen[key] {
			seen[key] = true
			mechs = append(mechs, term)
		}
	}
	for _, s := range records {
		recordAll := ""
		for _, f := range strings.Fields(s)[1:] {
			low := strings.ToLower(f)
			if q := strings.TrimLeft(low, "+-~?"); q == "all" {
				if recordAll == "" {
					recordAll = low
				}
				continue
			}
			if name, value, ok := modifierParts(f); ok {
				switch name {
				case "redirect":
					add("include:" + value)
				case "exp":
					if !hasExp {
						hasExp = true
						mods = append(mods, f)
					}
				default:
					if !slices.Contains(mods, f) {
						mods = append(mods, f)
					}
				}
				continue
			}
			add(f)
		}
		// A redirect's target decided with its own all, unknown here:
		// only an explicit -all keeps the merged record at -all.
		if recordAll != "-all" {
			all = "~all"
		}
	}
	terms := append(append(mechs, all), mods...)
	return "v=spf1 " + strings.Join(terms, " ")
}

// txtLine renders a TXT record the way remediations quote it, split into
// character-strings of at most 255 octets (RFC 7208 §3.3) before a space,
// where a reader sees the cut; each string escaped as a zone file needs it
// (a macro literal may hold a quote or a backslash).
func txtLine(owner, record string) string {
	var parts []string
	for len(record) > 255 {
		cut := strings.LastIndexByte(record[:255], ' ')
		if cut <= 0 {
			cut = 255
		}
		parts = append(parts, probes.TXTString(record[:cut]))
		record = record[cut:]
	}
	parts = append(parts, probes.TXTString(record))
	return fmt.Sprintf("%q", owner+". IN TXT "+strings.Join(parts, " "))
}

// heloNames are the configured names plus those the mail servers gave in
// their EHLO replies, normalised and without duplicates. A server name
// that is not a host name (an address literal) has no SPF record to check.
// unknown lists the servers whose name could not be learnt because the
// probe's deadline ended their conversation before its EHLO reply (or
// before it began): spf.helo cannot pass without them.
func (r *run) heloNames() (names []string, unknown []error) {
	names = append([]string(nil), r.cfg.HeloNames...)
	if !r.env.Facts.Provided(smtpsession.FactName) {
		return names, nil
	}
	sessions, err := smtpsession.Sessions(r.ctx, r.req, r.env)
	if err != nil {
		r.res.Note("the HELO names of the mail servers are unknown: %v", err)
	}
	smtpsession.RecordShared(r.res, sessions)
	for _, h := range smtpsession.HELONames(sessions) {
		if n, err := probes.NormalizeName(h); err == nil && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	for _, s := range sessions {
		switch {
		case s.HELOName != "" || s.Denied:
		case s.NotProbed != nil:
			unknown = append(unknown, fmt.Errorf("the HELO name of %s is not known: %w", s.Label(), s.NotProbed))
		case s.CutBefore(smtpsession.StageEHLO):
			unknown = append(unknown, fmt.Errorf("the HELO name of %s is not known: the probe's deadline ended the conversation at the %s stage", s.Label(), s.Stage))
		}
	}
	return names, unknown
}

// checkHELO records spf.helo for the names: each must publish one SPF
// record of its own (RFC 7208 §2.3), looked up side by side. unknown are
// names that could not be learnt: the check cannot pass while there are
// any.
func (r *run) checkHELO(names []string, unknown []error) {
	type outcome struct {
		set *recordSet
		err error
	}
	out := make([]outcome, len(names))
	var tasks flight.Tasks
	for i, name := range names {
		tasks.Go(func() { out[i].set, out[i].err = fetchRecord(r.ctx, r.dns, name) })
	}
	tasks.Wait()
	var v probes.Verdict
	for _, err := range unknown {
		v.Unknown(err)
	}
	var good []string
	for i, name := range names {
		o := out[i]
		if o.err != nil {
			v.Unknown(fmt.Errorf("spf HELO %s: %w", name, o.err))
			continue
		}
		fix := "publish " + txtLine(name, "v=spf1 a -all") + " (the host may send as itself, nothing else may)"
		switch len(o.set.records) {
		case 0:
			r.res.Measure(metricHELO, 0, name)
			why := "has no SPF record"
			if o.set.answer.NXDomain() {
				why = "does not exist (NXDOMAIN)"
			}
			v.Fail(fmt.Sprintf("HELO name %s %s", name, why), fix)
			v.See(fmt.Sprintf("%s. no SPF record", name))
			continue
		case 1:
		default:
			r.res.Measure(metricHELO, 1, name)
			v.Fail(fmt.Sprintf("HELO name %s publishes %d SPF records (permerror)", name, len(o.set.records)),
				"keep one: "+txtLine(name, mergeRecords(o.set.records)))
			continue
		}
		r.res.Measure(metricHELO, 1, name)
		v.See(fmt.Sprintf("%s. TXT %s", name, probes.Quote(o.set.records[0])))
		if _, err := Parse(o.set.records[0]); err != nil {
			v.Fail(fmt.Sprintf("the SPF record of HELO name %s does not parse: %v", name, err),
				"fix it, for example "+txtLine(name, "v=spf1 a -all"))
			continue
		}
		good = append(good, name)
	}
	v.Record(r.res, checkHELO, fmt.Sprintf("every HELO name has its own SPF record: %s", probes.JoinNames(good)))
}

// checkOutbound evaluates check_host() for the domain's outbound addresses,
// as a receiver would for mail from postmaster@<domain>, each address at
// once. The outbound addresses are the request's outbound IPs and the
// addresses of the mail hosts the domain runs itself (its own
// organization's MX hosts, or its implicit MX): a server that receives a
// domain's mail usually sends it too. A provider's MX hosts are its
// inbound servers, which send nothing for the domain, so they are never
// evaluated; with nothing else to evaluate, the check is skipped, saying
// how to name the outbound addresses. A domain that declares it sends no
// mail has no outbound addresses but the ones a request names.
func (r *run) checkOutbound(domain string, hosts *mailhosts.Set, hostsErr error, t *tree, decl *sending.Declaration) {
	if !r.cfg.CheckOutbound {
		r.res.Skip(checkOutbound, "check_outbound is off in the module")
		return
	}
	var v probes.Verdict
	var ips []netip.Addr
	seen := map[netip.Addr]bool{}
	add := func(ip netip.Addr) {
		ip = ip.Unmap()
		if !seen[ip] {
			seen[ip] = true
			ips = append(ips, ip)
		}
	}
	var providers, providerOrgs []string
	noMail := decl != nil && decl.NoMail
	switch {
	case hostsErr != nil:
		v.Unknown(fmt.Errorf("spf outbound: %w", hostsErr))
	case noMail:
	default:
		for _, h := range hosts.Hosts {
			if !h.OwnOrganization {
				if !h.IPLiteral {
					providers = append(providers, h.Name)
					if !slices.Contains(providerOrgs, h.Organization) && h.Organization != "" {
						providerOrgs = append(providerOrgs, h.Organization)
					}
				}
				continue
			}
			if h.Err != nil {
				v.Unknown(fmt.Errorf("spf outbound: addresses of %s: %w", h.Name, h.Err))
			}
			for _, ip := range h.Addrs() {
				add(ip)
			}
		}
		// Addresses the request's limits left out may be the ones the
		// record does not authorise.
		for _, err := range hosts.Limited() {
			v.Unknown(fmt.Errorf("spf outbound: %w", err))
		}
	}
	for _, ip := range r.req.OutboundIPs {
		add(ip)
	}
	if len(ips) > maxEvaluatedIPs {
		v.Unknown(fmt.Errorf("spf outbound: check_host() was evaluated for the first %d of %d addresses", maxEvaluatedIPs, len(ips)))
		ips = ips[:maxEvaluatedIPs]
	}
	const howToName = "name the addresses it sends from with the module's outbound_ips or the request's outbound_ip= to check them"
	if len(ips) == 0 && len(v.Errs) == 0 {
		switch {
		case noMail:
			r.res.Skip(checkOutbound, decl.SkipReason()+"; if it does send, "+howToName)
		case len(providers) > 0:
			r.res.Skip(checkOutbound, fmt.Sprintf("the MX hosts of %s (%s) are its provider's inbound servers (%s), which send nothing for it, and the request names no outbound IPs: %s",
				domain, probes.JoinNames(providers), probes.JoinNames(providerOrgs), howToName))
		default:
			r.res.Skip(checkOutbound, "no addresses to evaluate: "+domain+" has no mail hosts of its own with addresses and the request names no outbound IPs: "+howToName)
		}
		return
	}
	if len(providers) > 0 {
		v.See(fmt.Sprintf("not evaluated: %s, the inbound servers of %s's provider (%s), which send nothing for it",
			probes.JoinNames(providers), domain, probes.JoinNames(providerOrgs)))
	}
	results := make([]Result, len(ips))
	errs := make([]error, len(ips))
	var tasks flight.Tasks
	for i, ip := range ips {
		tasks.Go(func() {
			results[i], errs[i] = CheckHost(r.ctx, r.dns, ip, domain, "postmaster@"+domain, domain)
		})
	}
	tasks.Wait()
	var failing []netip.Addr
	permerror := false
	for i, ip := range ips {
		res := results[i]
		r.res.Measure(metricCheckHost, 1, ip.String(), string(res))
		line := fmt.Sprintf("check_host(%s, %s) = %s", ip, domain, res)
		if errs[i] != nil {
			line += ": " + errs[i].Error()
		}
		switch res {
		case Pass:
			v.See(line)
		case TempError:
			v.Unknown(fmt.Errorf("spf check_host(%s): %w", ip, errs[i]))
		default:
			v.See(line)
			v.Fail(fmt.Sprintf("%s gets %s", ip, res), "")
			failing = append(failing, ip)
			permerror = permerror || res == PermError
		}
	}
	if len(failing) > 0 {
		v.Fixes = append(v.Fixes, outboundFix(domain, t, failing, permerror))
	}
	v.Record(r.res, checkOutbound, fmt.Sprintf("%s of %s pass", probes.Plural(len(ips), "address", "addresses"), domain))
}

// maxFixTerms is how many ip4:/ip6: terms a remediation writes into a
// record; beyond it, it says what to add instead of quoting a record.
const maxFixTerms = 4

// outboundFix says how to authorise the failing addresses: the record
// with their ip4:/ip6: terms first, when it is valid and there are few;
// otherwise what to do first.
func outboundFix(domain string, t *tree, failing []netip.Addr, permerror bool) string {
	var add, names []string
	for _, ip := range failing {
		add = append(add, ipTerm(ip))
		names = append(names, ip.String())
	}
	records := 0
	if t != nil {
		records = len(t.top.records)
	}
	switch {
	case records > 1:
		return fmt.Sprintf("merge the %d SPF records into one (see spf.present), then check that it authorises %s", records, probes.JoinNames(names))
	case records == 0:
		return "publish an SPF record that authorises " + probes.JoinNames(names) + " (see spf.present)"
	case permerror:
		return "make the SPF record of " + domain + " valid first (see spf.syntax, spf.lookup_limit, spf.void_lookup_limit and spf.no_loop): receivers get permerror for every address"
	case len(add) > maxFixTerms:
		return fmt.Sprintf("authorise the %d failing addresses (%s): add an ip4:/ip6: term for each, or the a: or include: term that covers them, before the all of the record of %s",
			len(add), probes.JoinNames(names), domain)
	}
	rest := strings.TrimSpace(t.rec.Text[len(version):])
	return "authorise the failing addresses: " + txtLine(domain, strings.TrimSpace("v=spf1 "+strings.Join(add, " ")+" "+rest))
}
