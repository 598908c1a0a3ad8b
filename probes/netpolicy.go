package probes

import (
	"fmt"
	"net/netip"
)

// ClosedRange is a block of addresses the probes never connect to unless
// the module's allowed_networks names it explicitly: addresses that reach
// this host, its links or private networks, and addresses that are not a
// single host on the public internet. A crafted target, MX or MTA-STS host
// name must not turn the exporter into a way into the networks it runs in
// (server-side request forgery).
type ClosedRange struct {
	Prefix netip.Prefix
	// Name says what the block is, for the reason a connection was refused.
	Name string
}

// ClosedRanges are the blocks closed by default: every block the IANA
// special-purpose address registries mark as not globally reachable (RFC
// 6890 and its updates), the deprecated IPv6 forms that carry an IPv4
// address, multicast and the reserved space. The most specific block that
// holds an address is the one reported.
var ClosedRanges = []ClosedRange{
	{netip.MustParsePrefix("0.0.0.0/8"), `"this network" (RFC 791)`},
	{netip.MustParsePrefix("10.0.0.0/8"), "private (RFC 1918)"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared address space, carrier-grade NAT (RFC 6598)"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback (RFC 1122)"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local, where cloud metadata services answer (RFC 3927)"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private (RFC 1918)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignments (RFC 6890)"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation, TEST-NET-1 (RFC 5737)"},
	{netip.MustParsePrefix("192.88.99.0/24"), "6to4 relay anycast, deprecated (RFC 7526)"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private (RFC 1918)"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking (RFC 2544)"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation, TEST-NET-2 (RFC 5737)"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation, TEST-NET-3 (RFC 5737)"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast (RFC 5771)"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved (RFC 1112)"},
	{netip.MustParsePrefix("255.255.255.255/32"), "limited broadcast (RFC 919)"},

	{netip.MustParsePrefix("::/8"), "reserved, including the IPv4-compatible and IPv4-translated forms (RFC 4291)"},
	{netip.MustParsePrefix("::1/128"), "loopback (RFC 4291)"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use IPv4/IPv6 translation (RFC 8215)"},
	{netip.MustParsePrefix("100::/64"), "discard-only (RFC 6666)"},
	{netip.MustParsePrefix("2001::/23"), "IETF protocol assignments, including Teredo (RFC 2928, RFC 4380)"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation (RFC 3849)"},
	{netip.MustParsePrefix("2002::/16"), "6to4, deprecated (RFC 7526)"},
	{netip.MustParsePrefix("3fff::/20"), "documentation (RFC 9637)"},
	{netip.MustParsePrefix("5f00::/16"), "segment routing SIDs (RFC 9602)"},
	{netip.MustParsePrefix("fc00::/7"), "unique local, private (RFC 4193)"},
	{netip.MustParsePrefix("fe80::/10"), "link-local (RFC 4291)"},
	{netip.MustParsePrefix("fec0::/10"), "site-local, deprecated (RFC 3879)"},
	{netip.MustParsePrefix("ff00::/8"), "multicast (RFC 4291)"},
}

// nat64 is the well-known NAT64 prefix (RFC 6052): its addresses carry an
// IPv4 address in their last 32 bits, which a NAT64 gateway connects to.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// closedRange returns the most specific closed block that holds ip. The
// NAT64 prefix, inside ::/8, is open: its addresses are judged by the IPv4
// address they carry (forms).
func closedRange(ip netip.Addr) (ClosedRange, bool) {
	if nat64.Contains(ip) {
		return ClosedRange{}, false
	}
	var best ClosedRange
	found := false
	for _, r := range ClosedRanges {
		if r.Prefix.Contains(ip) && (!found || r.Prefix.Bits() > best.Prefix.Bits()) {
			best, found = r, true
		}
	}
	return best, found
}

// CanonicalAddr is the address a connection to ip really goes to, in the
// form every allow and deny decision is made on: an IPv4-mapped IPv6
// address is its IPv4 address, the zone is dropped, and the unspecified
// addresses 0.0.0.0 and :: (which a connection on Linux and BSD reaches
// this host through) are the loopback addresses 127.0.0.1 and ::1.
func CanonicalAddr(ip netip.Addr) netip.Addr {
	ip = ip.Unmap().WithZone("")
	switch {
	case ip == netip.IPv4Unspecified():
		return netip.AddrFrom4([4]byte{127, 0, 0, 1})
	case ip == netip.IPv6Unspecified():
		return netip.IPv6Loopback()
	}
	return ip
}

// canonicalPrefix is a network of allowed_networks or denied_networks in
// the form addresses are compared in: an IPv4-mapped IPv6 network
// (::ffff:10.0.0.0/104) is its IPv4 network (10.0.0.0/8).
func canonicalPrefix(p netip.Prefix) netip.Prefix {
	a := p.Addr()
	if a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96).Masked()
	}
	return p.Masked()
}

// forms are the addresses a connection to ip reaches, each of which must be
// permitted: the canonical address, and the IPv4 address a NAT64 address
// carries.
func forms(ip netip.Addr) []netip.Addr {
	out := []netip.Addr{ip}
	if nat64.Contains(ip) {
		b := ip.As16()
		out = append(out, CanonicalAddr(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})))
	}
	return out
}

// NetworkPolicy decides which addresses the probes may connect to: never
// a denied network; never a closed block (ClosedRanges) unless an allowed
// network inside that block names it; and, when Allowed is not empty, only
// its networks.
type NetworkPolicy struct {
	// Allowed, when not empty, are the only networks connections may go
	// to. A network opens a closed block only when it lies inside it:
	// 127.0.0.0/8 or 127.0.0.1/32 opens loopback, 0.0.0.0/0 does not.
	Allowed []netip.Prefix
	// Denied networks are never connected to; they win over Allowed.
	Denied []netip.Prefix
}

// Permit says whether a connection to ip may be opened, and if not, why
// (a *DeniedError).
func (p NetworkPolicy) Permit(ip netip.Addr) error {
	canon := CanonicalAddr(ip)
	shown := canon.String()
	if orig := ip.WithZone(""); orig != canon {
		shown = fmt.Sprintf("%s (reached as %s)", orig, canon)
	}
	all := forms(canon)
	for _, a := range all {
		for _, d := range p.Denied {
			if d := canonicalPrefix(d); d.Contains(a) {
				return &DeniedError{Addr: ip, Reason: fmt.Sprintf("%s is in %s, which the module's denied_networks exclude", shown, d)}
			}
		}
	}
	for _, a := range all {
		r, closed := closedRange(a)
		if closed && !p.opens(a, r.Prefix) {
			what := shown
			if a != canon {
				what = fmt.Sprintf("%s, a NAT64 address of %s,", shown, a)
			}
			return &DeniedError{Addr: ip, Reason: fmt.Sprintf("%s is %s, in %s: closed unless the module's allowed_networks names it (e.g. %s)", what, r.Name, r.Prefix, r.Prefix)}
		}
	}
	if len(p.Allowed) == 0 {
		return nil
	}
	for _, a := range p.Allowed {
		if canonicalPrefix(a).Contains(canon) {
			return nil
		}
	}
	return &DeniedError{Addr: ip, Reason: fmt.Sprintf("%s is outside the module's allowed_networks", shown)}
}

// opens reports whether an allowed network inside the closed block holds
// ip.
func (p NetworkPolicy) opens(ip netip.Addr, closed netip.Prefix) bool {
	for _, a := range p.Allowed {
		a = canonicalPrefix(a)
		if a.Contains(ip) && a.Bits() >= closed.Bits() {
			return true
		}
	}
	return false
}

// DeniedError is a connection the module's network policy refuses.
type DeniedError struct {
	Addr   netip.Addr
	Reason string
}

func (e *DeniedError) Error() string { return e.Reason }
