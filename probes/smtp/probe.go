package smtp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/internal/flight"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
	"github.com/deliverability-exporter/deliverability_exporter/probes/mailhosts"
	"github.com/deliverability-exporter/deliverability_exporter/probes/smtpsession"
)

// Name is the probe's name (the probe label of its metrics).
const Name = "smtp"

// Probe checks the SMTP servers of a target. It is safe for concurrent use.
type Probe struct {
	cfg Config
}

var (
	_ probes.Probe     = (*Probe)(nil)
	_ probes.Describer = (*Probe)(nil)
)

// New makes a probe. cfg should have passed Validate (decoding it from YAML
// does that). The conversations it judges are the module's SMTP sessions
// fact, which Registration's provider supplies from the same block.
func New(cfg Config) *Probe {
	cfg.Session.Normalize()
	if cfg.Session.MaxParallel < 1 {
		cfg.Session.MaxParallel = 1
	}
	return &Probe{cfg: cfg}
}

// Registration declares the probe to the engine. Its block also supplies
// the SMTP conversations (smtpsession.FactName) to every probe of the
// module, kept across requests under the module's smtp min_interval and
// shared across targets (smtpsession.SessionMemory).
var Registration = probes.Register(Name,
	[]string{mailhosts.FactName, mailhosts.TLSAFactName, smtpsession.FactName},
	DefaultConfig, func(c Config, _ probes.Setup) *Probe { return New(c) },
).WithProvider(func(block any, s probes.Setup) map[string]probes.Provider {
	c, err := probes.BlockOf[Config](Name, block)
	if err != nil {
		return nil
	}
	c.Session.Normalize()
	var memory *smtpsession.SessionMemory
	if s.MinInterval > 0 {
		// One memory for the process: a mail server that several domains
		// (and modules) share is talked to once per interval for all.
		memory = smtpsession.SharedMemory(s.Kept)
	}
	return map[string]probes.Provider{smtpsession.FactName: smtpsession.Provider(c.Session, smtpsession.Shared{
		Memory: memory, MaxAge: s.MinInterval,
		// Process-wide, whatever the module: the bounds protect servers
		// every module shares, and the way out to port 25 is the
		// process's.
		Politeness: smtpsession.SharedPoliteness(s.Kept),
		Egress:     smtpsession.SharedEgress(s.Kept),
	})}
})

// Name returns "smtp".
func (p *Probe) Name() string { return Name }

// run is the state of one Run.
type run struct {
	cfg Config
	ctx context.Context
	req *probes.Request
	env *probes.Env
	res *probes.Result
	set *mailhosts.Set
	// sessions on the SMTP port and on the implicit-TLS port.
	sessions, implicit []*Session
	// tlsa per MX host name.
	tlsa map[string]*mailhosts.TLSASet
	// names are the forward lookups of the names servers gave.
	names map[nameQuestion]*nameAnswer
	// providers names, per MX host the target's organization does not
	// run (mailhosts.Host.OwnOrganization false), the organization that
	// does: how its servers name themselves is not the target's to judge.
	providers map[string]string
	// hostErrs are the hosts whose addresses could not be resolved.
	hostErrs []error
}

// Run checks the target. It returns when the checks are done or ctx ends,
// whichever is first, with what it found.
func (p *Probe) Run(ctx context.Context, req *probes.Request, env *probes.Env) *probes.Result {
	r := &run{cfg: p.cfg, ctx: ctx, req: req, env: env, res: probes.NewResult(Name)}
	set, err := mailhosts.Discover(ctx, req, env)
	if err != nil {
		r.res.UndecidedAll(err, allChecks...)
		return r.res
	}
	r.set = set
	r.providers = providersOf(set)
	if reason := nothingToProbe(set); reason != "" {
		r.res.SkipAll(reason, allChecks...)
		return r.res
	}

	if note := set.ImplicitNote(); note != "" {
		r.res.Note("%s", note)
	}
	if smtpsession.EHLOName(r.cfg.Session) == "" {
		r.res.Note("this machine's host name is not fully qualified, so the probe says EHLO with an address literal (RFC 5321 §4.1.4); set ehlo_name to a name that resolves to the exporter's address")
	}
	eps := smtpsession.Plan(set, req.Target, r.cfg.Session, false)
	if len(eps) == 0 {
		for _, h := range set.Hosts {
			if h.Err != nil {
				// Not knowing the addresses is not knowing the servers.
				r.res.UndecidedAll(fmt.Errorf("addresses of %s: %w", h.Name, h.Err), allChecks...)
				return r.res
			}
		}
		r.res.SkipAll("no mail host has an address to connect to (mx.resolves reports why)", allChecks...)
		return r.res
	}

	// The TLSA lookups and the two ports' conversations depend on nothing
	// the others find, so they run side by side.
	var tasks flight.Tasks
	var tlsaErr, sessErr, implicitErr error
	tasks.Go(func() { r.tlsa, tlsaErr = mailhosts.TLSA(ctx, req, env) })
	if r.cfg.ImplicitTLS {
		tasks.Go(func() { r.implicit, implicitErr = smtpsession.ImplicitTLSSessions(ctx, req, env) })
	}
	r.sessions, sessErr = smtpsession.Sessions(ctx, req, env)
	if sessErr == nil {
		r.names = lookupNames(ctx, env.DNS, r.ownSessions(), 2*len(eps))
	}
	tasks.Wait()
	if err := errors.Join(sessErr, implicitErr, tlsaErr); err != nil {
		// Only a failure to find the mail hosts (already decided above)
		// or an internal failure ends here.
		r.res.UndecidedAll(err, allChecks...)
		return r.res
	}
	if r.tlsa == nil {
		r.tlsa = map[string]*mailhosts.TLSASet{}
	}

	r.recordAll()
	// Servers the request's limits left out may be the ones that fail.
	for _, err := range set.Limited() {
		r.res.Limited(err, allChecks...)
	}
	return r.res
}

// nothingToProbe says why a target has no SMTP servers to talk to, or "".
func nothingToProbe(set *mailhosts.Set) string {
	t := set.Target
	if t.Kind != probes.KindDomain {
		return ""
	}
	switch {
	case set.MX != nil && set.MX.NXDomain():
		return t.Name + " does not exist (NXDOMAIN)"
	case set.NullMX && len(set.Hosts) == 0:
		return t.Name + " receives no mail (null MX, RFC 7505): there are no mail servers to check"
	case len(set.Hosts) == 0:
		return t.Name + " publishes no MX records and has no addresses of its own (no implicit MX, RFC 5321 §5.1): no server receives its mail"
	}
	return ""
}

// providersOf maps each MX host of set that the target's organization
// does not run to the organization that does (its organizational domain,
// or its name when it has none). A host target, the implicit MX and IP
// literals are the target's own.
func providersOf(set *mailhosts.Set) map[string]string {
	out := map[string]string{}
	for _, h := range set.Hosts {
		if h.OwnOrganization || h.IPLiteral {
			continue
		}
		org := h.Organization
		if org == "" {
			org = h.Name
		}
		out[h.Name] = org
	}
	return out
}

// ownSessions are the sessions with servers the target's organization
// runs: the only ones whose greeting and EHLO names are judged.
func (r *run) ownSessions() []*Session {
	var out []*Session
	for _, s := range r.sessions {
		if r.providers[s.MX] == "" {
			out = append(out, s)
		}
	}
	return out
}

// nameQuestion is a forward lookup of a name a server gave for itself, of
// the family of the address it was connected on.
type nameQuestion struct {
	name  string
	qtype uint16
}

type nameAnswer struct {
	ans *dnsclient.Answer // nil when err is set
	nx  bool              // the name does not exist
	err error
}

// lookupNames resolves the greeting and EHLO names of the sessions, all at
// once, at most maxLookups of them (two per session: greeting and EHLO);
// names that are not host names are not asked.
func lookupNames(ctx context.Context, r *dnsclient.Resolver, sessions []*Session, maxLookups int) map[nameQuestion]*nameAnswer {
	qs := map[nameQuestion]bool{}
	for _, s := range sessions {
		for _, n := range []string{s.GreetingName, s.HELOName} {
			norm, err := probes.NormalizeName(n)
			if err != nil || len(qs) >= maxLookups {
				continue
			}
			qs[nameQuestion{name: norm, qtype: qtypeFor(s.IP)}] = true
		}
	}
	out := map[nameQuestion]*nameAnswer{}
	var mu sync.Mutex
	var tasks flight.Tasks
	for q := range qs {
		tasks.Go(func() {
			a := &nameAnswer{}
			ans, err := r.Lookup(ctx, q.name, q.qtype)
			if err != nil {
				a.err = fmt.Errorf("%s of %s: %w", dns.TypeToString[q.qtype], q.name, err)
			} else {
				a.ans, a.nx = ans, ans.NXDomain()
			}
			mu.Lock()
			out[q] = a
			mu.Unlock()
		})
	}
	tasks.Wait()
	return out
}

func qtypeFor(ip netip.Addr) uint16 {
	if ip.Unmap().Is4() {
		return dns.TypeA
	}
	return dns.TypeAAAA
}
