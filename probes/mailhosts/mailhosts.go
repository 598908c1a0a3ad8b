// Package mailhosts finds the mail servers of a target: the MX hosts of a
// domain (or the one host or IP named) and their addresses. Every probe that
// looks at mail servers starts here; the set is computed once per probe
// request and shared.
//
// A domain that publishes no MX records but has addresses of its own
// receives mail there: RFC 5321 §5.1 makes the domain itself its implicit
// MX host. The set then holds that one host, marked Implicit, and every
// probe looks at it exactly as at an MX host (its reverse DNS, SMTP and
// TLS, blocklists, whether SPF authorises it), saying in its report that
// it is the implicit MX (ImplicitNote). mx.present still fails: a domain
// that receives mail should say so with an MX record.
//
// Each host also says whose it is (Host.OwnOrganization; organization.go
// has the rule): the domain's own organization's, or a provider's.
package mailhosts

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/internal/flight"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
)

// Set is the mail servers of a target.
type Set struct {
	Target probes.Target
	// MX is the MX answer for a domain target (nil for host and IP targets).
	MX *dnsclient.Answer
	// NullMX is true when the domain publishes "0 ." (RFC 7505): it
	// receives no mail.
	NullMX bool
	// Hosts are the MX hosts in preference order (then by name), or the
	// one host of a host target. Null MX records are not hosts. A domain
	// without MX records that has addresses has one host here, itself,
	// marked Implicit.
	Hosts []*Host
	// IPs lists the address of an IP target.
	IPs []netip.Addr
	// Omitted counts MX hosts beyond the request's limit (MaxHosts) that
	// were not looked at.
	Omitted int
	// Organization is the organizational domain of a domain or host
	// target ("" for an IP target, or a name that has none).
	Organization string
	// MaxHosts and MaxAddrsPerHost are the request's limits the set was
	// made with (probes.Limits): a domain publishing hundreds of MX records
	// or a host name with thousands of addresses must not turn one probe
	// request into thousands of questions and connections.
	MaxHosts, MaxAddrsPerHost int
}

// Host is one mail host and what its name resolves to.
type Host struct {
	Name       string // lower case, without the trailing dot
	Preference uint16
	// IPLiteral is true when the MX target is an address written as a name
	// ("192.0.2.1."), which RFC 5321 does not allow.
	IPLiteral bool
	A, AAAA   *dnsclient.Answer
	// Err is why A or AAAA could not be resolved (SERVFAIL, timeout).
	Err error
	// Implicit is true for the implicit MX (RFC 5321 §5.1): the domain
	// publishes no MX records, so senders deliver to its own A/AAAA
	// addresses, with preference 0. Name is then the domain's name.
	Implicit bool
	// Organization is the organizational domain of Name ("" for an IP
	// literal).
	Organization string
	// OwnOrganization is true when the host is named under the target or
	// under the target's organizational domain: the domain runs it, or
	// someone it delegated a name to (see organization.go). The host of a
	// host target and the implicit MX are the target's own; an IP
	// literal is nobody's.
	OwnOrganization bool
	// MaxAddrs bounds the addresses Addrs returns (0: no bound); the
	// request's limits.addresses_per_host when Discover made the host.
	MaxAddrs int
}

// Addrs returns the host's IPv4 then IPv6 addresses, at most MaxAddrs of
// them (OmittedAddrs says how many more the host has).
func (h *Host) Addrs() []netip.Addr {
	limit := h.MaxAddrs
	if limit <= 0 {
		limit = -1
	}
	var out []netip.Addr
	if h.A != nil {
		out = h.A.FirstAddrs(limit)
	}
	if h.AAAA != nil && (limit < 0 || len(out) < limit) {
		rest := -1
		if limit >= 0 {
			rest = limit - len(out)
		}
		out = append(out, h.AAAA.FirstAddrs(rest)...)
	}
	return out
}

// OmittedAddrs counts the host's addresses beyond MaxAddrs, which no probe
// looks at.
func (h *Host) OmittedAddrs() int {
	if h.MaxAddrs <= 0 {
		return 0
	}
	n := 0
	for _, a := range []*dnsclient.Answer{h.A, h.AAAA} {
		if a != nil {
			n += len(a.Records)
		}
	}
	return max(n-h.MaxAddrs, 0)
}

// HostsLimited says, when the request's limit on MX hosts left some out,
// which and why; nil when every MX host was looked at. A check on every
// mail host or address cannot pass while it is set (probes.Result.Limited).
func (s *Set) HostsLimited() error {
	if s.Omitted == 0 {
		return nil
	}
	return &probes.LimitError{Key: "limits.mx_hosts", Max: s.MaxHosts,
		What: fmt.Sprintf("%s publishes %d MX hosts; only the %d most preferred were looked at",
			s.Target.Name, len(s.Hosts)+s.Omitted, len(s.Hosts))}
}

// AddrsLimited says, when the request's limit on addresses per host left
// some out, how many; nil when every address of the hosts looked at was.
func (s *Set) AddrsLimited() error {
	var names []string
	omitted := 0
	for _, h := range s.Hosts {
		if n := h.OmittedAddrs(); n > 0 {
			names = append(names, h.Name)
			omitted += n
		}
	}
	if omitted == 0 {
		return nil
	}
	verb := "have"
	if len(names) == 1 {
		verb = "has"
	}
	return &probes.LimitError{Key: "limits.addresses_per_host", Max: s.MaxAddrsPerHost,
		What: fmt.Sprintf("%s %s more addresses than the first %d that were looked at (%d left out)",
			probes.JoinNames(names), verb, s.MaxAddrsPerHost, omitted)}
}

// Limited lists what the request's limits left out of the set (HostsLimited,
// AddrsLimited), for the checks on every address.
func (s *Set) Limited() []error {
	var out []error
	for _, err := range []error{s.HostsLimited(), s.AddrsLimited()} {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// CNAMEs returns the alias chain of the host name, if it is an alias.
func (h *Host) CNAMEs() []string {
	for _, a := range []*dnsclient.Answer{h.A, h.AAAA} {
		if a != nil && len(a.CNAMEs) > 0 {
			return a.CNAMEs
		}
	}
	return nil
}

// FactName is the fact of the mail servers, which every probe that looks
// at them declares.
const FactName = "mailhosts"

// Discover returns the mail servers of the request's target, computing them
// once per request. The error is set when the MX question itself could not
// be answered; per-host resolution errors are in Host.Err.
func Discover(ctx context.Context, req *probes.Request, env *probes.Env) (*Set, error) {
	v, err := env.Facts.Do(ctx, FactName, req.Target.String(), func() (any, error) {
		return discover(ctx, req.Target, env.DNS, env.Limit())
	})
	if err != nil {
		return nil, err
	}
	return v.(*Set), nil
}

func discover(ctx context.Context, t probes.Target, r *dnsclient.Resolver, limits probes.Limits) (*Set, error) {
	set := &Set{Target: t, MaxHosts: limits.MXHosts, MaxAddrsPerHost: limits.AddressesPerHost}
	switch t.Kind {
	case probes.KindIP:
		set.IPs = []netip.Addr{t.IP}
		return set, nil
	case probes.KindHost:
		set.Organization = OrganizationalDomain(t.Name)
		set.Hosts = []*Host{{Name: t.Name, Organization: set.Organization, OwnOrganization: true, MaxAddrs: limits.AddressesPerHost}}
	default:
		set.Organization = OrganizationalDomain(t.Name)
		ans, err := r.Lookup(ctx, t.Name, dns.TypeMX)
		if err != nil {
			return nil, fmt.Errorf("MX of %s: %w", t.Name, err)
		}
		set.MX = ans
		seen := map[string]bool{}
		for _, rr := range ans.Records {
			mx := rr.(*dns.MX)
			name := strings.TrimSuffix(strings.ToLower(mx.Mx), ".")
			if name == "" {
				set.NullMX = true
				continue
			}
			if seen[name] {
				continue
			}
			seen[name] = true
			h := &Host{Name: name, Preference: mx.Preference, MaxAddrs: limits.AddressesPerHost}
			if _, err := netip.ParseAddr(name); err == nil {
				h.IPLiteral = true
			} else {
				h.Organization = OrganizationalDomain(name)
				h.OwnOrganization = SameOrganization(t.Name, name)
			}
			set.Hosts = append(set.Hosts, h)
		}
		sort.SliceStable(set.Hosts, func(i, j int) bool {
			if set.Hosts[i].Preference != set.Hosts[j].Preference {
				return set.Hosts[i].Preference < set.Hosts[j].Preference
			}
			return set.Hosts[i].Name < set.Hosts[j].Name
		})
		if len(set.Hosts) > limits.MXHosts {
			set.Omitted = len(set.Hosts) - limits.MXHosts
			set.Hosts = set.Hosts[:limits.MXHosts]
		}
		if len(ans.Records) == 0 && !ans.NXDomain() {
			set.Hosts = []*Host{{Name: t.Name, Implicit: true, Organization: set.Organization, OwnOrganization: true, MaxAddrs: limits.AddressesPerHost}}
		}
	}
	resolveHosts(ctx, r, set.Hosts)
	if len(set.Hosts) == 1 && set.Hosts[0].Implicit && set.Hosts[0].Err == nil && len(set.Hosts[0].Addrs()) == 0 {
		// No addresses either: nothing receives the domain's mail, and
		// there is no host to look at.
		set.Hosts = nil
	}
	return set, nil
}

// Implicit returns the implicit MX host (the domain itself, RFC 5321 §5.1)
// when the set is one, or nil.
func (s *Set) Implicit() *Host {
	if len(s.Hosts) == 1 && s.Hosts[0].Implicit {
		return s.Hosts[0]
	}
	return nil
}

// MXHosts returns the hosts the domain's MX records name: Hosts without
// the implicit MX.
func (s *Set) MXHosts() []*Host {
	if s.Implicit() != nil {
		return nil
	}
	return s.Hosts
}

// ImplicitNote is the line a probe adds to its report when it looked at
// the implicit MX, so the reader knows why a domain without MX records
// has a mail host; "" otherwise.
func (s *Set) ImplicitNote() string {
	h := s.Implicit()
	if h == nil {
		return ""
	}
	return fmt.Sprintf("%s publishes no MX records, so senders deliver to its own address records (the implicit MX of RFC 5321 §5.1): %s is checked as its mail host",
		s.Target.Name, h.Label())
}

// Label names the host for reasons and evidence: its name, marked
// "(implicit MX)" for the implicit MX.
func (h *Host) Label() string {
	if h.Implicit {
		return h.Name + " (implicit MX)"
	}
	return h.Name
}

// resolveHosts asks A and AAAA of every host at once: the answers do not
// depend on each other, so the whole set costs one round trip.
func resolveHosts(ctx context.Context, r *dnsclient.Resolver, hosts []*Host) {
	var tasks flight.Tasks
	var mu sync.Mutex
	for _, h := range hosts {
		if h.IPLiteral {
			continue
		}
		for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
			tasks.Go(func() {
				ans, err := r.Lookup(ctx, h.Name, qtype)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					if h.Err == nil {
						h.Err = err
					}
					return
				}
				if qtype == dns.TypeA {
					h.A = ans
				} else {
					h.AAAA = ans
				}
			})
		}
	}
	tasks.Wait()
}

// AllIPs returns every address of the set (hosts' addresses, or the IP of an
// IP target), without duplicates, in a stable order.
func (s *Set) AllIPs() []netip.Addr {
	seen := map[netip.Addr]bool{}
	var out []netip.Addr
	add := func(ip netip.Addr) {
		if !seen[ip] {
			seen[ip] = true
			out = append(out, ip)
		}
	}
	for _, ip := range s.IPs {
		add(ip)
	}
	for _, h := range s.Hosts {
		for _, ip := range h.Addrs() {
			add(ip)
		}
	}
	return out
}
