package spf

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
)

// Result is the outcome of check_host() (RFC 7208 §2.6).
type Result string

// The results.
const (
	None      Result = "none"
	Neutral   Result = "neutral"
	Pass      Result = "pass"
	Fail      Result = "fail"
	SoftFail  Result = "softfail"
	TempError Result = "temperror"
	PermError Result = "permerror"
)

// The processing limits of RFC 7208 §4.6.4.
const (
	// LookupLimit is the number of DNS-querying terms (include, a, mx, ptr,
	// exists, redirect) one check_host() evaluation may use.
	LookupLimit = 10
	// VoidLookupLimit is the number of those terms whose lookup may answer
	// NXDOMAIN or no records.
	VoidLookupLimit = 2
	// AddressLimit is the number of MX hosts (or PTR names) one mx (or ptr)
	// term may look at.
	AddressLimit = 10
)

// Resolver answers DNS questions; *dnsclient.Resolver is one. Lookup
// returns an error for answers other than NOERROR and NXDOMAIN, and for
// timeouts.
type Resolver interface {
	Lookup(ctx context.Context, name string, qtype uint16) (*dnsclient.Answer, error)
}

var _ Resolver = (*dnsclient.Resolver)(nil)

// CheckHost evaluates check_host(<ip>, <domain>, <sender>) the way a
// receiver does (RFC 7208 §4): the first matching mechanism decides, and
// the limits of §4.6.4 end the evaluation with permerror. sender is the
// MAIL FROM address (an empty local-part becomes "postmaster", §4.3); helo
// is what %{h} expands to. The error explains a permerror or temperror; it
// is nil for the other results.
func CheckHost(ctx context.Context, r Resolver, ip netip.Addr, domain, sender, helo string) (Result, error) {
	c := newChecker(ctx, r, ip, sender, helo)
	return c.checkHost(lowerASCII(strings.TrimSuffix(domain, ".")))
}

// checker is one receiver-side evaluation.
type checker struct {
	ctx    context.Context
	dns    Resolver
	ip     netip.Addr
	family int // 0 IPv4, 1 IPv6

	sender, local, senderDomain, helo string

	lookups, voids int

	// The validated names of ip (§5.5), looked up once for ptr terms and
	// the %{p} macro.
	ptrDone  bool
	ptrVoid  bool
	ptrNames []string
}

func newChecker(ctx context.Context, r Resolver, ip netip.Addr, sender, helo string) *checker {
	ip = ip.Unmap() // an IPv4-mapped address is IPv4 (§5)
	c := &checker{ctx: ctx, dns: r, ip: ip, helo: helo}
	if ip.Is6() {
		c.family = 1
	}
	c.sender, c.local, c.senderDomain = splitSender(sender, helo)
	return c
}

// splitSender returns <sender> with "postmaster" as local-part when it has
// none (§4.3), the local-part and the domain (the HELO name when the sender
// has no domain, §2.4).
func splitSender(sender, helo string) (full, local, domain string) {
	local, domain = "", sender
	if i := strings.LastIndexByte(sender, '@'); i >= 0 {
		local, domain = sender[:i], sender[i+1:]
	}
	if domain == "" {
		domain = helo
	}
	if local == "" {
		local = "postmaster"
	}
	return local + "@" + domain, local, domain
}

// checkerVals supplies macro values for the record of domain.
type checkerVals struct {
	c      *checker
	domain string
}

func (v checkerVals) value(letter byte) (string, bool) {
	c := v.c
	switch letter {
	case 's':
		return c.sender, true
	case 'l':
		return c.local, true
	case 'o':
		return c.senderDomain, true
	case 'd':
		return v.domain, true
	case 'i':
		return ipMacro(c.ip), true
	case 'v':
		return versionMacro(c.ip), true
	case 'h':
		return c.helo, true
	case 'p':
		return c.validatedName(v.domain), true
	}
	return "", false
}

// errLimit and friends explain permerrors.
var (
	errLookupLimit = fmt.Errorf("more than %d DNS-querying terms (RFC 7208 §4.6.4)", LookupLimit)
	errVoidLimit   = fmt.Errorf("more than %d void lookups (RFC 7208 §4.6.4)", VoidLookupLimit)
)

func (c *checker) checkHost(domain string) (Result, error) {
	name, ok := targetName(domain)
	if !ok {
		return None, fmt.Errorf("%q is not a valid domain name (RFC 7208 §4.3)", domain)
	}
	txt, err := fetchRecord(c.ctx, c.dns, name)
	if err != nil {
		return TempError, err
	}
	switch len(txt.records) {
	case 0:
		return None, fmt.Errorf("%s publishes no SPF record", name)
	case 1:
	default:
		return PermError, fmt.Errorf("%s publishes %d SPF records (RFC 7208 §4.5)", name, len(txt.records))
	}
	rec, err := Parse(txt.records[0])
	if err != nil {
		return PermError, fmt.Errorf("SPF record of %s: %w", name, err)
	}
	return c.evalRecord(name, rec)
}

func (c *checker) evalRecord(domain string, rec *Record) (Result, error) {
	vals := checkerVals{c: c, domain: domain}
	for i := range rec.Terms {
		t := &rec.Terms[i]
		match, res, err := c.evalTerm(domain, t, vals)
		if err != nil || res != "" {
			return res, err
		}
		if match {
			return t.Qualifier.Result(), nil
		}
	}
	if rec.Redirect == nil {
		return Neutral, nil // §4.7
	}
	// §6.1: an all mechanism would have matched above, so the redirect is
	// in force.
	target, _ := rec.Redirect.Value.expand(vals)
	if err := c.count(); err != nil {
		return PermError, err
	}
	res, err := c.checkHost(target)
	if res == None {
		return PermError, fmt.Errorf("redirect=%s: %w", target, err)
	}
	return res, err
}

// count charges one DNS-querying term, refusing the eleventh (§4.6.4).
func (c *checker) count() error {
	if c.lookups >= LookupLimit {
		return errLookupLimit
	}
	c.lookups++
	return nil
}

// void charges a lookup that answered NXDOMAIN or no records.
func (c *checker) void(ans *dnsclient.Answer) error {
	if !ans.Empty() {
		return nil
	}
	c.voids++
	if c.voids > VoidLookupLimit {
		return errVoidLimit
	}
	return nil
}

// evalTerm evaluates one mechanism. A non-empty res ends the evaluation
// (temperror or permerror, with err saying why).
func (c *checker) evalTerm(domain string, t *Term, vals checkerVals) (match bool, res Result, err error) {
	switch t.Mechanism {
	case MechAll:
		return true, "", nil
	case MechIP4, MechIP6:
		return t.Network.Masked().Contains(c.ip), "", nil
	}
	target := domain
	if t.Domain != nil {
		target, _ = t.Domain.expand(vals)
	}
	if err := c.count(); err != nil {
		return false, PermError, err
	}
	switch t.Mechanism {
	case MechInclude:
		r, err := c.checkHost(target)
		switch r {
		case Pass:
			return true, "", nil
		case Fail, SoftFail, Neutral:
			return false, "", nil
		case None:
			return false, PermError, fmt.Errorf("include:%s: %w (RFC 7208 §5.2)", target, err)
		}
		return false, r, err
	case MechA:
		ans, err := c.lookupAddrs(target)
		if err != nil {
			return false, TempError, err
		}
		if err := c.void(ans); err != nil {
			return false, PermError, err
		}
		return c.matchAddrs(ans, t), "", nil
	case MechMX:
		return c.evalMX(target, t)
	case MechPTR:
		names, void := c.validatedNames()
		if void {
			c.voids++
			if c.voids > VoidLookupLimit {
				return false, PermError, errVoidLimit
			}
		}
		for _, n := range names {
			if isSubdomain(n, target) {
				return true, "", nil
			}
		}
		return false, "", nil
	case MechExists:
		// exists asks for A records whatever the client's family (§5.7).
		ans, err := c.lookup(target, dns.TypeA)
		if err != nil {
			return false, TempError, err
		}
		if err := c.void(ans); err != nil {
			return false, PermError, err
		}
		return len(ans.FirstAddrs(1)) > 0, "", nil
	}
	return false, PermError, fmt.Errorf("internal: mechanism %q", t.Mechanism)
}

func (c *checker) evalMX(target string, t *Term) (bool, Result, error) {
	ans, err := c.lookup(target, dns.TypeMX)
	if err != nil {
		return false, TempError, err
	}
	if err := c.void(ans); err != nil {
		return false, PermError, err
	}
	hosts := mxHosts(ans)
	if len(ans.Records) > AddressLimit {
		return false, PermError, fmt.Errorf("mx:%s has %d MX records; more than %d is a permerror (RFC 7208 §4.6.4)", target, len(ans.Records), AddressLimit)
	}
	for _, h := range hosts {
		a, err := c.lookupAddrs(h)
		if err != nil {
			return false, TempError, err
		}
		if c.matchAddrs(a, t) {
			return true, "", nil
		}
	}
	return false, "", nil
}

// mxHosts returns the MX targets in raw form, without a null MX ("."),
// which names no host (RFC 7505).
func mxHosts(ans *dnsclient.Answer) []string {
	var out []string
	for _, rr := range ans.Records {
		if mx, ok := rr.(*dns.MX); ok {
			if h := rawName(mx.Mx); h != "" {
				out = append(out, h)
			}
		}
	}
	return out
}

// lookupAddrs asks A or AAAA, whichever matches the client's family (§5.3).
func (c *checker) lookupAddrs(name string) (*dnsclient.Answer, error) {
	qtype := dns.TypeA
	if c.family == 1 {
		qtype = dns.TypeAAAA
	}
	return c.lookup(name, qtype)
}

func (c *checker) matchAddrs(ans *dnsclient.Answer, t *Term) bool {
	bits := t.Prefix4
	if c.family == 1 {
		bits = t.Prefix6
	}
	for a := range ans.AllAddrs() {
		if p, err := a.Prefix(bits); err == nil && p.Contains(c.ip) {
			return true
		}
	}
	return false
}

func (c *checker) lookup(name string, qtype uint16) (*dnsclient.Answer, error) {
	return lookup(c.ctx, c.dns, name, qtype)
}

// validatedNames looks up the PTR names of the client and keeps those whose
// A or AAAA records lead back to it, at most 10 (§4.6.4, §5.5). void is
// whether the PTR lookup found nothing. A DNS error makes ptr not match
// rather than temperror: the reverse zone belongs to the client, not to the
// domain being checked (§5.5).
func (c *checker) validatedNames() (names []string, void bool) {
	if c.ptrDone {
		return c.ptrNames, c.ptrVoid
	}
	c.ptrDone = true
	ans, err := c.dns.Lookup(c.ctx, dnsclient.ReverseName(c.ip), dns.TypePTR)
	if err != nil {
		return nil, false
	}
	if ans.Empty() {
		c.ptrVoid = true
		return nil, true
	}
	var ptrs []string
	for _, rr := range ans.Records {
		if p, ok := rr.(*dns.PTR); ok {
			ptrs = append(ptrs, rawName(p.Ptr))
		}
	}
	if len(ptrs) > AddressLimit {
		ptrs = ptrs[:AddressLimit]
	}
	for _, n := range ptrs {
		a, err := c.lookupAddrs(n)
		if err != nil {
			continue
		}
		if a.HasAddr(c.ip) {
			c.ptrNames = append(c.ptrNames, n)
		}
	}
	return c.ptrNames, false
}

// validatedName is %{p}: a validated name of the client, one at or below
// domain if there is one, else "unknown" (§7.3).
func (c *checker) validatedName(domain string) string {
	names, _ := c.validatedNames()
	for _, n := range names {
		if isSubdomain(n, domain) {
			return n
		}
	}
	if len(names) > 0 {
		return names[0]
	}
	return "unknown"
}

// lookup asks a question about a raw name. A name no question can be
// composed from (an empty or over-long label, §4.3) gets an empty NXDOMAIN
// answer without asking, as if it did not exist.
func lookup(ctx context.Context, r Resolver, name string, qtype uint16) (*dnsclient.Answer, error) {
	n, ok := targetName(name)
	if !ok {
		return &dnsclient.Answer{Name: name, Type: qtype, Rcode: dns.RcodeNameError}, nil
	}
	return r.Lookup(ctx, presentation(n), qtype)
}

// recordSet is the TXT answer of a domain, sorted into SPF records and the
// rest.
type recordSet struct {
	answer  *dnsclient.Answer
	records []string // TXT strings that are SPF records (§4.5)
	others  []string // the other TXT strings
}

// fetchRecord asks the TXT records of name and picks the SPF ones. The
// error is a DNS failure (temperror); NXDOMAIN is an answer with none.
func fetchRecord(ctx context.Context, r Resolver, name string) (*recordSet, error) {
	ans, err := lookup(ctx, r, name, dns.TypeTXT)
	if err != nil {
		return nil, err
	}
	set := &recordSet{answer: ans}
	for _, s := range txtStrings(ans) {
		if IsSPF(s) {
			set.records = append(set.records, s)
		} else {
			set.others = append(set.others, s)
		}
	}
	return set, nil
}
