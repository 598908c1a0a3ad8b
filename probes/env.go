package probes

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/go-kit/log"

	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
)

// Probe is one unit of checks (mx, spf, dkim, ...). Run must return when ctx
// is done, with whatever it found until then; it never panics on anything a
// remote server sends.
type Probe interface {
	// Name is the probe's label value (mail_probe_error{probe="mx"}).
	Name() string
	Run(ctx context.Context, req *Request, env *Env) *Result
}

// Describer is implemented by probes to declare every check and metric they
// can produce, for the catalogue and for pre-declaring metric families.
type Describer interface {
	CheckSpecs() []CheckSpec
	MetricSpecs() []*MetricSpec
}

// Request is what a probe is asked to look at.
type Request struct {
	Target Target
	// OutboundIPs are the addresses the domain sends mail from, beyond its
	// MX addresses: the module's outbound_ips and the request's repeatable
	// outbound_ip= parameters, validated and without duplicates.
	OutboundIPs []netip.Addr
	// Params are the other query parameters of the probe request
	// (dkim_selector=, ...): only those a probe of the module declares
	// (ParamValidator), each valid, as a parameter no probe reads is
	// refused with a 400 before anything runs.
	Params url.Values
}

// OutboundObserver is implemented by probes that see the addresses a
// domain really sends from (the delivery probe, from the relay that
// delivered its message): the engine adds them to every request's
// OutboundIPs for the target, so outbound_ips need not be typed by hand.
type OutboundObserver interface {
	ObservedOutboundIPs(Target) []netip.Addr
}

// ParamValidator is implemented by probes that read query parameters.
type ParamValidator interface {
	// ParamNames names the query parameters the probe reads; a request
	// with a parameter that neither the request frame (module, target,
	// debug, outbound_ip) nor a probe of its module reads is refused, so
	// a caller can neither slip in something unchecked nor make one
	// request look new to min_interval.
	ParamNames() []string
	// ValidateParams says in one line what is wrong with the parameters
	// the probe reads; it ignores the others.
	ValidateParams(url.Values) error
}

// ParseOutboundIPs parses outbound_ip= values (and the module's
// outbound_ips): IPv4 or IPv6 addresses, duplicates dropped.
func ParseOutboundIPs(values []string) ([]netip.Addr, error) {
	var out []netip.Addr
	seen := map[netip.Addr]bool{}
	for _, v := range values {
		ip, err := netip.ParseAddr(strings.TrimSpace(v))
		if err != nil || ip.Zone() != "" {
			return nil, fmt.Errorf("outbound IP %q is not an IPv4 or IPv6 address", v)
		}
		ip = ip.Unmap()
		if !seen[ip] {
			seen[ip] = true
			out = append(out, ip)
		}
	}
	return out, nil
}

// Dialer opens network connections. *net.Dialer satisfies it; tests and the
// collector may substitute one that pins connections to loopback.
type Dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// AddressDialer dials IP addresses only. A host name is refused: every name
// a probe connects to must be resolved through the module's resolvers
// (Env.DNS), never around them by the system resolver. Its network policy
// keeps a crafted target or a malicious MX or MTA-STS host from turning the
// exporter against hosts it should not reach (this host, internal networks,
// cloud metadata services): see NetworkPolicy. The address dialled is the
// canonical one the decision was made on (CanonicalAddr).
type AddressDialer struct {
	Dialer net.Dialer
	// Allowed, when not empty, are the only networks connections may go
	// to; a closed block (ClosedRanges) is reachable only when a network
	// inside it is listed.
	Allowed []netip.Prefix
	// Denied networks are never connected to; they win over Allowed.
	Denied []netip.Prefix
}

// DialContext implements Dialer.
func (d *AddressDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", address, err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %q is not an IP address; resolve names through the module's resolvers first", address, host)
	}
	if err := d.Permit(ip); err != nil {
		return nil, fmt.Errorf("dial %s: %w", address, err)
	}
	canon := CanonicalAddr(ip)
	if z := ip.Zone(); z != "" {
		canon = canon.WithZone(z) // a link-local address the module allows needs its interface
	}
	return d.Dialer.DialContext(ctx, network, net.JoinHostPort(canon.String(), port))
}

// Permit says whether the dialer may connect to ip, and if not, why (a
// *DeniedError).
func (d *AddressDialer) Permit(ip netip.Addr) error {
	return NetworkPolicy{Allowed: d.Allowed, Denied: d.Denied}.Permit(ip)
}

// Env is what a probe may use to reach the world. One Env serves one probe
// request and is shared by all probes of that request, so their DNS answers
// and shared sub-results are computed once.
type Env struct {
	// DNS resolves through the module's resolvers, with a cache that lives
	// as long as the request.
	DNS *dnsclient.Resolver
	// Dialer opens SMTP and HTTPS connections.
	Dialer Dialer
	// RootCAs verifies certificates; nil means the system roots.
	RootCAs *x509.CertPool
	// Now is the clock.
	Now func() time.Time
	// Logger logs for this request (debug output collects it).
	Logger log.Logger
	// Facts computes what several probes read (MX discovery, SMTP
	// conversations, TLSA answers) once for every probe that asks.
	Facts *Facts
	// Limits bound the hosts, addresses and reverse lookups the request
	// looks at; zero fields are DefaultLimits'. Read them with Limit.
	Limits Limits
}

// Limit returns the request's limits, defaults filled in.
func (e *Env) Limit() Limits { return e.Limits.OrDefault() }

// Clock returns the time now by the Env's clock (the system clock when none
// is set).
func (e *Env) Clock() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}
