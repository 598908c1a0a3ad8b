package mx

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/deliverability-exporter/deliverability_exporter/probes/mailhosts"
)

// The heuristics behind ptr.not_generic and ptr.role_label. Receivers
// (Spamhaus PBL policy, Gmail and Microsoft's sender guidelines, the
// M3AAWG reverse DNS BCP) treat a PTR name that looks auto-assigned by an
// access provider as a sign of a compromised end-user machine. Only the
// host part of a name is judged: the registrable domain ("isp.test") says
// who owns the name, not what the host is.

// genericWords are labels access providers put in the names they assign to
// customer addresses in bulk.
var genericWords = map[string]bool{
	"dynamic": true, "dyn": true, "static": true, "dsl": true, "adsl": true,
	"vdsl": true, "xdsl": true, "cable": true, "pool": true, "dhcp": true,
	"dial": true, "dialup": true, "ppp": true, "cust": true, "customer": true,
	"client": true, "broadband": true, "residential": true, "res": true,
	"ip": true, "unassigned": true,
	// "host" and "user" are left out: small operators name real servers
	// host1 or user-facing hosts, and address-derived names are caught by
	// the embedded-address rule anyway.
}

// roleWords are labels that say a host is a mail server.
var roleWords = map[string]bool{
	"mail": true, "mx": true, "smtp": true, "mta": true, "relay": true,
	"out": true, "outbound": true, "mailout": true, "mailer": true,
	"email": true, "post": true, "postfix": true, "exim": true,
	"mailgw": true, "mailhost": true, "in": true, "inbound": true,
}

// minEmbeddedParts is how many parts of an address (IPv4 octets, non-zero
// IPv6 groups) a host part must repeat to count as embedding the address.
const minEmbeddedParts = 3

// genericReason says why a PTR name of ip looks auto-assigned, or returns ""
// when it does not.
func genericReason(name string, ip netip.Addr) string {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if strings.Contains(name, "_") {
		// RFC 952/1123 host names have no underscore; tools that build
		// names from templates leave them.
		return `contains "_", which host names never do`
	}
	labels := hostLabels(name)
	if why := embeddedAddress(labels, ip.Unmap()); why != "" {
		return why
	}
	for _, tok := range wordTokens(labels) {
		if genericWords[tok] {
			return fmt.Sprintf("has the generic label %q", tok)
		}
	}
	return ""
}

// roleLabel returns the first role word in the host part of name, or "".
func roleLabel(name string) string {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	for _, tok := range wordTokens(hostLabels(name)) {
		if roleWords[tok] {
			return tok
		}
	}
	return ""
}

// hostLabels returns the labels left of the registrable domain of name
// ("192-0-2-77.dyn" of "192-0-2-77.dyn.isp.test").
//
// The registrable domain is the organizational domain of mailhosts (the
// ICANN section of the public suffix list only). The private section lists
// hosting suffixes such as compute.amazonaws.com, which would make an
// address-derived name like ec2-192-0-2-1.eu-west-1.compute.amazonaws.com a
// registrable domain of its own with no host part left to judge, although
// it is exactly the kind of generic name this check exists for.
func hostLabels(name string) []string {
	if name == "" {
		return nil
	}
	labels := strings.Split(name, ".")
	// No registrable domain (a bare suffix, an empty label): judge all but
	// what would be the domain and its TLD.
	n := 2
	if org := mailhosts.OrganizationalDomain(name); org != "" {
		n = strings.Count(org, ".") + 1
	}
	if n >= len(labels) {
		return nil
	}
	return labels[:len(labels)-n]
}

// alnumTokens splits labels at every character that is not an ASCII letter
// or digit ("ip192-0-2-1" gives "ip192", "0", "2", "1").
func alnumTokens(labels []string) []string {
	var out []string
	for _, l := range labels {
		out = append(out, strings.FieldsFunc(l, func(r rune) bool { return !isLetter(r) && !isDigit(r) })...)
	}
	return out
}

// wordTokens splits further at letter/digit boundaries ("ip192" gives "ip"
// and "192"), so "mx1" is "mx" and "liverpool" stays one word, not "pool".
func wordTokens(labels []string) []string {
	var out []string
	for _, tok := range alnumTokens(labels) {
		start := 0
		for i := 1; i < len(tok); i++ {
			if isDigit(rune(tok[i])) != isDigit(rune(tok[i-1])) {
				out = append(out, tok[start:i])
				start = i
			}
		}
		out = append(out, tok[start:])
	}
	return out
}

func isLetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }
func isDigit(r rune) bool  { return r >= '0' && r <= '9' }

// embeddedAddress says how the host part repeats ip, or "".
func embeddedAddress(labels []string, ip netip.Addr) string {
	switch {
	case ip.Is4():
		return embeddedIPv4(labels, ip)
	case ip.Is6():
		return embeddedIPv6(labels, ip)
	}
	return ""
}

// embeddedIPv4 finds the octets as decimal tokens (plain or zero-padded to
// three digits, in any order, so reversed "77-2-0-192" counts too) or the
// address as eight hex digits ("c000024d").
func embeddedIPv4(labels []string, ip netip.Addr) string {
	b := ip.As4()
	hex := fmt.Sprintf("%02x%02x%02x%02x", b[0], b[1], b[2], b[3])
	if strings.Contains(strings.Join(labels, "."), hex) {
		return fmt.Sprintf("embeds the address in hex (%s)", hex)
	}
	var forms [][]string
	for _, octet := range b {
		forms = append(forms, []string{strconv.Itoa(int(octet)), fmt.Sprintf("%03d", octet)})
	}
	if found := matchParts(wordTokens(labels), forms); len(found) >= minEmbeddedParts {
		return fmt.Sprintf("embeds the address (%s)", strings.Join(found, ", "))
	}
	return ""
}

// embeddedIPv6 finds non-zero 16-bit groups as hex tokens, leading zeros
// ignored ("2001-db8-0-0-0-0-0-10").
func embeddedIPv6(labels []string, ip netip.Addr) string {
	b := ip.As16()
	var forms [][]string
	for i := 0; i < 16; i += 2 {
		if group := uint16(b[i])<<8 | uint16(b[i+1]); group != 0 {
			forms = append(forms, []string{strconv.FormatUint(uint64(group), 16)})
		}
	}
	var tokens []string
	for _, tok := range alnumTokens(labels) {
		if trimmed := strings.TrimLeft(tok, "0"); trimmed != "" {
			tokens = append(tokens, trimmed)
		}
	}
	if found := matchParts(tokens, forms); len(found) >= minEmbeddedParts {
		return fmt.Sprintf("embeds the address (%s)", strings.Join(found, ", "))
	}
	return ""
}

// matchParts pairs address parts with tokens, each token standing for at
// most one part, and returns the tokens matched.
func matchParts(tokens []string, parts [][]string) []string {
	used := make([]bool, len(tokens))
	var found []string
	for _, forms := range parts {
	search:
		for i, tok := range tokens {
			if used[i] {
				continue
			}
			for _, f := range forms {
				if tok == f {
					used[i] = true
					found = append(found, tok)
					break search
				}
			}
		}
	}
	return found
}
