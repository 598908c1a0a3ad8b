package dnsbl

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/miekg/dns"
)

// The RFC 5782 §5 test points. IPv4 lists must list 127.0.0.2 and must not
// list 127.0.0.1; name lists must list "test" and must not list "invalid".
// A list that answers the second is listing everything (it has happened
// when lists shut down and pointed a wildcard at the world).
var (
	testListedIP    = netip.AddrFrom4([4]byte{127, 0, 0, 2})
	testNotListedIP = netip.AddrFrom4([4]byte{127, 0, 0, 1})
)

const (
	testListedName    = "test"
	testNotListedName = "invalid"
)

// ipQueryName is the question for an address on an IP list: the IPv4
// octets or the 32 IPv6 nibbles in reverse order, then the zone (RFC 5782
// §2.1, §2.4), fully qualified.
func ipQueryName(ip netip.Addr, zone string) string {
	ip = ip.Unmap()
	var b strings.Builder
	if ip.Is4() {
		a := ip.As4()
		b.Grow(16 + len(zone) + 1)
		for i := 3; i >= 0; i-- {
			writeDecimal(&b, a[i])
			b.WriteByte('.')
		}
	} else {
		a := ip.As16()
		const hex = "0123456789abcdef"
		b.Grow(64 + len(zone) + 1)
		for i := 15; i >= 0; i-- {
			b.WriteByte(hex[a[i]&0x0f])
			b.WriteByte('.')
			b.WriteByte(hex[a[i]>>4])
			b.WriteByte('.')
		}
	}
	b.WriteString(zone)
	b.WriteByte('.')
	return b.String()
}

func writeDecimal(b *strings.Builder, v byte) {
	if v >= 100 {
		b.WriteByte('0' + v/100)
	}
	if v >= 10 {
		b.WriteByte('0' + v/10%10)
	}
	b.WriteByte('0' + v%10)
}

// nameQueryName is the question for a name on a domain list: the name,
// then the zone (RFC 5782 §2.3), fully qualified. The name comes from the
// network (MX targets), so it is checked to be a plain host name that fits
// in front of the zone.
func nameQueryName(name, zone string) (string, error) {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	if name == "" {
		return "", errors.New("empty name")
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 {
			return "", fmt.Errorf("%q is not a host name", name)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("%q is not a host name", name)
			}
		}
	}
	q := name + "." + zone + "."
	// RFC 1035 §2.3.4: 255 octets on the wire, 253 characters in text
	// without the final dot.
	if len(q) > 254 {
		return "", fmt.Errorf("%s under %s is longer than a DNS name may be", name, zone)
	}
	if _, ok := dns.IsDomainName(q); !ok {
		return "", fmt.Errorf("%s under %s is not a valid DNS name", name, zone)
	}
	return q, nil
}

// outcome is what one answer of a list means.
type outcome int

const (
	// notListed: NXDOMAIN, or the name exists without an A record.
	notListed outcome = iota
	// listed: every address answered is a listing code in 127.0.0.0/8.
	listed
	// refused: the list answered an error code, or an address outside
	// 127.0.0.0/8 (a resolver rewriting NXDOMAIN, a parked zone). The list
	// erred for that query; it is never a listing.
	refused
	// failed: no usable DNS answer (SERVFAIL, timeout).
	failed
)

func (o outcome) String() string {
	switch o {
	case listed:
		return "listed"
	case refused:
		return "error"
	case failed:
		return "failed"
	}
	return "not listed"
}

// returnCode is one address a list answered, with what the list's codes
// say it means.
type returnCode struct {
	Addr    netip.Addr
	Meaning string
	// Mapped is false for a listing code the configuration does not name.
	Mapped bool
	// Outside is true for an address outside 127.0.0.0/8.
	Outside bool
}

// Code returns the address as text, the code label.
func (c returnCode) Code() string { return c.Addr.String() }

// maxCodes bounds how many return codes of one answer are kept: a list
// answers one or a few (ZEN answers each sub-list that lists the address),
// and each becomes a label value.
const maxCodes = 8

// unmapped is the meaning of a listing code the configuration does not name.
const unmapped = "unmapped"

// classify judges the addresses of one A answer of list l. An answer
// carrying any error code or any address outside 127.0.0.0/8 is an error of
// the list, even beside listing codes: such an answer cannot be trusted, and
// the probe must never report a listing it is not sure of.
func classify(l *List, addrs []netip.Addr) (outcome, []returnCode) {
	if len(addrs) == 0 {
		return notListed, nil
	}
	seen := map[netip.Addr]bool{}
	var codes, errs []returnCode
	for _, a := range addrs {
		a = a.Unmap()
		if seen[a] {
			continue
		}
		seen[a] = true
		switch {
		case !a.Is4() || !loopback.Contains(a):
			errs = append(errs, returnCode{Addr: a, Meaning: "answer outside 127.0.0.0/8", Outside: true})
		case l.ErrorCodes[a.String()] != "":
			errs = append(errs, returnCode{Addr: a, Meaning: l.ErrorCodes[a.String()], Mapped: true})
		default:
			m, ok := l.Codes[a.String()]
			if !ok {
				m = unmapped
			}
			codes = append(codes, returnCode{Addr: a, Meaning: m, Mapped: ok})
		}
	}
	if len(errs) > 0 {
		return refused, sortCodes(errs)
	}
	return listed, sortCodes(codes)
}

func sortCodes(codes []returnCode) []returnCode {
	sort.Slice(codes, func(i, j int) bool { return codes[i].Addr.Less(codes[j].Addr) })
	if len(codes) > maxCodes {
		codes = codes[:maxCodes]
	}
	return codes
}

// describeCodes renders codes for a reason or evidence line:
// "127.0.0.10 PBL, 127.0.0.4 XBL".
func describeCodes(codes []returnCode) string {
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = c.Code() + " " + c.Meaning
	}
	return strings.Join(parts, ", ")
}
