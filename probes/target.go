package probes

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// TargetKind says what a target names.
type TargetKind int

// The kinds of target. A bare name is a mail domain (MX discovery, then every
// MX host); a name with a port is one mail host; an IP address (with or
// without a port) is one mail server address.
const (
	KindDomain TargetKind = iota
	KindHost
	KindIP
)

func (k TargetKind) String() string {
	switch k {
	case KindHost:
		return "host"
	case KindIP:
		return "ip"
	}
	return "domain"
}

// MarshalText renders the kind by name in JSON reports.
func (k TargetKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// DefaultSMTPPort is the port mail servers receive on.
const DefaultSMTPPort = 25

// Target is a parsed probe target.
type Target struct {
	Kind TargetKind `json:"kind"`
	// Name is the domain or host in lower-case A-label form without the
	// trailing dot; empty for an IP target.
	Name string `json:"name,omitempty"`
	// IP is set for an IP target.
	IP netip.Addr `json:"ip,omitzero"`
	// Port is the SMTP port to connect to (25 unless the target named one).
	Port int `json:"port"`
}

// String renders the target the way it was meant: name, name:port or IP.
func (t Target) String() string {
	host := t.Name
	if t.Kind == KindIP {
		host = t.IP.String()
	}
	if t.Port != DefaultSMTPPort || (t.Kind == KindHost && t.Name != "") {
		return net.JoinHostPort(host, strconv.Itoa(t.Port))
	}
	return host
}

// Host returns the host name or the IP address as text.
func (t Target) Host() string {
	if t.Kind == KindIP {
		return t.IP.String()
	}
	return t.Name
}

// NotADomain says why checks of what a mail domain publishes (what:
// "DKIM keys", "DMARC records") do not apply to t, or "" when t is a mail
// domain.
func (t Target) NotADomain(what string) string {
	switch t.Kind {
	case KindHost:
		return "the target is one mail host (" + t.String() + "); " + what + " belong to a mail domain"
	case KindIP:
		return "the target is an IP address; " + what + " belong to a mail domain"
	}
	return ""
}

const (
	maxNameLength  = 253
	maxLabelLength = 63
)

// ParseTarget parses the target parameter of a probe request: a domain
// ("example.com"), a host with a port ("mx1.example.com:25"), or an IP address
// ("192.0.2.1", "2001:db8::1", "[2001:db8::1]:25"). Internationalised names
// are converted to A-labels. The error says in one line what is wrong.
func ParseTarget(raw string) (Target, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return Target{}, errors.New("target is empty: give a domain, host:port or IP address")
	}
	if len(s) > 300 {
		return Target{}, fmt.Errorf("target is %d characters long; a domain name has at most %d", len(s), maxNameLength)
	}
	if strings.Contains(s, "://") || strings.ContainsAny(s, "/?#@ \t\r\n") {
		return Target{}, fmt.Errorf("target %q is not a domain, host:port or IP address (URLs, paths and e-mail addresses are not accepted)", s)
	}
	if ip, err := netip.ParseAddr(s); err == nil {
		return ipTarget(s, ip, DefaultSMTPPort)
	}
	host, portText, hasPort := splitHostPort(s)
	port := DefaultSMTPPort
	if hasPort {
		p, err := strconv.Atoi(portText)
		if err != nil || p < 1 || p > 65535 {
			return Target{}, fmt.Errorf("target %q has an invalid port %q (want 1-65535)", s, portText)
		}
		port = p
		if ip, err := netip.ParseAddr(host); err == nil {
			return ipTarget(s, ip, port)
		}
	}
	name, err := NormalizeName(host)
	if err != nil {
		return Target{}, fmt.Errorf("target %q: %w", s, err)
	}
	kind := KindDomain
	if hasPort {
		kind = KindHost
	}
	return Target{Kind: kind, Name: name, Port: port}, nil
}

func ipTarget(raw string, ip netip.Addr, port int) (Target, error) {
	if ip.Zone() != "" {
		return Target{}, fmt.Errorf("target %q: IPv6 zones are not supported", raw)
	}
	return Target{Kind: KindIP, IP: ip.Unmap(), Port: port}, nil
}

// splitHostPort splits "host:port" and "[v6]:port"; a string without a port
// (including a bare IPv6 address, handled before) comes back whole.
func splitHostPort(s string) (host, port string, ok bool) {
	if strings.HasPrefix(s, "[") {
		h, p, err := net.SplitHostPort(s)
		if err != nil {
			return s, "", false
		}
		return h, p, true
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 && strings.Count(s, ":") == 1 {
		return s[:i], s[i+1:], true
	}
	return s, "", false
}

// NormalizeName checks that s is a host or domain name and returns it in
// lower-case A-label form without the trailing dot. Underscores are refused:
// a target names a mail domain or host, never a service label.
func NormalizeName(s string) (string, error) {
	s = strings.TrimSuffix(s, ".")
	if s == "" {
		return "", errors.New("empty name")
	}
	if !utf8.ValidString(s) {
		return "", errors.New("not valid UTF-8")
	}
	for _, label := range strings.Split(s, ".") {
		if len(label) > maxLabelLength {
			return "", fmt.Errorf("label %q is %d characters long; DNS allows at most %d", shorten(label), len(label), maxLabelLength)
		}
	}
	if isASCII(s) {
		// Judge plain names by the DNS rules first: clearer messages than
		// the IDNA library's.
		for _, label := range strings.Split(strings.ToLower(s), ".") {
			if err := checkLabel(label); err != nil {
				return "", err
			}
		}
	}
	ascii, err := idna.Lookup.ToASCII(s)
	if err != nil {
		return "", fmt.Errorf("not a valid domain name: %w", err)
	}
	ascii = strings.ToLower(ascii)
	if len(ascii) > maxNameLength {
		return "", fmt.Errorf("name is %d characters long; DNS allows at most %d", len(ascii), maxNameLength)
	}
	labels := strings.Split(ascii, ".")
	if len(labels) < 2 {
		return "", fmt.Errorf("%q has a single label; give a full domain name such as example.com", ascii)
	}
	for _, label := range labels {
		if err := checkLabel(label); err != nil {
			return "", err
		}
	}
	if isAllDigits(labels[len(labels)-1]) {
		return "", fmt.Errorf("%q is neither an IP address nor a domain name (a top-level domain is never numeric)", ascii)
	}
	return ascii, nil
}

func checkLabel(label string) error {
	switch {
	case label == "":
		return errors.New("empty label (two dots in a row)")
	case len(label) > maxLabelLength:
		return fmt.Errorf("label %q is %d characters long; DNS allows at most %d", shorten(label), len(label), maxLabelLength)
	case label[0] == '-' || label[len(label)-1] == '-':
		return fmt.Errorf("label %q starts or ends with a hyphen", label)
	}
	for i := 0; i < len(label); i++ {
		c := label[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("label %q contains %q; host names use letters, digits and hyphens", label, string(c))
		}
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func isAllDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func shorten(s string) string {
	if len(s) > 20 {
		return s[:20] + "…"
	}
	return s
}
