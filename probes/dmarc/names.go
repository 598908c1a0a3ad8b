package dmarc

import (
	"strings"

	"github.com/deliverability-exporter/deliverability_exporter/probes/mailhosts"
)

// OrganizationalDomain returns the organizational domain of name (RFC 7489
// §3.2): its public suffix plus one label, or "" when name is a public
// suffix itself or not a domain name. It is mailhosts.OrganizationalDomain,
// the one rule the probes share (ICANN section of the public suffix list
// only: hosting suffixes such as github.io would make every customer an
// organization of its own).
func OrganizationalDomain(name string) string { return mailhosts.OrganizationalDomain(name) }

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
