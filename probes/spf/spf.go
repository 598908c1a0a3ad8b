// Package spf is the probe that audits a domain's SPF record (RFC 7208)
// the way receivers evaluate it: the record and every record it includes
// or redirects to, parsed in full; the DNS-querying terms and void lookups
// counted exactly as §4.6.4 counts them, for the client that costs the
// most; loops, ptr, the all that decides for unlisted clients, and how much
// address space the tree authorises. It evaluates check_host() for the MX
// addresses and the configured outbound IPs, and checks that HELO names
// publish records of their own.
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
// connecting twice.
var Registration = probes.Register(Name, []string{mailhosts.FactName, smtpsession.FactName},
	DefaultConfig, func(c Config, _ probes.Setup) *Probe { return New(c) })

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
		r.checkHELO([]string{req.Target.Name})
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
		names := r.heloNames()
		if len(names) == 0 {
			r.res.Skip(checkHELO, "no HELO names to check: the module's smtp probe reported none and helo_names is empty")
			return
		}
		r.checkHELO(names)
	})
	var hosts *mailhosts.Set
	var hostsErr error
	tasks.Go(func() { hosts, hostsErr = mailhosts.Discover(r.ctx, r.req, r.env) })

	top, err := fetchRecord(r.ctx, r.dns, domain)
	var a *audit
	var rec *Record
	if err == nil && len(top.records) == 1 {
		rec, _ = Parse(top.records[0])
		a = runAudit(r.ctx, r.dns, domain, rec)
	}
	tasks.Wait()

	nullMX := hostsErr == nil && hosts.NullMX
	if err != nil {
		err = fmt.Errorf("spf TXT %s: %w", domain, err)
		r.res.UndecidedAll(err, checkPresent, checkSyntax, checkLookupLimit, checkVoidLimit, checkNoLoop,
			checkAllPolicy, checkNoPTR, checkNotTooBroad)
	} else {
		r.res.Measure(metricRecords, float64(len(top.records)))
		r.recordPresent(domain, top, nullMX, hosts)
		switch len(top.records) {
		case 0:
			r.res.SkipAll(domain+" publishes no SPF record", checkSyntax, checkLookupLimit, checkVoidLimit, checkNoLoop,
				checkAllPolicy, checkNoPTR, checkNotTooBroad)
		case 1:
			r.recordAudit(domain, rec, a, nullMX)
		default:
			r.res.SkipAll(fmt.Sprintf("%s publishes %d SPF records: receivers return permerror without reading any (fix spf.present first)", domain, len(top.records)),
				checkSyntax, checkLookupLimit, checkVoidLimit, checkNoLoop, checkAllPolicy, checkNoPTR, checkNotTooBroad)
		}
	}
	records := 0
	if top != nil {
		records = len(top.records)
	}
	r.checkOutbound(domain, hosts, hostsErr, rec, records)
}

// recordPresent records spf.present from the domain's TXT answer.
func (r *run) recordPresent(domain string, top *recordSet, nullMX bool, hosts *mailhosts.Set) {
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
			"merge them into one: publish "+txtLine(domain, mergeRecords(top.records))+" and remove the others",
			evidence...)
	default:
		reason := domain + " publishes no SPF record"
		if top.answer.NXDomain() {
			reason = domain + " does not exist (NXDOMAIN)"
			evidence = append(evidence, "TXT "+domain+": NXDOMAIN from "+top.answer.Server)
		} else if len(evidence) == 0 {
			evidence = append(evidence, fmt.Sprintf("%s. has %s, none starting with v=spf1", domain, probes.Plural(len(top.others), "TXT record", "TXT records")))
		}
		r.res.Fail(checkPresent, reason, "publish "+txtLine(domain, suggestedRecord(nullMX, hosts)), evidence...)
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

// suggestedRecord is the record a domain without one should start from.
func suggestedRecord(nullMX bool, hosts *mailhosts.Set) string {
	if nullMX || hosts == nil || len(hosts.Hosts) == 0 {
		return "v=spf1 -all"
	}
	return "v=spf1 mx -all"
}

// mergeRecords joins the terms of several records into one, the all (the
// strictest given) last and each term once.
func mergeRecords(records []string) string {
	var terms []string
	var all string
	rank := map[byte]int{'-': 4, '~': 3, '?': 2, '+': 1}
	for _, s := range records {
		for _, f := range strings.Fields(s)[1:] {
			low := strings.ToLower(f)
			if q := strings.TrimLeft(low, "+-~?"); q == "all" {
				qual := byte('+')
				if len(low) > 3 {
					qual = low[0]
				}
				if all == "" || rank[qual] > rank[all[0]] {
					all = string(qual) + "all"
				}
				continue
			}
			if !slices.Contains(terms, f) {
				terms = append(terms, f)
			}
		}
	}
	if all == "+all" {
		all = "-all"
	}
	if all != "" {
		terms = append(terms, all)
	}
	return strings.TrimSpace("v=spf1 " + strings.Join(terms, " "))
}

// txtLine renders a TXT record the way remediations quote it, split into
// character-strings of at most 255 octets (RFC 7208 §3.3).
func txtLine(owner, record string) string {
	var parts []string
	for len(record) > 255 {
		cut := strings.LastIndexByte(record[:255], ' ')
		if cut <= 0 {
			cut = 255
		}
		parts = append(parts, `"`+record[:cut]+`"`)
		record = record[cut:]
	}
	parts = append(parts, `"`+record+`"`)
	return fmt.Sprintf("%q", owner+". IN TXT "+strings.Join(parts, " "))
}

// heloNames are the configured names plus those the mail servers gave in
// their EHLO replies, normalised and without duplicates. A server name
// that is not a host name (an address literal) has no SPF record to check.
func (r *run) heloNames() []string {
	names := append([]string(nil), r.cfg.HeloNames...)
	if !r.env.Facts.Provided(smtpsession.FactName) {
		return names
	}
	sessions, err := smtpsession.Sessions(r.ctx, r.req, r.env)
	if err != nil {
		r.res.Note("the HELO names of the mail servers are unknown: %v", err)
	}
	for _, h := range smtpsession.HELONames(sessions) {
		if n, err := probes.NormalizeName(h); err == nil && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}

// checkHELO records spf.helo for the names: each must publish one SPF
// record of its own (RFC 7208 §2.3), looked up side by side.
func (r *run) checkHELO(names []string) {
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

// checkOutbound evaluates check_host() for the MX addresses and the
// request's outbound IPs, as a receiver would for mail from
// postmaster@<domain>, each address at once.
func (r *run) checkOutbound(domain string, hosts *mailhosts.Set, hostsErr error, rec *Record, records int) {
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
	switch {
	case hostsErr != nil:
		v.Unknown(fmt.Errorf("spf outbound: %w", hostsErr))
	case hosts.NullMX && len(hosts.Hosts) == 0:
	default:
		for _, h := range hosts.Hosts {
			if h.Err != nil {
				v.Unknown(fmt.Errorf("spf outbound: addresses of %s: %w", h.Name, h.Err))
			}
		}
		for _, ip := range hosts.AllIPs() {
			add(ip)
		}
	}
	for _, ip := range r.req.OutboundIPs {
		add(ip)
	}
	if len(ips) > maxEvaluatedIPs {
		r.res.Note("spf: check_host() was evaluated for the first %d of %d addresses", maxEvaluatedIPs, len(ips))
		ips = ips[:maxEvaluatedIPs]
	}
	if len(ips) == 0 && len(v.Errs) == 0 {
		r.res.Skip(checkOutbound, "no addresses to evaluate: "+domain+" has no MX addresses and the request names no outbound IPs")
		return
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
	var failing []string
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
			failing = append(failing, ip.String())
		}
	}
	if len(failing) > 0 {
		v.Fixes = append(v.Fixes, outboundFix(domain, rec, records, failing))
	}
	v.Record(r.res, checkOutbound, fmt.Sprintf("%s of %s pass", probes.Plural(len(ips), "address", "addresses"), domain))
}

// outboundFix proposes the record with the failing addresses authorised.
func outboundFix(domain string, rec *Record, records int, failing []string) string {
	var add []string
	for _, s := range failing {
		ip, _ := netip.ParseAddr(s)
		if ip.Is4() {
			add = append(add, "ip4:"+s)
		} else {
			add = append(add, "ip6:"+s)
		}
	}
	if len(add) > 4 {
		add = append(add[:4], "…")
	}
	switch {
	case records > 1:
		return fmt.Sprintf("merge the %d SPF records into one (see spf.present) and add %s to it", records, strings.Join(add, " "))
	case rec == nil:
		return "publish " + txtLine(domain, "v=spf1 "+strings.Join(add, " ")+" -all")
	}
	rest := strings.TrimSpace(rec.Text[len(version):])
	return "authorise the failing addresses: " + txtLine(domain, strings.TrimSpace("v=spf1 "+strings.Join(add, " ")+" "+rest))
}
