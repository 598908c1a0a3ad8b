package dmarc

import (
	"strings"

	"golang.org/x/net/publicsuffix"
)

// OrganizationalDomain returns the organizational domain of name (RFC 7489
// §3.2): its public suffix plus one label, or "" when name is a public
// suffix itself or not a domain name.
//
// Only the ICANN section of the public suffix list counts, as in
// probes/mx: the private section lists hosting suffixes (github.io,
// compute.amazonaws.com) whose customers' domains would otherwise each be
// an organization of their own, which is not how DMARC receivers that
// follow RFC 7489 §3.2's "ICANN domains" reading treat them.
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

// treeWalkMaxLabels is where the DMARCbis DNS tree walk starts shortening:
// a name of more labels jumps straight to its last seven
// (draft-ietf-dmarc-dmarcbis §4.10), which bounds the walk to eight
// queries whatever the target.
const treeWalkMaxLabels = 7

// treeWalk returns the names whose _dmarc records the DMARCbis DNS tree
// walk consults, in order: the name itself, then (after the jump for
// names of eight or more labels) one label shorter each step, down to the
// top-level domain.
func treeWalk(name string) []string {
	labels := strings.Split(strings.ToLower(strings.TrimSuffix(name, ".")), ".")
	out := []string{strings.Join(labels, ".")}
	if len(labels) > treeWalkMaxLabels {
		labels = labels[len(labels)-treeWalkMaxLabels:]
	} else {
		labels = labels[1:]
	}
	for len(labels) > 0 {
		out = append(out, strings.Join(labels, "."))
		labels = labels[1:]
	}
	return out
}
