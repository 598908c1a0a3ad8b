package collector

import (
	"bytes"
	"context"
	"crypto/x509"
	_ "embed" // the built-in default config
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dkim"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dmarc"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsbl"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
	"github.com/deliverability-exporter/deliverability_exporter/probes/mtasts"
	"github.com/deliverability-exporter/deliverability_exporter/probes/mx"
	"github.com/deliverability-exporter/deliverability_exporter/probes/smtp"
	"github.com/deliverability-exporter/deliverability_exporter/probes/spf"
	"github.com/deliverability-exporter/deliverability_exporter/probes/tlsrpt"
)

// DefaultConfigYAML is the configuration used without --config.file. It is a
// copy of config.example.yml at the repository root; a test keeps the two
// identical.
//
//go:embed default_config.yml
var DefaultConfigYAML []byte

// DefaultModuleName is the module used when a probe request names none.
const DefaultModuleName = "mail"

// Config is the exporter's configuration file.
type Config struct {
	Modules map[string]*Module `yaml:"modules"`
}

// Module is a named set of probe configurations with the resources they
// share: the resolvers, the timeout and the CA bundle. A probe runs when its
// block is present.
type Module struct {
	// Timeout caps a probe request; the scrape timeout header can only
	// shorten it.
	Timeout time.Duration `yaml:"timeout"`
	// Resolvers are IP[:port] addresses; empty means /etc/resolv.conf.
	Resolvers []string `yaml:"resolvers"`
	// DNSQueryTimeout bounds one attempt of one DNS question.
	DNSQueryTimeout time.Duration `yaml:"dns_query_timeout"`
	// DNSAttempts is how many attempts a DNS question gets.
	DNSAttempts int `yaml:"dns_attempts"`
	// DNSMaxInFlight bounds the module's DNS exchanges on the wire at once,
	// across all its probe requests.
	DNSMaxInFlight int `yaml:"dns_max_in_flight"`
	// MaxRunningRequests bounds the module's probe requests that run at
	// once; more wait their turn, first come first served, within their
	// deadline.
	MaxRunningRequests int `yaml:"max_running_requests"`
	// DNSCacheMaxTTL keeps DNS answers across the module's probe requests
	// for their TTL, at most this long; 0 asks every request afresh.
	DNSCacheMaxTTL time.Duration `yaml:"dns_cache_max_ttl"`
	// CAFile adds a PEM bundle to the system roots for SMTP and MTA-STS
	// certificates.
	CAFile string `yaml:"ca_file"`
	// OutboundIPs are addresses the domains send mail from besides their
	// MX addresses (SPF authorisation, blocklists).
	OutboundIPs []string `yaml:"outbound_ips"`
	// AllowedNetworks and DeniedNetworks bound where SMTP and HTTPS
	// connections may go (CIDRs); denied wins.
	AllowedNetworks []string `yaml:"allowed_networks"`
	DeniedNetworks  []string `yaml:"denied_networks"`
	// AllowedTargets, when set, is a regular expression every target
	// (domain, host or IP as written) must match in full.
	AllowedTargets string `yaml:"allowed_targets"`
	// MinInterval maps a probe to the shortest time between two runs of
	// it for the same target: within it the last complete result is served
	// again (its age is exported), so a short scrape interval does not
	// open a port-25 connection to every MX or ask every blocklist at every
	// scrape.
	MinInterval map[string]time.Duration `yaml:"min_interval"`

	MX     *mx.Config     `yaml:"mx"`
	SPF    *spf.Config    `yaml:"spf"`
	DKIM   *dkim.Config   `yaml:"dkim"`
	DMARC  *dmarc.Config  `yaml:"dmarc"`
	MTASTS *mtasts.Config `yaml:"mtasts"`
	TLSRPT *tlsrpt.Config `yaml:"tlsrpt"`
	SMTP   *smtp.Config   `yaml:"smtp"`
	DNSBL  *dnsbl.Config  `yaml:"dnsbl"`

	// Set when the config is loaded.
	name           string
	line           int
	dns            *dnsclient.Client
	running        chan struct{} // a slot per running probe request
	rootCAs        *x509.CertPool
	probes         []probes.Probe
	allowed        []netip.Prefix
	denied         []netip.Prefix
	allowedTargets *regexp.Regexp
	recent         *recentResults
}

// DefaultModule holds the values a module gets for keys it leaves out.
var DefaultModule = Module{
	Timeout:         30 * time.Second,
	DNSQueryTimeout: dnsclient.DefaultTimeout,
	DNSAttempts:     dnsclient.DefaultAttempts,
	DNSMaxInFlight:  dnsclient.DefaultMaxInFlight,
	DNSCacheMaxTTL:  DefaultDNSCacheMaxTTL,

	MaxRunningRequests: DefaultMaxRunningRequests,
}

// DefaultMaxRunningRequests is how many probe requests of a module run at
// once. A request fans out into some 40 concurrent DNS questions, so 64
// running requests keep the default 256 DNS exchanges in flight busy;
// beyond that a request would only add goroutines waiting for the same
// exchanges (and their memory), and would finish later than if it waited
// its turn.
const DefaultMaxRunningRequests = 64

// DefaultDNSCacheMaxTTL is how long a module keeps a DNS answer at most: a
// fixed record shows within 5 minutes (plus the resolver's own caching),
// while a 15-second scrape asks each question once in 20 scrapes.
const DefaultDNSCacheMaxTTL = 5 * time.Minute

// probeBlock ties a module's probe key to its config field and probe.
type probeBlock struct {
	key      string
	present  func(*Module) bool
	enable   func(*Module)
	build    func(*Module, *Resources) probes.Probe
	describe func() probes.Describer
}

// block builds a probeBlock for a config type C whose module field is
// reached by field, with C's defaults and C's probe constructor.
func block[C any, P interface {
	probes.Probe
	probes.Describer
}](key string, field func(*Module) **C, defaults func() C, newProbe func(C) P) probeBlock {
	return probeBlock{
		key:      key,
		present:  func(m *Module) bool { return *field(m) != nil },
		enable:   func(m *Module) { c := defaults(); *field(m) = &c },
		build:    func(m *Module, _ *Resources) probes.Probe { return newProbe(**field(m)) },
		describe: func() probes.Describer { return newProbe(defaults()) },
	}
}

// probeBlocks lists the probe keys of a module, in the order probes run and
// are reported.
var probeBlocks = []probeBlock{
	block("mx", func(m *Module) **mx.Config { return &m.MX }, mx.DefaultConfig, mx.New),
	withResources(block("spf", func(m *Module) **spf.Config { return &m.SPF }, spf.DefaultConfig, spf.New),
		func(m *Module, _ *Resources) probes.Probe {
			p := spf.New(*m.SPF)
			if m.SMTP != nil {
				// spf.helo checks the names the servers give in the
				// SMTP probe's conversations (shared, not repeated).
				cfg := *m.SMTP
				p = p.WithHELOSource(func(ctx context.Context, req *probes.Request, env *probes.Env) ([]string, error) {
					sessions, err := smtp.Sessions(ctx, req, env, cfg)
					return smtp.HELONames(sessions), err
				})
			}
			return p
		}),
	block("dkim", func(m *Module) **dkim.Config { return &m.DKIM }, dkim.DefaultConfig, dkim.New),
	block("dmarc", func(m *Module) **dmarc.Config { return &m.DMARC }, dmarc.DefaultConfig, dmarc.New),
	withResources(block("mtasts", func(m *Module) **mtasts.Config { return &m.MTASTS }, mtasts.DefaultConfig, newMTASTSAlone),
		func(m *Module, r *Resources) probes.Probe {
			// In enforce mode the MX certificates are read from the smtp
			// probe's conversations when the module has one.
			return mtasts.New(*m.MTASTS, m.SMTP, r.MTASTSMemory)
		}),
	block("tlsrpt", func(m *Module) **tlsrpt.Config { return &m.TLSRPT }, tlsrpt.DefaultConfig, tlsrpt.New),
	block("smtp", func(m *Module) **smtp.Config { return &m.SMTP }, smtp.DefaultConfig, smtp.New),
	withResources(block("dnsbl", func(m *Module) **dnsbl.Config { return &m.DNSBL }, dnsbl.DefaultConfig, newDNSBLWithoutCache),
		func(m *Module, r *Resources) probes.Probe { return dnsbl.New(*m.DNSBL, r.DNSBLCache) }),
}

// Resources are what outlives a config: the process-wide caches every
// config (and every reload) shares.
type Resources struct {
	// DNSBLCache keeps blocklist answers for their TTL across requests, so
	// domains that share MX hosts do not multiply blocklist traffic.
	DNSBLCache *dnsbl.Cache
	// MTASTSMemory remembers each domain's last MTA-STS policy and id, so
	// a policy changed without a new id is noticed (mtasts.id_changed).
	MTASTSMemory *mtasts.Memory
	// Recent keeps the last result of each probe for min_interval.
	Recent *recentResults
	// smtpSessions keeps each module's SMTP conversations under its smtp
	// min_interval. Like Recent it outlives reloads, so the conversations
	// and the smtp results served beside them always age together.
	smtpSessions sessionMemories
}

type sessionMemories struct {
	mu       sync.Mutex
	byModule map[string]*smtp.SessionMemory
}

// sessionMemory returns the module's SMTP session memory for interval: the
// one it had if the interval is the same, else a new one.
func (r *Resources) sessionMemory(module string, interval time.Duration) *smtp.SessionMemory {
	r.smtpSessions.mu.Lock()
	defer r.smtpSessions.mu.Unlock()
	if m := r.smtpSessions.byModule[module]; m != nil && m.MaxAge() == interval {
		return m
	}
	if r.smtpSessions.byModule == nil {
		r.smtpSessions.byModule = map[string]*smtp.SessionMemory{}
	}
	m := smtp.NewSessionMemory(interval)
	r.smtpSessions.byModule[module] = m
	return m
}

// Bounds of the process-wide state.
const (
	DefaultDNSBLCacheEntries = 100000
	DefaultMTASTSDomains     = 100000
	DefaultRecentResults     = 100000
)

// NewResources makes the process-wide resources.
func NewResources() *Resources {
	return &Resources{
		DNSBLCache:   dnsbl.NewCache(DefaultDNSBLCacheEntries),
		MTASTSMemory: mtasts.NewMemory(DefaultMTASTSDomains),
		Recent:       newRecentResults(DefaultRecentResults),
	}
}

func withResources(b probeBlock, build func(*Module, *Resources) probes.Probe) probeBlock {
	b.build = build
	return b
}

func newDNSBLWithoutCache(c dnsbl.Config) *dnsbl.Probe { return dnsbl.New(c, nil) }

func newMTASTSAlone(c mtasts.Config) *mtasts.Probe { return mtasts.New(c, nil, nil) }

// Catalogue lists every check and every metric family a probe request can
// produce, for documentation and for the test that keeps docs/checks.md and
// docs/metrics.md true.
func Catalogue() (checks []probes.CheckSpec, metrics []*probes.MetricSpec) {
	metrics = append(metrics, FrameMetricSpecs...)
	for _, b := range probeBlocks {
		d := b.describe()
		checks = append(checks, d.CheckSpecs()...)
		metrics = append(metrics, d.MetricSpecs()...)
	}
	return checks, metrics
}

type rawModule Module

// UnmarshalYAML implements yaml.Unmarshaler: defaults first, then the file's
// values. A probe key given with no value ("mx:") enables the probe with its
// defaults, as "mx: {}" does.
func (m *Module) UnmarshalYAML(unmarshal func(any) error) error {
	var keys map[string]any
	if err := unmarshal(&keys); err != nil {
		return err
	}
	*m = DefaultModule
	if err := unmarshal((*rawModule)(m)); err != nil {
		return err
	}
	for _, b := range probeBlocks {
		if v, ok := keys[b.key]; ok && v == nil && !b.present(m) {
			b.enable(m)
		}
	}
	return nil
}

// Name is the module's name in the config.
func (m *Module) Name() string { return m.name }

// ProbeNames lists the probes the module runs.
func (m *Module) ProbeNames() []string {
	var out []string
	for _, p := range m.probes {
		out = append(out, p.Name())
	}
	return out
}

// Probes returns the module's probes in run order.
func (m *Module) Probes() []probes.Probe { return m.probes }

// NewRequest builds what the module's probes are asked: the target, the
// outbound IPs (the module's and the outbound_ip= parameters) and the other
// parameters, which each probe that reads parameters validates. The error
// says in one line what is wrong with the parameters.
func (m *Module) NewRequest(target probes.Target, params url.Values) (*probes.Request, error) {
	ips, err := probes.ParseOutboundIPs(append(append([]string(nil), m.OutboundIPs...), params["outbound_ip"]...))
	if err != nil {
		return nil, err
	}
	rest := url.Values{}
	for k, v := range params {
		if k != "outbound_ip" {
			rest[k] = v
		}
	}
	for _, p := range m.probes {
		if v, ok := p.(probes.ParamValidator); ok {
			if err := v.ValidateParams(rest); err != nil {
				return nil, err
			}
		}
	}
	return &probes.Request{Target: target, OutboundIPs: ips, Params: rest}, nil
}

// ResolverAddresses returns the resolvers the module's DNS client uses.
func (m *Module) ResolverAddresses() []string { return m.dns.Servers() }

var moduleNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// validate checks the values decoding could not and builds the module's
// DNS client, CA pool and probes.
func (m *Module) compile(res *Resources) error {
	switch {
	case m.Timeout <= 0:
		return fmt.Errorf("timeout must be positive, got %s", m.Timeout)
	case m.Timeout > 10*time.Minute:
		return fmt.Errorf("timeout %s is longer than 10m; no scrape waits that long", m.Timeout)
	case m.DNSQueryTimeout <= 0:
		return fmt.Errorf("dns_query_timeout must be positive, got %s", m.DNSQueryTimeout)
	case m.DNSQueryTimeout > m.Timeout:
		return fmt.Errorf("dns_query_timeout %s is longer than the module timeout %s", m.DNSQueryTimeout, m.Timeout)
	case m.DNSAttempts < 1 || m.DNSAttempts > 10:
		return fmt.Errorf("dns_attempts must be between 1 and 10, got %d", m.DNSAttempts)
	case m.MaxRunningRequests < 1 || m.MaxRunningRequests > 65536:
		return fmt.Errorf("max_running_requests must be between 1 and 65536, got %d", m.MaxRunningRequests)
	case m.DNSCacheMaxTTL < 0 || m.DNSCacheMaxTTL > 24*time.Hour:
		return fmt.Errorf("dns_cache_max_ttl must be between 0 and 24h, got %s", m.DNSCacheMaxTTL)
	case m.DNSMaxInFlight < 1 || m.DNSMaxInFlight > 65536:
		return fmt.Errorf("dns_max_in_flight must be between 1 and 65536, got %d", m.DNSMaxInFlight)
	}
	client, err := dnsclient.New(dnsclient.Config{
		Servers:     m.Resolvers,
		Timeout:     m.DNSQueryTimeout,
		Attempts:    m.DNSAttempts,
		MaxInFlight: m.DNSMaxInFlight,
		CacheMaxTTL: m.DNSCacheMaxTTL,
	})
	if err != nil {
		return fmt.Errorf("resolvers: %w", err)
	}
	m.dns = client
	m.running = make(chan struct{}, m.MaxRunningRequests)
	if _, err := probes.ParseOutboundIPs(m.OutboundIPs); err != nil {
		return fmt.Errorf("outbound_ips: %w", err)
	}
	if m.allowed, err = parsePrefixes("allowed_networks", m.AllowedNetworks); err != nil {
		return err
	}
	if m.denied, err = parsePrefixes("denied_networks", m.DeniedNetworks); err != nil {
		return err
	}
	m.allowedTargets = nil
	if m.AllowedTargets != "" {
		re, err := regexp.Compile("^(?:" + m.AllowedTargets + ")$")
		if err != nil {
			return fmt.Errorf("allowed_targets: %w", err)
		}
		m.allowedTargets = re
	}
	if m.CAFile != "" {
		pool, err := loadCAFile(m.CAFile)
		if err != nil {
			return err
		}
		m.rootCAs = pool
	}
	if d, ok := m.MinInterval["smtp"]; ok && d > 0 && m.SMTP != nil {
		// Within the interval the probes that read the smtp probe's
		// conversations (spf.helo, MTA-STS enforce) reuse them too,
		// rather than connect while its result is served again.
		cfg := m.SMTP.WithSessionMemory(res.sessionMemory(m.name, d))
		m.SMTP = &cfg
	}
	m.probes = nil
	for _, b := range probeBlocks {
		if b.present(m) {
			m.probes = append(m.probes, b.build(m, res))
		}
	}
	if len(m.probes) == 0 {
		return fmt.Errorf("no probes: add at least one probe block, such as \"mx: {}\"")
	}
	for _, name := range sortedKeys(m.MinInterval) {
		d := m.MinInterval[name]
		if !slices.Contains(m.ProbeNames(), name) {
			return fmt.Errorf("min_interval: %q is not a probe of this module (it has: %s)", name, strings.Join(m.ProbeNames(), ", "))
		}
		if d <= 0 || d > 24*time.Hour {
			return fmt.Errorf("min_interval: %s: %s is not between 0 and 24h", name, d)
		}
	}
	m.recent = res.Recent
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func parsePrefixes(key string, list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			ip, ipErr := netip.ParseAddr(s)
			if ipErr != nil {
				return nil, fmt.Errorf("%s: %q is not a network such as 10.0.0.0/8 or fd00::/8", key, s)
			}
			p = netip.PrefixFrom(ip, ip.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Dialer returns the connection dialer of the module's probes.
func (m *Module) Dialer() *probes.AddressDialer {
	return &probes.AddressDialer{Allowed: m.allowed, Denied: m.denied}
}

// PermitTarget says whether the module may probe the target (allowed_targets).
func (m *Module) PermitTarget(t probes.Target) error {
	if m.allowedTargets == nil || m.allowedTargets.MatchString(t.Host()) {
		return nil
	}
	return fmt.Errorf("target %q is not among this module's allowed_targets", t.Host())
}

// loadCAFile returns the system roots plus the certificates of a PEM file.
func loadCAFile(path string) (*x509.CertPool, error) {
	data, err := readBounded(path, maxCAFileBytes)
	if err != nil {
		return nil, fmt.Errorf("ca_file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("ca_file %s: no PEM certificates found", path)
	}
	return pool, nil
}

// Size bounds for files the config names: a mistake such as /dev/zero must
// end in an error, not in memory exhaustion.
const (
	maxConfigBytes = 4 << 20
	maxCAFileBytes = 16 << 20
)

func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: larger than %d MiB", path, limit>>20)
	}
	return data, nil
}

// LoadConfig reads and parses a config file, with resources of its own.
func LoadConfig(path string) (*Config, error) { return LoadConfigWith(path, NewResources()) }

// LoadConfigWith reads and parses a config file whose probes use res.
func LoadConfigWith(path string, res *Resources) (*Config, error) {
	data, err := readBounded(path, maxConfigBytes)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg, err := ParseConfigWith(data, res)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig parses config YAML strictly (unknown keys are errors naming
// their line), applies defaults and validates every module. The config gets
// resources of its own.
func ParseConfig(data []byte) (*Config, error) { return ParseConfigWith(data, NewResources()) }

// ParseConfigWith is ParseConfig with the process-wide resources the
// config's probes share with earlier and later configs.
func ParseConfigWith(data []byte, res *Resources) (*Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, cleanYAMLError(err)
	}
	if len(doc.Content) == 0 {
		return nil, errors.New("the file is empty; it needs a modules: section")
	}
	var cfg Config
	if err := decodeStrict(data, &cfg); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return nil, cleanYAMLError(err)
		}
		// A probe block rejected its values; say which module.
		return nil, attributeModuleError(doc.Content[0], err)
	}
	if len(cfg.Modules) == 0 {
		return nil, errors.New("no modules defined; add at least one under modules:")
	}
	lines := moduleLines(doc.Content[0])
	for _, name := range cfg.ModuleNames() {
		m := cfg.Modules[name]
		if m == nil {
			return nil, fmt.Errorf("line %d: module %q is empty; give it at least one probe block", lines[name], name)
		}
		m.name, m.line = name, lines[name]
		if !moduleNameRE.MatchString(name) {
			return nil, fmt.Errorf("line %d: module name %q: use letters, digits, '_', '-' and '.' (at most 64)", m.line, name)
		}
		if err := m.compile(res); err != nil {
			return nil, fmt.Errorf("line %d: module %q: %w", m.line, name, err)
		}
	}
	return &cfg, nil
}

func decodeStrict(data []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	return dec.Decode(v)
}

// Close releases what the config's modules hold open (idle DNS sockets)
// once it is no longer in force. Requests still running on it finish.
func (c *Config) Close() {
	for _, m := range c.Modules {
		if m.dns != nil {
			m.dns.Close()
		}
	}
}

// ModuleNames returns the module names in sorted order.
func (c *Config) ModuleNames() []string {
	names := make([]string, 0, len(c.Modules))
	for n := range c.Modules {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Module returns a module by name.
func (c *Config) Module(name string) (*Module, bool) {
	m, ok := c.Modules[name]
	return m, ok && m != nil
}

// moduleLines maps module names to the line they start on.
func moduleLines(root *yaml.Node) map[string]int {
	lines := map[string]int{}
	modules := mappingValue(root, "modules")
	if modules == nil || modules.Kind != yaml.MappingNode {
		return lines
	}
	for i := 0; i+1 < len(modules.Content); i += 2 {
		lines[modules.Content[i].Value] = modules.Content[i].Line
	}
	return lines
}

func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// attributeModuleError finds which module a validation error came from by
// decoding the modules one at a time.
func attributeModuleError(root *yaml.Node, err error) error {
	modules := mappingValue(root, "modules")
	if modules == nil || modules.Kind != yaml.MappingNode {
		return err
	}
	for i := 0; i+1 < len(modules.Content); i += 2 {
		text, merr := yaml.Marshal(modules.Content[i+1])
		if merr != nil {
			continue
		}
		var m Module
		if derr := decodeStrict(text, &m); derr != nil {
			return fmt.Errorf("line %d: module %q: %w", modules.Content[i].Line, modules.Content[i].Value, derr)
		}
	}
	return err
}

var rawTypeRE = regexp.MustCompile(`in type (\w+)\.raw(\w+)`)

// cleanYAMLError rewrites yaml.v3's messages for people: the alias types
// that keep decoding strict are named for what they configure ("field typo
// not found in the mx settings").
func cleanYAMLError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.ReplaceAll(msg, "unmarshal errors:\n  ", "")
	msg = rawTypeRE.ReplaceAllStringFunc(msg, func(s string) string {
		sub := rawTypeRE.FindStringSubmatch(s)
		what := sub[1] // a probe package: its block
		if what == "collector" {
			what = strings.ToLower(sub[2])
		}
		return "in the " + what + " settings"
	})
	msg = strings.ReplaceAll(msg, "in type collector.Config", "at the top level (only modules: is allowed there)")
	return errors.New(msg)
}
