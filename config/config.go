// Package config is the exporter's configuration file as data: the YAML
// model of modules and their probe blocks, its defaults and its validation,
// with errors that name the line. It builds nothing and connects to
// nothing; the collector compiles a Config into runnable modules.
package config

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/delivery"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dkim"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dmarc"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsbl"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
	"github.com/deliverability-exporter/deliverability_exporter/probes/mtasts"
	"github.com/deliverability-exporter/deliverability_exporter/probes/mx"
	"github.com/deliverability-exporter/deliverability_exporter/probes/smtp"
	"github.com/deliverability-exporter/deliverability_exporter/probes/smtpsession"
	"github.com/deliverability-exporter/deliverability_exporter/probes/spf"
	"github.com/deliverability-exporter/deliverability_exporter/probes/tlsrpt"
)

// DefaultModuleName is the module used when a probe request names none.
const DefaultModuleName = "mail"

// Default is the configuration used without --config.file: the one module
// DefaultModuleName, with every module setting at its default
// (DefaultModule) and every probe block present with its defaults, as
// "mx: {}" has them, but the opt-in ones (OptInBlock). config.example.yml at the repository root shows the
// same configuration with comments; a test holds parsing it equal to
// Default.
func Default() (*Config, error) {
	m := DefaultModule
	m.name = DefaultModuleName
	for _, name := range BlockNames() {
		if OptInBlock(name) {
			continue
		}
		if err := m.enableDefault(name); err != nil {
			return nil, err
		}
	}
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("module %q: %w", m.name, err)
	}
	return &Config{Modules: map[string]*Module{m.name: &m}, SMTPPoliteness: smtpsession.DefaultPoliteness()}, nil
}

// Config is the exporter's configuration file.
type Config struct {
	Modules map[string]*Module `yaml:"modules"`
	// SMTPPoliteness bounds the SMTP connections to each mail server, for
	// the whole process: the servers are shared by every module, so the
	// bounds are too.
	SMTPPoliteness smtpsession.PolitenessConfig `yaml:"smtp_politeness"`
	// TargetsFile names the file of targets the http_sd endpoint (/sd)
	// serves, relative to the config file; read with the config, and
	// again at every reload.
	TargetsFile string `yaml:"targets_file"`

	// Targets are the targets file's, when Load read one.
	Targets []Target `yaml:"-"`
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
	// DNSCacheMaxBytes bounds the DNS answers kept across requests.
	DNSCacheMaxBytes Bytes `yaml:"dns_cache_max_bytes"`
	// Limits is the budget of one probe request.
	Limits Limits `yaml:"limits"`
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

	// Blocks are the probe blocks; a probe runs when its block is present.
	Blocks `yaml:",inline"`

	// Set when the config is loaded.
	name string
	line int
}

// Blocks are a module's probe blocks, one field per probe, keyed by the
// probe's name (its Registration's). A new probe adds its block here and
// its Registration to the collector's list; nothing else in this package
// names a probe.
type Blocks struct {
	MX     *mx.Config     `yaml:"mx,omitempty"`
	SPF    *spf.Config    `yaml:"spf,omitempty"`
	DKIM   *dkim.Config   `yaml:"dkim,omitempty"`
	DMARC  *dmarc.Config  `yaml:"dmarc,omitempty"`
	MTASTS *mtasts.Config `yaml:"mtasts,omitempty"`
	TLSRPT *tlsrpt.Config `yaml:"tlsrpt,omitempty"`
	SMTP   *smtp.Config   `yaml:"smtp,omitempty"`
	DNSBL  *dnsbl.Config  `yaml:"dnsbl,omitempty"`
	// Delivery sends mail and needs credentials and the built-in
	// receiver: the built-in default leaves it out.
	Delivery *delivery.Config `yaml:"delivery,omitempty" optin:"true"`
}

// Block returns the block of the named probe (a pointer to its package's
// Config) when the module has it.
func (b *Blocks) Block(probe string) (any, bool) {
	v := reflect.ValueOf(b).Elem()
	for i := 0; i < v.NumField(); i++ {
		if blockKey(v.Type().Field(i)) == probe {
			f := v.Field(i)
			if f.IsNil() {
				return nil, false
			}
			return f.Interface(), true
		}
	}
	return nil, false
}

// BlockNames lists every probe block a module can have, in field order.
func BlockNames() []string {
	t := reflect.TypeOf(Blocks{})
	names := make([]string, 0, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		names = append(names, blockKey(t.Field(i)))
	}
	return names
}

// OptInBlock reports whether the named probe block is left out of the
// built-in default (its field is tagged optin:"true"): a probe that acts on
// the world, such as the delivery probe sending mail, and needs settings
// only its operator can give.
func OptInBlock(probe string) bool {
	t := reflect.TypeOf(Blocks{})
	for i := 0; i < t.NumField(); i++ {
		if blockKey(t.Field(i)) == probe {
			return t.Field(i).Tag.Get("optin") == "true"
		}
	}
	return false
}

// PresentBlocks lists the probe blocks the module has, in field order.
func (b *Blocks) PresentBlocks() []string {
	var out []string
	for _, name := range BlockNames() {
		if _, ok := b.Block(name); ok {
			out = append(out, name)
		}
	}
	return out
}

func blockKey(f reflect.StructField) string {
	key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return key
}

// enableDefault sets the named block to its defaults, as "key: {}" does:
// decoding an empty mapping runs the block's UnmarshalYAML, which fills its
// defaults.
func (b *Blocks) enableDefault(probe string) error {
	v := reflect.ValueOf(b).Elem()
	for i := 0; i < v.NumField(); i++ {
		if blockKey(v.Type().Field(i)) != probe {
			continue
		}
		f := v.Field(i)
		block := reflect.New(f.Type().Elem())
		if err := yaml.Unmarshal([]byte("{}"), block.Interface()); err != nil {
			return fmt.Errorf("%s defaults: %w", probe, err)
		}
		f.Set(block)
	}
	return nil
}

// DefaultModule holds the values a module gets for keys it leaves out.
var DefaultModule = Module{
	Timeout:          30 * time.Second,
	DNSQueryTimeout:  dnsclient.DefaultTimeout,
	DNSAttempts:      dnsclient.DefaultAttempts,
	DNSMaxInFlight:   dnsclient.DefaultMaxInFlight,
	DNSCacheMaxTTL:   DefaultDNSCacheMaxTTL,
	DNSCacheMaxBytes: dnsclient.DefaultCacheMaxBytes,
	Limits:           DefaultLimits,

	MaxRunningRequests: DefaultMaxRunningRequests,
}

// Limits is a module's budget for one probe request: however many MX
// hosts, addresses, PTR names or records a domain publishes, a request
// looks at, asks and keeps no more than this. A check that reaches a limit
// is undecided, with the limit as its reason, never a pass over the part
// looked at.
type Limits struct {
	// MXHosts is how many MX hosts (the most preferred) are looked at.
	MXHosts int `yaml:"mx_hosts"`
	// AddressesPerHost is how many addresses of one mail host are looked
	// at (pinged on port 25, asked of blocklists, reverse-resolved).
	AddressesPerHost int `yaml:"addresses_per_host"`
	// PTRQuestions is how many addresses get a reverse lookup.
	PTRQuestions int `yaml:"ptr_questions"`
	// DNSQuestions is how many distinct DNS questions one request asks.
	DNSQuestions int `yaml:"dns_questions"`
	// DNSAnswerBytes is the memory one request's DNS answers may take:
	// their wire size plus 128 bytes a record, about what they take
	// decoded.
	DNSAnswerBytes Bytes `yaml:"dns_answer_bytes"`
	// Series is how many samples one /probe answer has at most.
	Series int `yaml:"series"`
	// ReportBytes bounds a report the web history keeps; a larger one is
	// kept without its evidence, details and samples.
	ReportBytes Bytes `yaml:"report_bytes"`
}

// DefaultLimits are the limits of a module that sets none.
var DefaultLimits = Limits{
	MXHosts:          probes.DefaultLimits.MXHosts,
	AddressesPerHost: probes.DefaultLimits.AddressesPerHost,
	PTRQuestions:     probes.DefaultLimits.PTRQuestions,
	DNSQuestions:     dnsclient.DefaultMaxQuestions,
	DNSAnswerBytes:   dnsclient.DefaultMaxAnswerBytes,
	Series:           DefaultMaxSeries,
	ReportBytes:      DefaultMaxReportBytes,
}

// DefaultMaxSeries bounds the samples of one /probe answer: a mail domain
// gives 100 to 400, and the answer of one with thousands of addresses gave
// 96,000 (6.2 MB) before there were limits.
const DefaultMaxSeries = 5000

// DefaultMaxReportBytes bounds a report the web history keeps: a mail
// domain's report is 10 to 60 KB; the history keeps 100 of them.
const DefaultMaxReportBytes = 256 << 10

// Probes returns the limits the probes enforce themselves.
func (l Limits) Probes() probes.Limits {
	return probes.Limits{MXHosts: l.MXHosts, AddressesPerHost: l.AddressesPerHost, PTRQuestions: l.PTRQuestions}
}

// DNSBudget returns the limits the DNS client enforces for a request.
func (l Limits) DNSBudget() dnsclient.Budget {
	return dnsclient.Budget{Questions: l.DNSQuestions, AnswerBytes: int64(l.DNSAnswerBytes)}
}

// validate checks each limit's range.
func (l Limits) validate() error {
	count := func(v int64) string { return strconv.FormatInt(v, 10) }
	size := func(v int64) string { return Bytes(v).String() }
	for _, r := range []struct {
		key       string
		v, lo, hi int64
		format    func(int64) string
	}{
		{"mx_hosts", int64(l.MXHosts), 1, 256, count},
		{"addresses_per_host", int64(l.AddressesPerHost), 1, 1024, count},
		{"ptr_questions", int64(l.PTRQuestions), 1, 10000, count},
		{"dns_questions", int64(l.DNSQuestions), 10, 100000, count},
		{"dns_answer_bytes", int64(l.DNSAnswerBytes), 64 << 10, 1 << 30, size},
		{"series", int64(l.Series), 100, 1000000, count},
		{"report_bytes", int64(l.ReportBytes), 64 << 10, 256 << 20, size},
	} {
		if r.v < r.lo || r.v > r.hi {
			return fmt.Errorf("limits.%s must be between %s and %s, got %s", r.key, r.format(r.lo), r.format(r.hi), r.format(r.v))
		}
	}
	return nil
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
	for _, name := range BlockNames() {
		if v, ok := keys[name]; ok && v == nil {
			if _, present := m.Block(name); !present {
				if err := m.enableDefault(name); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Name is the module's name in the config.
func (m *Module) Name() string { return m.name }

// Line is the line of the config file the module starts on (0 for the
// built-in default, which has no file).
func (m *Module) Line() int { return m.line }

var moduleNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// validate checks the values decoding could not.
func (m *Module) validate() error {
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
	case m.DNSCacheMaxBytes < 1<<20 || m.DNSCacheMaxBytes > 64<<30:
		return fmt.Errorf("dns_cache_max_bytes must be between 1MiB and 64GiB, got %s", m.DNSCacheMaxBytes)
	}
	if err := m.Limits.validate(); err != nil {
		return err
	}
	for _, s := range m.Resolvers {
		if _, err := dnsclient.ServerAddress(s); err != nil {
			return fmt.Errorf("resolvers: %w", err)
		}
	}
	if _, err := probes.ParseOutboundIPs(m.OutboundIPs); err != nil {
		return fmt.Errorf("outbound_ips: %w", err)
	}
	if _, err := ParsePrefixes("allowed_networks", m.AllowedNetworks); err != nil {
		return err
	}
	if _, err := ParsePrefixes("denied_networks", m.DeniedNetworks); err != nil {
		return err
	}
	if _, err := m.TargetPattern(); err != nil {
		return err
	}
	if _, err := m.RootCAs(); err != nil {
		return err
	}
	present := m.PresentBlocks()
	if len(present) == 0 {
		return fmt.Errorf("no probes: add at least one probe block, such as \"mx: {}\"")
	}
	for _, name := range sortedKeys(m.MinInterval) {
		d := m.MinInterval[name]
		if !slices.Contains(present, name) {
			return fmt.Errorf("min_interval: %q is not a probe of this module (it has: %s)", name, strings.Join(present, ", "))
		}
		if d <= 0 || d > 24*time.Hour {
			return fmt.Errorf("min_interval: %s: %s is not between 0 and 24h", name, d)
		}
	}
	return nil
}

// TargetPattern is allowed_targets compiled to match a whole target (nil
// when every target is allowed).
func (m *Module) TargetPattern() (*regexp.Regexp, error) {
	if m.AllowedTargets == "" {
		return nil, nil
	}
	re, err := regexp.Compile("^(?:" + m.AllowedTargets + ")$")
	if err != nil {
		return nil, fmt.Errorf("allowed_targets: %w", err)
	}
	return re, nil
}

// RootCAs is the system roots plus ca_file's certificates (nil, meaning
// the system roots, without ca_file).
func (m *Module) RootCAs() (*x509.CertPool, error) {
	if m.CAFile == "" {
		return nil, nil
	}
	return loadCAFile(m.CAFile)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ParsePrefixes parses the networks of allowed_networks or denied_networks
// (key names the setting in errors); a bare address is a network of one.
func ParsePrefixes(key string, list []string) ([]netip.Prefix, error) {
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

// Load reads and parses a config file.
func Load(path string) (*Config, error) {
	data, err := readBounded(path, maxConfigBytes)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg, err := Parse(data)
	if err == nil {
		err = cfg.readTargets(filepath.Dir(path))
	}
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// Parse parses config YAML strictly (unknown keys are errors naming their
// line), applies defaults and validates every module.
func Parse(data []byte) (*Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, cleanYAMLError(err)
	}
	if len(doc.Content) == 0 {
		return nil, errors.New("the file is empty; it needs a modules: section")
	}
	cfg := Config{SMTPPoliteness: smtpsession.DefaultPoliteness()}
	if err := decodeStrict(data, &cfg); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return nil, cleanYAMLError(err)
		}
		// A probe block rejected its values; say which module.
		return nil, attributeModuleError(doc.Content[0], err)
	}
	if len(cfg.Modules) == 0 {
		return nil, errors.New("no modules defined: add at least one under the modules key")
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
		if err := m.validate(); err != nil {
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
		if what == "config" {
			what = strings.ToLower(sub[2])
		}
		return "in the " + what + " settings"
	})
	msg = strings.ReplaceAll(msg, "in type config.Config", "at the top level (only modules:, smtp_politeness: and targets_file: are allowed there)")
	msg = strings.ReplaceAll(msg, "in type config.Limits", "in the limits settings")
	return errors.New(msg)
}
