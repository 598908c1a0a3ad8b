// Package mx is the probe that looks at how a domain receives mail: its MX
// records (RFC 5321 §5.1, RFC 7505 null MX), the addresses of its MX hosts,
// their reverse DNS (present, forward-confirmed, not generic, with a role
// label), DNSSEC validation of those answers, CAA (RFC 8659) and the
// RFC 6186 SRV records mail clients use to find the servers.
//
// The lookups follow their dependency chain and no more: MX, then A/AAAA of
// every host (both through mailhosts, shared with the other probes), then
// PTR of every address, then the forward lookups of the PTR names, each
// stage all at once. The CAA climb and the SRV lookups do not depend on the
// MX chain and run beside it.
package mx

import (
	"context"
	"net/netip"

	"github.com/deliverability-exporter/deliverability_exporter/internal/flight"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
	"github.com/deliverability-exporter/deliverability_exporter/probes/mailhosts"
)

// Name is the probe's name (the probe label of its metrics).
const Name = "mx"

// Probe checks the MX set-up of a target. It is safe for concurrent use.
type Probe struct {
	cfg Config
}

var (
	_ probes.Probe     = (*Probe)(nil)
	_ probes.Describer = (*Probe)(nil)
)

// New makes a probe. cfg should have passed Validate (decoding it from
// YAML does that).
func New(cfg Config) *Probe {
	cfg.SRVServices = append([]string(nil), cfg.SRVServices...)
	return &Probe{cfg: cfg}
}

// Registration declares the probe to the engine.
var Registration = probes.Register(Name, []string{mailhosts.FactName}, DefaultConfig,
	func(c Config, _ probes.Setup) *Probe { return New(c) })

// Name returns "mx".
func (p *Probe) Name() string { return Name }

// Run checks the target. It returns when the checks are done or ctx ends,
// whichever is first, with what it found.
func (p *Probe) Run(ctx context.Context, req *probes.Request, env *probes.Env) *probes.Result {
	r := &run{
		cfg:    p.cfg,
		ctx:    ctx,
		req:    req,
		env:    env,
		dns:    env.DNS,
		target: req.Target,
		res:    probes.NewResult(Name),
	}
	switch req.Target.Kind {
	case probes.KindIP:
		r.checkIP()
	case probes.KindHost:
		r.checkHost()
	default:
		r.checkDomain()
	}
	return r.res
}

// run is the state of one Run.
type run struct {
	cfg    Config
	ctx    context.Context
	req    *probes.Request
	env    *probes.Env
	dns    *dnsclient.Resolver
	target probes.Target
	res    *probes.Result
	// dnssecMeasured keeps mail_dnssec_authenticated to one sample a name.
	dnssecMeasured map[string]bool
	// set is the target's mail hosts, once discovered.
	set *mailhosts.Set
	// newNames are the host names remediations propose for addresses that
	// need one, by address (see newHostName).
	newNames map[netip.Addr]string
}

// domainLookups is everything asked about a mail domain, gathered before
// anything is judged.
type domainLookups struct {
	set      *mailhosts.Set
	err      error // the MX question got no answer
	reverses *reverses
	caa      *caaLookup
	srv      []srvLookup
}

// lookupDomain asks the MX chain (MX, A/AAAA, PTR, forward lookups) and,
// beside it, the CAA climb and the SRV names, which depend on nothing.
func (r *run) lookupDomain() domainLookups {
	var l domainLookups
	var tasks flight.Tasks
	tasks.Go(func() { l.caa = lookupCAA(r.ctx, r.dns, r.target.Name) })
	tasks.Go(func() { l.srv = lookupSRV(r.ctx, r.dns, r.target.Name, r.cfg.SRVServices) })
	l.set, l.err = mailhosts.Discover(r.ctx, r.req, r.env)
	if l.err == nil {
		l.reverses = lookupReverses(r.ctx, r.dns, l.set, r.env.Limit().PTRQuestions)
	}
	tasks.Wait()
	return l
}

// checkDomain runs every check on a mail domain.
func (r *run) checkDomain() {
	l := r.lookupDomain()
	switch {
	case l.err != nil:
		r.recordMXUnknown(l.err)
		r.recordCAA(l.caa)
		r.recordSRV(l.srv, nil)
	case l.set.MX.NXDomain():
		r.recordNXDomain(l.set)
	default:
		r.recordDomain(l)
	}
}

// recordDomain records the checks of a domain that exists.
func (r *run) recordDomain(l domainLookups) {
	domain, set := r.target.Name, l.set
	r.set = set
	r.measureDomain(set)
	r.recordPresent(set)
	r.recordNull(set)
	r.recordDNSSECDomain(set)
	r.recordNotBogus(set)
	r.recordCAA(l.caa)
	receiving := []probes.CheckSpec{checkHostname, checkResolves, checkIPv6, checkDNSSECMX,
		checkPTRPresent, checkFCrDNS, checkNotGeneric, checkRoleLabel}
	switch {
	case set.NullMX && len(set.Hosts) == 0:
		// RFC 7505 §3: the domain accepts no mail, so neither servers nor
		// client services exist to check.
		reason := domain + " receives no mail (null MX, RFC 7505): there are no mail servers to check"
		r.res.SkipAll(reason, append(receiving, checkSRV)...)
	case len(set.Hosts) == 0:
		r.recordSRV(l.srv, set)
		r.res.SkipAll(domain+" has no MX hosts and no addresses of its own (no implicit MX): no mail host to check", receiving...)
	default:
		if note := set.ImplicitNote(); note != "" {
			r.res.Note("%s", note)
		}
		r.recordSRV(l.srv, set)
		r.recordHostname(set)
		r.recordHosts(set)
		r.recordReverses(set, l.reverses)
		r.recordLimits(set, l.reverses)
	}
}

// checkHost runs the checks that apply to one mail host.
func (r *run) checkHost() {
	var caa *caaLookup
	var tasks flight.Tasks
	tasks.Go(func() { caa = lookupCAA(r.ctx, r.dns, r.target.Name) })
	set, err := mailhosts.Discover(r.ctx, r.req, r.env)
	var reverses *reverses
	if err == nil {
		reverses = lookupReverses(r.ctx, r.dns, set, r.env.Limit().PTRQuestions)
	}
	tasks.Wait()

	r.res.SkipAll("the target is one host ("+r.target.String()+"); MX, domain DNSSEC and client SRV checks apply to a mail domain",
		checkPresent, checkNull, checkHostname, checkDNSSECDomain, checkSRV)
	r.recordCAA(caa)
	if err != nil {
		// Host discovery does not fail as a whole today; stay correct if
		// it ever does.
		r.res.UndecidedAll(err, checkResolves, checkIPv6, checkDNSSECMX, checkDNSSECNotBogus,
			checkPTRPresent, checkFCrDNS, checkNotGeneric, checkRoleLabel)
		return
	}
	r.res.Measure(metricHosts, float64(len(set.Hosts)))
	r.recordHosts(set)
	r.recordNotBogus(set)
	r.recordReverses(set, reverses)
	r.recordLimits(set, reverses)
}

// checkIP runs the reverse DNS checks, the only ones an address allows.
func (r *run) checkIP() {
	r.res.SkipAll("the target is an IP address; only its reverse DNS is checked",
		checkPresent, checkNull, checkHostname, checkResolves, checkIPv6,
		checkDNSSECDomain, checkDNSSECMX, checkDNSSECNotBogus, checkCAA, checkSRV)
	set, err := mailhosts.Discover(r.ctx, r.req, r.env)
	if err != nil {
		r.res.UndecidedAll(err, checkPTRPresent, checkFCrDNS, checkNotGeneric, checkRoleLabel)
		return
	}
	r.recordReverses(set, lookupReverses(r.ctx, r.dns, set, r.env.Limit().PTRQuestions))
}

// recordMXUnknown marks everything that rests on the MX answer undecided.
func (r *run) recordMXUnknown(err error) {
	r.res.UndecidedAll(err, checkPresent, checkNull, checkHostname, checkResolves, checkIPv6,
		checkDNSSECDomain, checkDNSSECMX, checkDNSSECNotBogus, checkPTRPresent, checkFCrDNS, checkNotGeneric, checkRoleLabel)
}

// recordNXDomain fails mx.present for a domain that does not exist; nothing
// else can apply to it, but a denial of existence that does not validate
// is judged as one (the name may well exist: the proof of its absence is
// what failed).
func (r *run) recordNXDomain(set *mailhosts.Set) {
	domain := r.target.Name
	r.res.Fail(checkPresent, domain+" does not exist (NXDOMAIN)",
		"register or delegate "+domain+", then publish an MX record naming the host of its mail server, which must have A/AAAA records, or "+
			probes.ZoneLine(domain, "MX", "0 .")+" if it is to receive no mail",
		"MX "+domain+": NXDOMAIN from "+set.MX.Server)
	skipped := []probes.CheckSpec{checkNull, checkHostname, checkResolves, checkIPv6, checkDNSSECMX,
		checkPTRPresent, checkFCrDNS, checkNotGeneric, checkRoleLabel, checkCAA, checkSRV}
	if set.MX.Bogus != nil {
		r.recordDNSSECDomain(set)
		r.recordNotBogus(set)
	} else {
		skipped = append(skipped, checkDNSSECDomain, checkDNSSECNotBogus)
	}
	r.res.SkipAll(domain+" does not exist (NXDOMAIN)", skipped...)
}
