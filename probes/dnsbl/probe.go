// Package dnsbl is the probe that asks DNS blocklists and allowlists
// (RFC 5782) about a mail domain: its MX addresses and outbound addresses on
// IP lists, the domain and its MX host names on domain lists, and the
// addresses on allowlists such as DNSWL.
//
// Blocklisting is what pages a postmaster at night, so the probe is strict
// about what counts as a listing: only an A answer in 127.0.0.0/8 that the
// list does not use as an error code. Error codes (Spamhaus answers
// 127.255.255.254 to queries through public resolvers), answers outside
// 127.0.0.0/8 (resolvers that rewrite NXDOMAIN, zones that were parked) and
// lists that answer their never-listed test point (lists that shut down by
// listing the world) are reported as errors of the list, never as listings.
//
// Every question of a probe request goes out in one parallel round (the
// lists' RFC 5782 §5 test points included), bounded by max_concurrency;
// the TXT reasons of listed subjects follow in a second round. Answers are
// kept process-wide for their TTL by a Cache, so domains that share MX
// hosts cost the lists one query each.
package dnsbl

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/net/publicsuffix"

	"github.com/deliverability-exporter/deliverability_exporter/internal/flight"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
	"github.com/deliverability-exporter/deliverability_exporter/probes/mailhosts"
)

// Name is the probe's name (the probe label of its metrics).
const Name = "dnsbl"

// Bounds on the subjects of one probe request: label values, and the
// queries a request may cost the lists. A domain has at most
// limits.mx_hosts MX hosts of limits.addresses_per_host addresses each
// (256 by default), more than a request should ask every list about.
const (
	maxIPSubjects   = 64
	maxNameSubjects = 40
)

// Probe asks the configured lists about a target. It is safe for concurrent
// use.
type Probe struct {
	cfg   Config
	cache *Cache
	// budgets counts the queries per list (nil: none counted).
	budgets *Budgets
}

var (
	_ probes.Probe     = (*Probe)(nil)
	_ probes.Describer = (*Probe)(nil)
)

// New makes a probe. cfg should have passed Validate (decoding it from YAML
// does that). cache keeps answers across probe requests; nil means no
// process-wide caching (each request still asks each question once).
func New(cfg Config, cache *Cache) *Probe {
	c := cfg
	c.Lists = make([]List, len(cfg.Lists))
	for i, l := range cfg.Lists {
		l.Codes = copyMap(l.Codes)
		l.ErrorCodes = copyMap(l.ErrorCodes)
		if l.Severities != nil {
			sev := make(map[string]Severity, len(l.Severities))
			for k, v := range l.Severities {
				sev[k] = v
			}
			l.Severities = sev
		}
		c.Lists[i] = l
	}
	c.normalize()
	if c.MaxConcurrency < 1 {
		c.MaxConcurrency = DefaultMaxConcurrency
	}
	return &Probe{cfg: c, cache: cache}
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Registration declares the probe to the engine.
var Registration = probes.Register(Name, []string{mailhosts.FactName}, DefaultConfig,
	func(c Config, s probes.Setup) *Probe {
		return New(c, SharedCache(s.Kept)).WithBudgets(SharedBudgets(s.Kept))
	})

// WithBudgets makes the probe count its queries per list in b and hold them
// to each list's daily_query_budget; it returns p.
func (p *Probe) WithBudgets(b *Budgets) *Probe {
	p.budgets = b
	for _, l := range p.cfg.Lists {
		b.Configure(l.Zone, l.DailyQueryBudget)
	}
	return p
}

// DefaultCacheEntries and DefaultCacheBytes bound the process-wide
// blocklist answer cache: some 50,000 answers of real lists (about 650
// bytes each as counted) fit in the bytes.
const (
	DefaultCacheEntries = 100000
	DefaultCacheBytes   = 32 << 20
)

// SharedCache returns the process-wide blocklist answer cache kept in k, so
// domains that share MX hosts do not multiply blocklist traffic, across
// modules and reloads.
func SharedCache(k *probes.Kept) *Cache {
	return probes.Keep(k, "dnsbl.cache", nil, func() *Cache { return NewCache(DefaultCacheEntries, DefaultCacheBytes) })
}

// Name returns "dnsbl".
func (p *Probe) Name() string { return Name }

// Run asks the lists about the target. It returns when the answers are in
// or ctx ends, whichever is first, with what it found.
func (p *Probe) Run(ctx context.Context, req *probes.Request, env *probes.Env) *probes.Result {
	now := env.Now
	if now == nil {
		now = time.Now
	}
	r := &run{p: p, ctx: ctx, env: env, now: now, res: probes.NewResult(Name)}
	if p.cache != nil {
		r.servers = serversKey(env.DNS)
	}
	r.subj = gatherSubjects(ctx, req, env, r.res, p.cfg.MXSends)
	r.notePrivate()
	r.plan()
	r.askAll(r.firstRound(), dns.TypeA)
	r.evaluate()
	r.askAll(r.secondRound(), dns.TypeTXT)
	r.record()
	for _, err := range r.subj.ipsLimited {
		r.res.Limited(err, checkIP) // dnswl.listed needs one address listed: a pass stands
	}
	for _, err := range r.subj.namesLimited {
		r.res.Limited(err, checkDomain)
	}
	return r.res
}

// run is the state of one Run.
type run struct {
	p   *Probe
	ctx context.Context
	env *probes.Env
	now func() time.Time
	res *probes.Result
	// servers keys the process cache: the resolvers this request asks.
	servers string
	subj    subjects
	lists   []*listRun
}

// subjects are what the lists are asked about.
type subjects struct {
	// ips are the addresses every IP list is asked about; private are the
	// loopback, private and link-local ones, asked only of the lists with
	// private_addresses: true.
	ips     []netip.Addr
	private []netip.Addr
	names   []string
	// unknown are why some subjects could not be found (the MX question
	// or a host's addresses got no answer): a check that finds no listing
	// among the others is then undecided, not passed.
	unknown []error
	// noIPs and noNames say why there are none, when there are none.
	noIPs, noNames string
	// ipsLimited and namesLimited say what the request's limits (or the
	// probe's own bounds) left out: a check that looked at part of the
	// subjects cannot pass (probes.Result.Limited).
	ipsLimited, namesLimited []error
	// receiving are the subjects (addresses and names) that only receive
	// mail, each with the MX host it belongs to: their listings are one
	// severity lower (Severity.Lower). Every other subject may send.
	receiving map[string]string
}

// roles gathers which subjects send mail and which only receive it.
type roles struct {
	sends     map[string]bool
	receiving map[string]string // subject → its MX host
}

// mark records a subject of an MX host (or of the target itself, host
// "") as one that sends or only receives.
func (ro *roles) mark(subject, host string, sends bool) {
	if subject == "" {
		return
	}
	if sends {
		if ro.sends == nil {
			ro.sends = map[string]bool{}
		}
		ro.sends[subject] = true
		return
	}
	if ro.receiving == nil {
		ro.receiving = map[string]string{}
	}
	if _, ok := ro.receiving[subject]; !ok {
		ro.receiving[subject] = host
	}
}

// onlyReceiving is the subjects marked receiving and never sending.
func (ro *roles) onlyReceiving() map[string]string {
	out := map[string]string{}
	for subject, host := range ro.receiving {
		if !ro.sends[subject] {
			out[subject] = host
		}
	}
	return out
}

// subjectIP is an address as subjects write it (filterIPs).
func subjectIP(ip netip.Addr) string { return ip.Unmap().WithZone("").String() }

// registeredDomain is the name's registered domain, or "".
func registeredDomain(n string) string {
	reg, err := publicsuffix.EffectiveTLDPlusOne(strings.TrimSuffix(strings.ToLower(n), "."))
	if err != nil {
		return ""
	}
	return reg
}

// gatherSubjects finds the subjects of the request: for a domain, every MX
// address and the outbound IPs for IP lists, the domain and the MX host
// names for domain lists (a null MX leaves only the outbound IPs and the
// domain); for a host, its addresses and its name; for an IP, the IP.
//
// Which of them only receive mail follows mxSends: with auto, the
// addresses and names of a provider's MX hosts (not named under the
// domain or its organisational domain), which receive the domain's mail
// and send none of it; the domain itself, the outbound IPs and a host or
// IP target may always send.
func gatherSubjects(ctx context.Context, req *probes.Request, env *probes.Env, res *probes.Result, mxSends MXSends) subjects {
	var s subjects
	var ips []netip.Addr
	var names []string
	var ro roles
	t := req.Target
	switch t.Kind {
	case probes.KindIP:
		ips = []netip.Addr{t.IP}
		s.noNames = "the target is an IP address; domain lists are asked about names"
	case probes.KindHost:
		names = append(names, t.Name)
		set, err := mailhosts.Discover(ctx, req, env)
		if err != nil {
			s.unknown = append(s.unknown, fmt.Errorf("addresses of %s: %w", t.Name, err))
			break
		}
		for _, h := range set.Hosts {
			ips = append(ips, h.Addrs()...)
			if h.Err != nil {
				s.unknown = append(s.unknown, fmt.Errorf("addresses of %s: %w", h.Name, h.Err))
			}
		}
		s.ipsLimited = set.Limited()
		s.noIPs = t.Name + " has no addresses"
	default:
		names = append(names, t.Name)
		set, err := mailhosts.Discover(ctx, req, env)
		switch {
		case err != nil:
			s.unknown = append(s.unknown, err)
		case set.MX.NXDomain():
			s.noIPs = t.Name + " does not exist (NXDOMAIN) and no outbound IPs are configured"
		case set.NullMX && len(set.Hosts) == 0:
			s.noIPs = t.Name + " receives no mail (null MX) and no outbound IPs are configured"
		default:
			s.noIPs = t.Name + " has no MX addresses and no outbound IPs are configured"
			s.ipsLimited = set.Limited()
			if err := set.HostsLimited(); err != nil {
				s.namesLimited = append(s.namesLimited, err)
			}
			for _, h := range set.Hosts {
				if h.IPLiteral {
					continue // not a name; mx.hostname reports it
				}
				names = append(names, h.Name)
				ips = append(ips, h.Addrs()...)
				sends := mxSends == MXSendsAlways || mxSends != MXSendsNever && (h.OwnOrganization || h.Implicit)
				for _, ip := range h.Addrs() {
					ro.mark(subjectIP(ip), h.Name, sends)
				}
				ro.mark(h.Name, h.Name, sends)
				ro.mark(registeredDomain(h.Name), h.Name, sends)
				if h.Err != nil {
					s.unknown = append(s.unknown, fmt.Errorf("addresses of MX host %s: %w", h.Name, h.Err))
				}
			}
		}
		ips = append(ips, req.OutboundIPs...)
		for _, ip := range req.OutboundIPs {
			ro.mark(subjectIP(ip), "", true)
		}
		ro.mark(t.Name, "", true)
		ro.mark(registeredDomain(t.Name), "", true)
		s.receiving = ro.onlyReceiving()
	}
	var omitted error
	s.ips, s.private, omitted = filterIPs(ips, res)
	if omitted != nil {
		s.ipsLimited = append(s.ipsLimited, omitted)
	}
	if len(s.ips) == 0 && len(ips) > 0 {
		s.noIPs = "every address is loopback, private or link-local, which no public list holds (a list with private_addresses: true is asked about them)"
	}
	s.names = withRegisteredDomains(names)
	if len(s.names) > maxNameSubjects {
		s.namesLimited = append(s.namesLimited, fmt.Errorf("%d names beyond the first %d were not asked of domain lists", len(s.names)-maxNameSubjects, maxNameSubjects))
		s.names = s.names[:maxNameSubjects]
	}
	return s
}

// filterIPs removes duplicates and splits off the addresses no public
// list can hold (loopback, private, link-local): asking a public list
// about 127.0.0.2 would meet its test entry and report a listing that is
// not one, so they go only to the lists with private_addresses: true.
// Multicast and unspecified addresses are no mail host's and are dropped,
// and so are RFC 5782's test points (127.0.0.2 and 127.0.0.1), whose
// answer every list gives for all of its subjects alike. Both are capped
// at maxIPSubjects together; omitted says how many the cap left out.
func filterIPs(ips []netip.Addr, res *probes.Result) (public, private []netip.Addr, omitted error) {
	seen := map[netip.Addr]bool{}
	var points []string
	for _, ip := range ips {
		ip = ip.Unmap().WithZone("")
		if !ip.IsValid() || seen[ip] {
			continue
		}
		seen[ip] = true
		switch {
		case ip.IsMulticast() || ip.IsUnspecified():
		case ip == testListedIP || ip == testNotListedIP:
			points = append(points, ip.String())
		case isPrivate(ip):
			private = append(private, ip)
		default:
			public = append(public, ip)
		}
	}
	if len(points) > 0 {
		res.Note("not asked of any list: %s, RFC 5782's test %s, which every list must answer the same way whoever asks", strings.Join(points, ", "), probes.PluralForm(len(points), "point", "points"))
	}
	if n := len(public) + len(private); n > maxIPSubjects {
		omitted = fmt.Errorf("%d addresses beyond the first %d were not asked of IP lists", n-maxIPSubjects, maxIPSubjects)
		if len(public) > maxIPSubjects {
			public = public[:maxIPSubjects]
		}
		private = private[:maxIPSubjects-len(public)]
	}
	return public, private, omitted
}

// isPrivate reports whether no public list can hold the address:
// loopback, private (RFC 1918, RFC 4193) or link-local.
func isPrivate(ip netip.Addr) bool {
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast()
}

// ipSubjects returns the addresses the lists of kind (ip or allow) are
// asked about together: the public ones, and the private ones when a list
// of that kind takes them.
func (r *run) ipSubjects(kind Kind) []netip.Addr {
	for _, l := range r.p.cfg.Lists {
		if l.Kind == kind && l.PrivateAddresses {
			return append(append([]netip.Addr(nil), r.subj.ips...), r.subj.private...)
		}
	}
	return r.subj.ips
}

// notePrivate says which lists were not asked about the private
// addresses, and which were.
func (r *run) notePrivate() {
	if len(r.subj.private) == 0 {
		return
	}
	strs := make([]string, len(r.subj.private))
	for i, ip := range r.subj.private {
		strs[i] = ip.String()
	}
	var asked []string
	for _, l := range r.p.cfg.Lists {
		if l.PrivateAddresses {
			asked = append(asked, l.Zone)
		}
	}
	if len(asked) == 0 {
		r.res.Note("not asked of any list (loopback, private or link-local, which no public list holds; a list with private_addresses: true is asked about them): %s", probes.JoinNames(strs))
		return
	}
	r.res.Note("asked only of the lists with private_addresses: true (%s), being loopback, private or link-local: %s", strings.Join(asked, ", "), probes.JoinNames(strs))
}

// withRegisteredDomains adds each name's registered domain after it: URIBL
// and SURBL list registered domains only ("we strip all hostparts",
// uribl.com/about.shtml), so an MX host name has to be asked as its domain
// too, while Spamhaus' DBL answers for host names below a listed domain.
func withRegisteredDomains(names []string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(n string) {
		n = strings.TrimSuffix(strings.ToLower(n), ".")
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, n := range names {
		add(n)
		if reg, err := publicsuffix.EffectiveTLDPlusOne(strings.TrimSuffix(n, ".")); err == nil {
			add(reg)
		}
	}
	return out
}

// query is one question and its answer.
type query struct {
	name string
	ans  *dnsclient.Answer
	err  error
}

// listRun is what one list was asked and answered.
type listRun struct {
	list     *List
	subjects []*subjectRun
	// positive and negative are the RFC 5782 §5 test points (nil when
	// health checks are off).
	positive, negative *query
	health             health
	// errs are the list's failures: error codes, answers outside
	// 127.0.0.0/8 and lookups that got no answer.
	refusedCodes []returnCode
	refusedCount int
	failures     []error
	asked        int
	// overBudget counts the questions not asked because the list's
	// daily_query_budget was spent (budgetErr says so).
	overBudget int
	budgetErr  error
}

// subjectRun is one subject on one list.
type subjectRun struct {
	subject string // the label value: an address or a name
	q       query
	outcome outcome
	codes   []returnCode
	txt     *query
}

// erring reports whether the list refused or failed any question.
// A spent budget is not the list's error: its questions were not asked.
func (lr *listRun) erring() bool { return lr.refusedCount > 0 || len(lr.failures) > 0 }

// plan decides which list is asked about which subject.
func (r *run) plan() {
	for i := range r.p.cfg.Lists {
		l := &r.p.cfg.Lists[i]
		lr := &listRun{list: l}
		switch l.Kind {
		case KindDomain:
			for _, n := range r.subj.names {
				name, err := nameQueryName(n, l.Zone)
				if err != nil {
					r.res.Note("%s not asked: %v", l.Zone, err)
					continue
				}
				lr.subjects = append(lr.subjects, &subjectRun{subject: n, q: query{name: name}})
			}
		default:
			ips := r.subj.ips
			if l.PrivateAddresses {
				ips = append(append([]netip.Addr(nil), ips...), r.subj.private...)
			}
			for _, ip := range ips {
				if ip.Is6() && !l.IPv6 {
					continue
				}
				lr.subjects = append(lr.subjects, &subjectRun{subject: ip.String(), q: query{name: ipQueryName(ip, l.Zone)}})
			}
			if len(lr.subjects) == 0 && len(ips) > 0 {
				r.res.Note("%s not asked: its addresses are IPv6 and the list is not marked ipv6: true", l.Zone)
			}
		}
		if len(lr.subjects) == 0 && !r.p.cfg.CheckHealth {
			continue // nothing to ask this list
		}
		// A list's health does not depend on the target: its test points
		// are asked even when the request has nothing else to ask it, so
		// dnsbl.list_health is decided on every request.
		if r.p.cfg.CheckHealth {
			if l.Kind == KindDomain {
				lr.positive = &query{name: l.positiveName() + "." + l.Zone + "."}
				lr.negative = &query{name: testNotListedName + "." + l.Zone + "."}
			} else {
				lr.positive = &query{name: ipQueryName(testListedIP, l.Zone)}
				lr.negative = &query{name: ipQueryName(testNotListedIP, l.Zone)}
			}
		}
		r.lists = append(r.lists, lr)
	}
}

// firstRound is every subject question and every test point: none depends
// on another, so they all go out at once.
func (r *run) firstRound() []*query {
	var qs []*query
	for _, lr := range r.lists {
		if lr.positive != nil {
			qs = append(qs, lr.positive, lr.negative)
		}
		for _, s := range lr.subjects {
			qs = append(qs, &s.q)
		}
	}
	return qs
}

// secondRound is the TXT reasons of the listings on blocklists that are
// not ignored.
func (r *run) secondRound() []*query {
	var qs []*query
	for _, lr := range r.lists {
		if lr.list.Kind == KindAllow || lr.health.ignore {
			continue
		}
		for _, s := range lr.subjects {
			if s.outcome == listed {
				s.txt = &query{name: s.q.name}
				qs = append(qs, s.txt)
			}
		}
	}
	return qs
}

// askAll asks the questions in parallel, at most max_concurrency at a
// time, and waits for all of them.
func (r *run) askAll(qs []*query, qtype uint16) {
	if len(qs) == 0 {
		return
	}
	tasks := flight.Tasks{Limit: r.p.cfg.MaxConcurrency}
	for _, q := range qs {
		tasks.Go(func() { q.ans, q.err = r.lookup(q.name, qtype) })
	}
	tasks.Wait()
}

func (r *run) lookup(name string, qtype uint16) (*dnsclient.Answer, error) {
	// Every query sent to a list counts against its daily_query_budget;
	// answers from the cache are free.
	l := r.p.listOf(name)
	charge := func() error {
		if l == nil {
			return nil
		}
		return r.p.budgets.charge(l.Zone, l.DailyQueryBudget, r.now())
	}
	if r.p.cache != nil {
		ans, asked, err := r.p.cache.lookup(r.ctx, r.env.DNS, r.servers, r.now, name, qtype, charge)
		if !asked && err == nil && l != nil {
			r.p.budgets.hit(l.Zone)
		}
		return ans, err
	}
	if err := charge(); err != nil {
		return nil, err
	}
	return refuseBogus(r.env.DNS.Lookup(r.ctx, name, qtype))
}

// refuseBogus makes an answer the resolver refused as DNSSEC-bogus an
// error. A list zone that does not validate answers nobody who validates:
// a receiver sees no listing and no test point there, so the list is
// failing (an error, never kept), and the records given with checking
// disabled count for nothing.
func refuseBogus(ans *dnsclient.Answer, err error) (*dnsclient.Answer, error) {
	if err != nil || ans.Bogus == nil {
		return ans, err
	}
	return nil, fmt.Errorf("%s: the answer is DNSSEC-bogus, so receivers that validate get none", ans.Bogus)
}

// judge classifies one answer of list l.
func judge(l *List, q *query) (outcome, []returnCode) {
	if q.err != nil {
		return failed, nil
	}
	return classify(l, q.ans.Addrs())
}

// evaluate judges the first round: the lists' health, then each subject.
func (r *run) evaluate() {
	for _, lr := range r.lists {
		lr.health = r.judgeHealth(lr)
		for _, s := range lr.subjects {
			lr.asked++
			s.outcome, s.codes = judge(lr.list, &s.q)
			r.noteFailure(lr, s.outcome, s.codes, s.q.err)
		}
	}
}

// noteFailure counts what an answer says against the list.
func (r *run) noteFailure(lr *listRun, o outcome, codes []returnCode, err error) {
	switch o {
	case refused:
		lr.refusedCount++
		for _, c := range codes {
			if !containsCode(lr.refusedCodes, c) && len(lr.refusedCodes) < maxCodes {
				lr.refusedCodes = append(lr.refusedCodes, c)
			}
		}
	case failed:
		var over *OverBudgetError
		switch {
		case errors.As(err, &over):
			// Not the list's failure: the exporter held back.
			lr.overBudget++
			lr.budgetErr = over
		case err != nil:
			lr.failures = append(lr.failures, err)
		}
	}
}

func containsCode(codes []returnCode, c returnCode) bool {
	for _, x := range codes {
		if x.Addr == c.Addr {
			return true
		}
	}
	return false
}

// health is what a list's test points showed.
type health struct {
	asked bool
	// decided: both test points answered, or one already showed a
	// problem.
	decided bool
	healthy bool
	ignore  bool // the list lists everything: its answers are ignored
	refused bool // a test point got an error code
	// verdict is what the test points showed: the list's problems and
	// the evidence.
	verdict probes.Verdict
}

// judgeHealth reads the list's RFC 5782 §5 test points. A list that lists
// the never-listed point is listing everything: its answers are ignored. A
// list that does not list the always-listed point is flagged but still
// used: several lists use test names of their own (Spamhaus' DBL answers
// for dbltest.com), and ignoring such a list could only hide listings.
func (r *run) judgeHealth(lr *listRun) health {
	var h health
	if lr.positive == nil {
		return h
	}
	h.asked = true
	l := lr.list
	undecided := false
	var refusedPoints []string
	var refusedCodes []returnCode
	// The problems of the test points, recorded after an error code,
	// which explains them; the evidence goes to h.verdict in order.
	var pointIssues probes.Verdict
	for _, tp := range []struct {
		q          *query
		mustList   bool
		pointLabel string
	}{
		{lr.positive, true, testPointLabel(l, true)},
		{lr.negative, false, testPointLabel(l, false)},
	} {
		lr.asked++
		o, codes := judge(l, tp.q)
		r.noteFailure(lr, o, codes, tp.q.err)
		switch {
		case o == failed:
			undecided = true
			h.verdict.See(fmt.Sprintf("%s test point %s: no answer (%v)", l.Zone, tp.pointLabel, tp.q.err))
		case o == refused:
			h.refused = true
			refusedPoints = append(refusedPoints, tp.pointLabel)
			for _, c := range codes {
				if !containsCode(refusedCodes, c) {
					refusedCodes = append(refusedCodes, c)
				}
			}
			h.verdict.See(fmt.Sprintf("%s test point %s: error %s", l.Zone, tp.pointLabel, describeCodes(codes)))
		case o == listed && tp.mustList, o == notListed && !tp.mustList:
			h.verdict.See(fmt.Sprintf("%s test point %s: %s, as it must be", l.Zone, tp.pointLabel, answerText(o, codes, tp.q)))
		case o == listed:
			h.ignore = true
			pointIssues.Fail(fmt.Sprintf("%s lists %s, which RFC 5782 §5 says no list may contain: it is listing everything, so its answers are ignored", l.Display(), tp.pointLabel),
				fmt.Sprintf("remove %s from the module's dnsbl lists: a list that lists everything has usually shut down", l.Zone))
			h.verdict.See(fmt.Sprintf("%s test point %s: listed (%s), must not be", l.Zone, tp.pointLabel, describeCodes(codes)))
		default:
			pointIssues.Fail(fmt.Sprintf("%s does not list its test point %s (RFC 5782 §5)", l.Display(), tp.pointLabel),
				fmt.Sprintf("check the zone name %s and the list's usage terms: a list that answers nothing may have shut down or may want your resolver registered first (Barracuda does)", l.Zone))
			h.verdict.See(fmt.Sprintf("%s test point %s: %s, must be listed", l.Zone, tp.pointLabel, answerText(o, codes, tp.q)))
		}
	}
	if len(refusedPoints) > 0 {
		points := "test point " + refusedPoints[0]
		if len(refusedPoints) == 2 {
			points = "test points " + refusedPoints[0] + " and " + refusedPoints[1]
		}
		h.verdict.Fail(fmt.Sprintf("%s answered %s for its %s", l.Display(), describeCodes(refusedCodes), points), refusalHint(l))
	}
	h.verdict.Merge(&pointIssues)
	h.decided = !undecided || len(h.verdict.Problems) > 0
	h.healthy = h.decided && len(h.verdict.Problems) == 0
	return h
}

// positiveName is the name a domain list must list: its documented test
// entry, or RFC 5782's "test".
func (l *List) positiveName() string {
	if l.TestPoint != "" {
		return l.TestPoint
	}
	return testListedName
}

func testPointLabel(l *List, listedPoint bool) string {
	switch {
	case l.Kind == KindDomain && listedPoint:
		return l.positiveName()
	case l.Kind == KindDomain:
		return testNotListedName
	case listedPoint:
		return testListedIP.String()
	}
	return testNotListedIP.String()
}

// answerText renders an answer for evidence: "NXDOMAIN", "no A record",
// "127.0.0.2 SBL".
func answerText(o outcome, codes []returnCode, q *query) string {
	switch o {
	case listed, refused:
		return describeCodes(codes)
	case failed:
		return fmt.Sprintf("no answer (%v)", q.err)
	}
	if q.ans != nil && !q.ans.NXDomain() {
		return "no A record"
	}
	return "NXDOMAIN"
}

// refusalHint is what to do about a list that refuses queries.
func refusalHint(l *List) string {
	return fmt.Sprintf("%s refuses the queries: use a dedicated recursive resolver such as unbound on localhost instead of a public resolver, and check the list's usage terms", l.Zone)
}

// listError is the probe error for a list that refused or failed queries.
func (lr *listRun) listError() error {
	l := lr.list
	var parts []string
	if lr.refusedCount > 0 {
		outside := false
		for _, c := range lr.refusedCodes {
			outside = outside || c.Outside
		}
		what := "an error code"
		if outside {
			what = "an address outside 127.0.0.0/8 (a resolver rewriting NXDOMAIN, or a zone that is no longer the list)"
		}
		parts = append(parts, fmt.Sprintf("answered %s to %d of %d queries: %s; use a dedicated recursive resolver such as unbound on localhost instead of a public resolver, and check the list's usage terms",
			what, lr.refusedCount, lr.asked, describeCodes(lr.refusedCodes)))
	}
	if n := len(lr.failures); n > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d queries got no answer: %v", n, lr.asked, lr.failures[0]))
	}
	if lr.overBudget > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d questions %v", lr.overBudget, lr.asked, lr.budgetErr))
	}
	if len(parts) == 0 {
		return nil
	}
	return fmt.Errorf("dnsbl list %s: %s", l.Zone, strings.Join(parts, "; "))
}
