package collector

import (
	"crypto/x509"
	"fmt"
	"maps"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/config"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
)

// Module is a module of the configuration compiled to run: its DNS client,
// the slots of its running requests, its probes and the facts they supply
// one another. The config it came from is never changed by compiling.
type Module struct {
	name string
	// Config is the module as the configuration file has it.
	Config *config.Module

	dns            *dnsclient.Client
	running        chan struct{} // a slot per running probe request
	rootCAs        *x509.CertPool
	allowed        []netip.Prefix
	denied         []netip.Prefix
	allowedTargets *regexp.Regexp
	probes         []compiledProbe
	providers      map[string]probes.Provider
	recent         *recentResults
	limits         config.Limits
	// redact replaces the configuration's secrets (a blocklist's access
	// key in its zone name) in what reports, metrics and logs show; nil
	// when it has none.
	redact *strings.Replacer
}

// compiledProbe is a probe with the facts its registration declares.
type compiledProbe struct {
	probes.Probe
	needs       []string
	minInterval time.Duration
	// params are the query parameters the probe reads (ParamValidator).
	params []string
}

// compileModule builds the runnable module. What outlives a config (the
// DNS client and its kept answers, the running slots) comes from kept when
// the settings it was made with are the same, so a reload neither empties
// the DNS cache nor lets more requests run than the limits allow.
func compileModule(name string, cfg *config.Module, kept *probes.Kept, recent *recentResults) (*Module, error) {
	m := &Module{name: name, Config: cfg, recent: recent, limits: cfg.Limits, redact: secretsReplacer(cfg)}
	dnsCfg := dnsclient.Config{
		Servers:       append([]string(nil), cfg.Resolvers...),
		Timeout:       cfg.DNSQueryTimeout,
		Attempts:      cfg.DNSAttempts,
		MaxInFlight:   cfg.DNSMaxInFlight,
		CacheMaxTTL:   cfg.DNSCacheMaxTTL,
		CacheMaxBytes: int64(cfg.DNSCacheMaxBytes),
	}
	client, err := keptDNSClient(kept, name, dnsCfg)
	if err != nil {
		return nil, fmt.Errorf("resolvers: %w", err)
	}
	m.dns = client
	m.running = probes.Keep(kept, "collector.running/"+name,
		func(c chan struct{}) bool { return cap(c) == cfg.MaxRunningRequests },
		func() chan struct{} { return make(chan struct{}, cfg.MaxRunningRequests) })
	if m.allowed, err = config.ParsePrefixes("allowed_networks", cfg.AllowedNetworks); err != nil {
		return nil, err
	}
	if m.denied, err = config.ParsePrefixes("denied_networks", cfg.DeniedNetworks); err != nil {
		return nil, err
	}
	if m.allowedTargets, err = cfg.TargetPattern(); err != nil {
		return nil, err
	}
	if m.rootCAs, err = cfg.RootCAs(); err != nil {
		return nil, err
	}
	m.providers = map[string]probes.Provider{}
	for _, reg := range Registrations {
		block, ok := cfg.Block(reg.Name)
		if !ok {
			continue
		}
		setup := probes.Setup{Module: name, MinInterval: cfg.MinInterval[reg.Name], Kept: kept, Block: cfg.Block}
		p, err := reg.Build(block, setup)
		if err != nil {
			return nil, err
		}
		reuse := setup.MinInterval
		if sp, ok := p.(probes.SelfPaced); ok && sp.PacesItself() {
			reuse = 0 // it reads min_interval itself and answers every run
		}
		cp := compiledProbe{Probe: p, needs: reg.Needs, minInterval: reuse}
		if v, ok := p.(probes.ParamValidator); ok {
			cp.params = v.ParamNames()
		}
		m.probes = append(m.probes, cp)
		if reg.Provides != nil {
			for fact, provider := range reg.Provides(block, setup) {
				m.providers[fact] = provider
			}
		}
	}
	if len(m.probes) == 0 {
		return nil, fmt.Errorf("no probes: add at least one probe block, such as \"mx: {}\"")
	}
	return m, nil
}

// keptDNS is a module's DNS client with the settings it was made with.
type keptDNS struct {
	cfg    dnsclient.Config
	client *dnsclient.Client
}

func keptDNSClient(kept *probes.Kept, module string, cfg dnsclient.Config) (*dnsclient.Client, error) {
	var err error
	k := probes.Keep(kept, "collector.dns/"+module,
		func(k *keptDNS) bool { return k.client != nil && sameDNSConfig(k.cfg, cfg) },
		func() *keptDNS {
			c, e := dnsclient.New(cfg)
			err = e
			return &keptDNS{cfg: cfg, client: c}
		})
	if err != nil {
		return nil, err
	}
	return k.client, nil
}

func sameDNSConfig(a, b dnsclient.Config) bool {
	return slices.Equal(a.Servers, b.Servers) && a.Timeout == b.Timeout && a.Attempts == b.Attempts &&
		a.MaxInFlight == b.MaxInFlight && a.CacheMaxTTL == b.CacheMaxTTL && a.CacheMaxBytes == b.CacheMaxBytes
}

// DNSCacheStats returns what the module's DNS client keeps across
// requests.
func (m *Module) DNSCacheStats() dnsclient.CacheStats { return m.dns.CacheStats() }

// Limits returns the module's budget for one probe request.
func (m *Module) Limits() config.Limits { return m.limits }

// Name is the module's name in the config.
func (m *Module) Name() string { return m.name }

// ProbeNames lists the probes the module runs, in report order.
func (m *Module) ProbeNames() []string {
	out := make([]string, 0, len(m.probes))
	for _, p := range m.probes {
		out = append(out, p.Name())
	}
	return out
}

// Timeout caps a probe request of the module.
func (m *Module) Timeout() time.Duration { return m.Config.Timeout }

// ResolverAddresses returns the resolvers the module's DNS client uses.
func (m *Module) ResolverAddresses() []string { return m.dns.Servers() }

// Dialer returns the connection dialer of the module's probes.
func (m *Module) Dialer() *probes.AddressDialer {
	return &probes.AddressDialer{Allowed: m.allowed, Denied: m.denied}
}

// PermitTarget says whether the module may probe the target
// (allowed_targets). The pattern is matched against the target as reports
// write it (Target.String): a domain alone, a host with its port
// ("mx1.example.com:25"), an IP address with its port when that is not 25
// ("192.0.2.1", "[2001:db8::1]:2525"). So a pattern that names no port
// admits no host:port target, and one that does says which ports.
func (m *Module) PermitTarget(t probes.Target) error { return m.permitTarget(t.String()) }

// permitTarget is PermitTarget for a target as reports write it.
func (m *Module) permitTarget(target string) error {
	if m.allowedTargets == nil || m.allowedTargets.MatchString(target) {
		return nil
	}
	return fmt.Errorf("target %q is not among this module's allowed_targets", target)
}

// FrameParams are the query parameters every probe request may give,
// whatever its module: the module, the target, debug=true and the
// repeatable outbound_ip=. The others are the probes' (ParamValidator).
var FrameParams = []string{"module", "target", "debug", outboundIPParam}

const outboundIPParam = "outbound_ip"

// maxOutboundIPParams bounds the outbound_ip= values of one request: the
// spf probe evaluates check_host() for at most 64 addresses and the dnsbl
// probe asks lists about at most 64, so more only cost memory (a request
// line can carry tens of thousands, each copied into every probe's
// evidence and the min_interval key) and leave checks undecided.
const maxOutboundIPParams = 64

// NewRequest builds what the module's probes are asked: the target, the
// outbound IPs (the module's and the outbound_ip= parameters) and the other
// parameters, which each probe that reads parameters validates. params
// holds no frame parameter but outbound_ip; one that no probe of the module
// reads is refused. The error says in one line what is wrong with the
// parameters.
func (m *Module) NewRequest(target probes.Target, params url.Values) (*probes.Request, error) {
	if n := len(params[outboundIPParam]); n > maxOutboundIPParams {
		return nil, fmt.Errorf("%s: %d given; at most %d", outboundIPParam, n, maxOutboundIPParams)
	}
	ips, err := probes.ParseOutboundIPs(append(append([]string(nil), m.Config.OutboundIPs...), params[outboundIPParam]...))
	if err != nil {
		return nil, err
	}
	rest, err := m.probeParams(params)
	if err != nil {
		return nil, err
	}
	return &probes.Request{Target: target, OutboundIPs: withObserved(ips, m.probes, target), Params: rest}, nil
}

// probeParams returns the parameters of params the module's probes read,
// each validated by its probe; outbound_ip is left to NewRequest, and any
// other parameter no probe of the module reads is refused.
func (m *Module) probeParams(params url.Values) (url.Values, error) {
	read := map[string]bool{}
	for _, p := range m.probes {
		for _, name := range p.params {
			read[name] = true
		}
	}
	rest := url.Values{}
	var unknown []string
	for k, v := range params {
		switch {
		case k == outboundIPParam:
		case read[k]:
			rest[k] = v
		default:
			unknown = append(unknown, strconv.Quote(k))
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		known := slices.Sorted(maps.Keys(read))
		reads := "no parameters of their own"
		if len(known) > 0 {
			reads = strings.Join(known, ", ")
		}
		return nil, fmt.Errorf("unknown query parameter %s: the probes of module %q read %s, and every probe request may give %s",
			strings.Join(unknown, ", "), m.name, reads, strings.Join(FrameParams, ", "))
	}
	for _, p := range m.probes {
		if v, ok := p.Probe.(probes.ParamValidator); ok {
			if err := v.ValidateParams(rest); err != nil {
				return nil, err
			}
		}
	}
	return rest, nil
}

// withObserved adds the outbound addresses the module's probes have seen
// the target send from (the delivery probe's relay), so the spf and dnsbl
// probes judge them without outbound_ips typed by hand.
func withObserved(ips []netip.Addr, ps []compiledProbe, target probes.Target) []netip.Addr {
	for _, p := range ps {
		o, ok := p.Probe.(probes.OutboundObserver)
		if !ok {
			continue
		}
		for _, ip := range o.ObservedOutboundIPs(target) {
			if !slices.Contains(ips, ip) {
				ips = append(ips, ip)
			}
		}
	}
	return ips
}

// secretsReplacer replaces each secret of the module's configuration by
// probes.Redacted, or is nil when it has none.
func secretsReplacer(cfg *config.Module) *strings.Replacer {
	var pairs []string
	for _, secret := range cfg.DNSBL.Secrets() {
		pairs = append(pairs, secret, probes.Redacted)
	}
	if len(pairs) == 0 {
		return nil
	}
	return strings.NewReplacer(pairs...)
}

// Redact returns s with the module's secrets (a blocklist's access key)
// replaced, for text the module's requests wrote that reports show: their
// log lines.
func (m *Module) Redact(s string) string {
	if m.redact == nil {
		return s
	}
	return m.redact.Replace(s)
}
