package mailhosts

import (
	"strings"

	"golang.org/x/net/publicsuffix"
)

// Whose mail host is it? A domain either runs its own mail servers or has a
// provider run them (Google Workspace, Microsoft 365, …), and several
// verdicts depend on which: the provider's inbound servers send nothing
// for the domain (so their addresses are not the domain's outbound ones,
// spf.authorizes_outbound), and their zones are the provider's to sign
// (dnssec.mx). The DNS does not say who operates a host; its name does,
// well enough: a host named under the domain or under the domain's
// organizational domain belongs to the domain's organization, any other
// to someone else's. A domain whose own servers have names under another
// domain of the same organization (mail.example.net for example.com) is
// taken for a provider's customer; naming its outbound addresses
// (outbound_ips, outbound_ip=) says otherwise where it matters.

// OrganizationalDomain returns the organizational domain of name: its
// public suffix plus one label ("google.com" for "alt1.aspmx.l.google.com",
// "example.co.uk" for "mx.example.co.uk"), or "" when name is a public
// suffix itself or not a domain name. A name under a top-level domain the
// list does not know ("mail.example.test") gets its last two labels.
//
// Only the ICANN section of the public suffix list counts, as in the dmarc
// and mx probes: the private section lists hosting suffixes
// (us-east-1.amazonaws.com, github.io) that would make every customer's
// host an organization of its own, and a provider's hosts one organization
// per region.
func OrganizationalDomain(name string) string {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if name == "" || strings.Contains(name, "..") || strings.HasPrefix(name, ".") {
		return ""
	}
	suffix, icann := publicsuffix.PublicSuffix(name)
	for !icann && strings.Contains(suffix, ".") {
		// A private-section rule; use the suffix it extends.
		suffix, icann = publicsuffix.PublicSuffix(suffix[strings.IndexByte(suffix, '.')+1:])
	}
	if suffix == "" || suffix == name || !strings.HasSuffix(name, "."+suffix) {
		return ""
	}
	rest := strings.TrimSuffix(name, "."+suffix)
	if i := strings.LastIndexByte(rest, '.'); i >= 0 {
		rest = rest[i+1:]
	}
	return rest + "." + suffix
}

// SameOrganization reports whether name belongs to domain's organization:
// it is domain or under it, or under domain's organizational domain.
// Names are compared in lower case without the trailing dot.
func SameOrganization(domain, name string) bool {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if domain == "" || name == "" {
		return false
	}
	if under(name, domain) {
		return true
	}
	org := OrganizationalDomain(domain)
	return org != "" && under(name, org)
}

// under reports whether name is parent or a name below it.
func under(name, parent string) bool {
	return name == parent || strings.HasSuffix(name, "."+parent)
}
