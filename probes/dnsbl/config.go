package dnsbl

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// Kind says what a list holds and how its answers count.
type Kind string

// The kinds of list.
const (
	// KindIP is a blocklist of addresses (RFC 5782 §2): reversed IPv4
	// octets or IPv6 nibbles under the zone.
	KindIP Kind = "ip"
	// KindDomain is a blocklist of names (RFC 5782 §2.3): the name under
	// the zone.
	KindDomain Kind = "domain"
	// KindAllow is an allowlist of addresses, queried like an IP list
	// (list.dnswl.org); a listing is good news.
	KindAllow Kind = "allow"
)

// List is one blocklist or allowlist.
type List struct {
	// Zone is the list's DNS zone ("zen.spamhaus.org").
	Zone string `yaml:"zone"`
	// Kind is ip, domain or allow.
	Kind Kind `yaml:"kind"`
	// Name is shown in reports instead of the zone; optional.
	Name string `yaml:"name,omitempty"`
	// IPv6 says the list accepts IPv6 subjects; IPv6 addresses are only
	// sent to such lists.
	IPv6 bool `yaml:"ipv6,omitempty"`
	// Codes maps return addresses to a short meaning ("127.0.0.10": "PBL").
	// An answer in 127.0.0.0/8 that is neither here nor in ErrorCodes is
	// still a listing, reported with the meaning "unmapped".
	Codes map[string]string `yaml:"codes,omitempty"`
	// ErrorCodes are return addresses that mean the list refused or could
	// not answer the query (Spamhaus 127.255.255.254: query through a
	// public resolver). They are never a listing.
	ErrorCodes map[string]string `yaml:"error_codes,omitempty"`
	// PrivateAddresses asks the list about loopback, private (RFC 1918,
	// RFC 4193) and link-local addresses too, which are left out by
	// default because no public list holds them: for an organisation's own
	// list (an rbldnsd zone of its address space). ip and allow lists only.
	PrivateAddresses bool `yaml:"private_addresses,omitempty"`
	// DailyQueryBudget bounds the queries the process sends the list in
	// any 24 hours (0: no bound), as lists meter free use by the day;
	// answers from the process-wide cache do not count. When it is spent
	// the list's questions are not asked and its checks are undecided
	// until it refills.
	DailyQueryBudget int `yaml:"daily_query_budget,omitempty"`
	// TestPoint is the name a domain list must list for dnsbl.list_health,
	// for lists that document their own test entry instead of RFC 5782's
	// "test" (Spamhaus DBL: dbltest.com). Empty: "test".
	TestPoint string `yaml:"test_point,omitempty"`
	// Severity is how much a listing on a blocklist harms mail from a
	// subject that sends (see Severity), for the codes Severities does not
	// name and for codes the configuration does not map; empty: critical.
	// An allowlist has none.
	Severity Severity `yaml:"severity,omitempty"`
	// Severities gives return codes of Codes a severity other than the
	// list's ("127.0.0.10": info).
	Severities map[string]Severity `yaml:"severities,omitempty"`
}

// Severity is how much a listing harms the mail of the subject listed, as
// the alert rules route on it (the severity label of mail_dnsbl_listed),
// for a subject that sends mail; one that only receives (a provider's MX
// host) is one step lower (Lower).
type Severity string

// The severities.
const (
	// SeverityCritical: receivers that use the list refuse or junk the
	// subject's mail, for spam or abuse seen from it: it pages.
	SeverityCritical Severity = "critical"
	// SeverityWarning: the list asks receivers to score or tag rather than
	// refuse, or lists by policy (Spamhaus PBL) or for the abuse of a
	// legitimate domain: a ticket.
	SeverityWarning Severity = "warning"
	// SeverityInfo: the list says to expect false positives, or lists
	// whole networks for their neighbours' spam (URIBL grey and red,
	// UCEPROTECT levels 2 and 3): shown, never failing a check.
	SeverityInfo Severity = "info"
)

// rank orders the severities, info lowest; 0 for an unknown one.
func (s Severity) rank() int {
	switch s {
	case SeverityCritical:
		return 3
	case SeverityWarning:
		return 2
	case SeverityInfo:
		return 1
	}
	return 0
}

// Lower is the severity one step down (info stays info): a listing of a
// subject that only receives mail does not stop the mail senders deliver
// to it (they do not ask lists about the server they deliver to), but
// says that it, or its network, is seen sending what it should not.
func (s Severity) Lower() Severity {
	switch s {
	case SeverityCritical:
		return SeverityWarning
	}
	return SeverityInfo
}

// MXSends says whether the addresses (and names) of a domain's MX hosts
// send mail as well as receive it, which decides how much their listings
// matter (Severity.Lower).
type MXSends string

// The values of mx_sends.
const (
	// MXSendsAuto: the domain's own MX hosts (named under it or its
	// organisational domain, or the implicit MX) may send, as the servers
	// of a domain that runs its own mail usually do; a provider's MX hosts
	// (aspmx.l.google.com for a Google Workspace customer) only receive
	// for it.
	MXSendsAuto MXSends = "auto"
	// MXSendsAlways: every MX host also sends.
	MXSendsAlways MXSends = "always"
	// MXSendsNever: the MX hosts only receive; mail leaves through the
	// outbound addresses (outbound_ips, outbound_ip=).
	MXSendsNever MXSends = "never"
)

// Display is the list's name for reports: its name, or its zone.
func (l *List) Display() string {
	if l.Name != "" {
		return l.Name + " (" + l.Zone + ")"
	}
	return l.Zone
}

// Config is the `dnsbl:` block of a module.
type Config struct {
	// Lists are the blocklists and allowlists asked.
	Lists []List `yaml:"lists"`
	// MaxConcurrency bounds the queries in flight for one probe request.
	MaxConcurrency int `yaml:"max_concurrency"`
	// CheckHealth asks each list's RFC 5782 §5 test points alongside the
	// subjects.
	CheckHealth bool `yaml:"check_health"`
	// MXSends says whether the MX hosts' addresses and names send mail,
	// for the severity of their listings: auto, always or never.
	MXSends MXSends `yaml:"mx_sends"`
}

// Limits of a configuration. The zone, subject, code and meaning of a list
// become label values; these keep their number and size bounded.
const (
	// DefaultMaxConcurrency lets 10 lists x 20 subjects (and the test
	// points) go out in one round; the module's dns_max_in_flight still
	// bounds what the process has on the wire.
	DefaultMaxConcurrency = 256
	maxConcurrencyLimit   = 1024
	maxLists              = 64
	maxCodesPerList       = 256
	maxTextLength         = 80
	maxDailyQueryBudget   = 1_000_000_000
)

// UnmarshalYAML fills the defaults first, so keys left out keep them, then
// decodes into an alias type without this method (so decoding does not
// recurse) and with the decoder's strictness intact: unknown keys are still
// rejected under KnownFields(true). A `lists:` given replaces the default
// lists as a whole.
func (c *Config) UnmarshalYAML(unmarshal func(any) error) error {
	type rawConfig Config
	*c = DefaultConfig()
	if err := unmarshal((*rawConfig)(c)); err != nil {
		return err
	}
	c.normalize()
	return c.Validate()
}

// normalize writes zones the way queries use them: lower case, without the
// trailing dot. Validate rejects what cannot be normalized.
func (c *Config) normalize() {
	for i := range c.Lists {
		l := &c.Lists[i]
		if z, err := probes.NormalizeName(l.Zone); err == nil {
			l.Zone = z
		}
		l.Kind = Kind(strings.ToLower(string(l.Kind)))
		l.Severity = Severity(strings.ToLower(string(l.Severity)))
		if l.Severity == "" && l.Kind != KindAllow {
			l.Severity = SeverityCritical
		}
		for code, sev := range l.Severities {
			l.Severities[code] = Severity(strings.ToLower(string(sev)))
		}
	}
	c.MXSends = MXSends(strings.ToLower(string(c.MXSends)))
	if c.MXSends == "" {
		c.MXSends = MXSendsAuto
	}
}

// Validate says in one line what is wrong with the configuration.
func (c Config) Validate() error {
	if c.MaxConcurrency < 1 || c.MaxConcurrency > maxConcurrencyLimit {
		return fmt.Errorf("dnsbl: max_concurrency must be between 1 and %d, got %d", maxConcurrencyLimit, c.MaxConcurrency)
	}
	if len(c.Lists) == 0 {
		// Every check would be skipped, and the module's probe_success
		// would say the domain is on no blocklist with none asked.
		return errors.New("dnsbl: lists is empty, so nothing would be checked: name at least one list, leave lists out for the default lists, or remove the dnsbl block")
	}
	switch c.MXSends {
	case MXSendsAuto, MXSendsAlways, MXSendsNever, "":
	default:
		return fmt.Errorf("dnsbl: mx_sends %q: give auto, always or never", string(c.MXSends))
	}
	if len(c.Lists) > maxLists {
		return fmt.Errorf("dnsbl: %d lists configured; at most %d are allowed", len(c.Lists), maxLists)
	}
	seen := map[string]int{}
	for i := range c.Lists {
		l := &c.Lists[i]
		if err := l.validate(); err != nil {
			if l.Zone == "" {
				return fmt.Errorf("dnsbl: lists[%d]: %w", i, err)
			}
			return fmt.Errorf("dnsbl: lists[%d] (%s): %w", i, l.Zone, err)
		}
		if j, dup := seen[l.Zone]; dup {
			return fmt.Errorf("dnsbl: lists[%d]: zone %s is already lists[%d]", i, l.Zone, j)
		}
		seen[l.Zone] = i
	}
	return nil
}

func (l *List) validate() error {
	if l.Zone == "" {
		return errors.New("zone is missing")
	}
	z, err := probes.NormalizeName(l.Zone)
	if err != nil {
		return fmt.Errorf("zone %q: %w", l.Zone, err)
	}
	if z != l.Zone {
		return fmt.Errorf("zone %q: write it as %q", l.Zone, z)
	}
	// The longest query is an IPv6 address: 64 characters of nibbles
	// before the zone, within DNS's 253 (RFC 1035 §2.3.4).
	if len(z) > 253-64 {
		return fmt.Errorf("zone is %d characters long; with a query name in front it would exceed DNS's 253", len(z))
	}
	switch l.Kind {
	case KindIP, KindDomain, KindAllow:
	case "":
		return errors.New("kind is missing: give ip, domain or allow")
	default:
		return fmt.Errorf("kind %q: give ip, domain or allow", string(l.Kind))
	}
	if l.IPv6 && l.Kind == KindDomain {
		return errors.New("ipv6 applies to ip and allow lists; a domain list is asked about names")
	}
	if l.PrivateAddresses && l.Kind == KindDomain {
		return errors.New("private_addresses applies to ip and allow lists; a domain list is asked about names")
	}
	if l.DailyQueryBudget < 0 || l.DailyQueryBudget > maxDailyQueryBudget {
		return fmt.Errorf("daily_query_budget %d: want 0 (no budget) to %d", l.DailyQueryBudget, maxDailyQueryBudget)
	}
	if err := validateText("name", l.Name); err != nil {
		return err
	}
	if l.TestPoint != "" {
		if l.Kind != KindDomain {
			return errors.New("test_point applies to domain lists; IP lists are tested at 127.0.0.2 (RFC 5782 §5)")
		}
		tp, err := probes.NormalizeName(l.TestPoint)
		if err != nil && l.TestPoint != testListedName {
			return fmt.Errorf("test_point %q: %w", l.TestPoint, err)
		}
		if err == nil && tp != l.TestPoint {
			return fmt.Errorf("test_point %q: write it as %q", l.TestPoint, tp)
		}
	}
	if len(l.Codes)+len(l.ErrorCodes) > maxCodesPerList {
		return fmt.Errorf("%d codes; at most %d are allowed", len(l.Codes)+len(l.ErrorCodes), maxCodesPerList)
	}
	for _, code := range sortedKeys(l.Codes) {
		if err := validateCode(code); err != nil {
			return fmt.Errorf("codes: %w", err)
		}
		if code == "127.0.0.1" {
			return errors.New(`codes: 127.0.0.1 is RFC 5782's test point that no list may contain; a list that answers it to refuse queries (URIBL, SURBL) belongs under error_codes`)
		}
		if err := validateMeaning(code, l.Codes[code]); err != nil {
			return fmt.Errorf("codes: %w", err)
		}
		if _, both := l.ErrorCodes[code]; both {
			return fmt.Errorf("%s is both a listing code and an error code", code)
		}
	}
	for _, code := range sortedKeys(l.ErrorCodes) {
		if err := validateCode(code); err != nil {
			return fmt.Errorf("error_codes: %w", err)
		}
		if err := validateMeaning(code, l.ErrorCodes[code]); err != nil {
			return fmt.Errorf("error_codes: %w", err)
		}
	}
	return l.validateSeverities()
}

// validateSeverities checks the list's severity and its codes'.
func (l *List) validateSeverities() error {
	if l.Kind == KindAllow {
		if l.Severity != "" || len(l.Severities) > 0 {
			return errors.New("severity and severities apply to blocklists; a listing on an allowlist is good news")
		}
		return nil
	}
	if err := l.Severity.validate(); err != nil {
		return fmt.Errorf("severity: %w", err)
	}
	codes := make([]string, 0, len(l.Severities))
	for code := range l.Severities {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	for _, code := range codes {
		if _, ok := l.Codes[code]; !ok {
			return fmt.Errorf("severities: %s is not in codes; give it a meaning there (a code without one is a listing at the list's severity)", code)
		}
		if err := l.Severities[code].validate(); err != nil {
			return fmt.Errorf("severities: %s: %w", code, err)
		}
	}
	return nil
}

func (s Severity) validate() error {
	if s != "" && s.rank() == 0 {
		return fmt.Errorf("%q: give critical, warning or info", string(s))
	}
	return nil
}

// validateCode accepts an IPv4 address in 127.0.0.0/8, written the way
// answers are compared (RFC 5782 §2.1: lists answer in 127.0.0.0/8).
func validateCode(code string) error {
	ip, err := netip.ParseAddr(code)
	if err != nil || !ip.Is4() {
		return fmt.Errorf("%q is not an IPv4 address such as 127.0.0.2", code)
	}
	if !loopback.Contains(ip) {
		return fmt.Errorf("%s is outside 127.0.0.0/8; lists answer within it (RFC 5782 §2.1), and any other answer is always an error", code)
	}
	return nil
}

func validateMeaning(code, meaning string) error {
	if meaning == "" {
		return fmt.Errorf("%s has no meaning; give a short one such as SBL", code)
	}
	if err := validateText("meaning of "+code, meaning); err != nil {
		return err
	}
	return nil
}

// validateText keeps names and meanings fit for a label value and a report
// line: one line of printable text of bounded length.
func validateText(what, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s is not valid UTF-8", what)
	}
	if n := utf8.RuneCountInString(s); n > maxTextLength {
		return fmt.Errorf("%s is %d characters long; at most %d", what, n, maxTextLength)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("%s contains %q; use one line of printable text", what, r)
		}
	}
	if s != strings.TrimSpace(s) {
		return fmt.Errorf("%s %q has leading or trailing spaces", what, s)
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var loopback = netip.MustParsePrefix("127.0.0.0/8")
