package mx

import (
	"context"
	"fmt"
	"strings"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/internal/flight"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
	"github.com/deliverability-exporter/deliverability_exporter/probes/mailhosts"
)

// caaLookup is the CAA answer of a name and of each of its parents.
type caaLookup struct {
	names   []string // the name, then its parents up to the TLD
	answers []*dnsclient.Answer
	errs    []error
}

// lookupCAA asks CAA of name and every parent up to and including the TLD
// (RFC 8659 §3: the relevant record set is the first one found climbing
// towards the root). The questions are independent, so they are asked at
// once instead of one level per round trip; the first in climbing order
// that has records decides.
func lookupCAA(ctx context.Context, r *dnsclient.Resolver, name string) *caaLookup {
	l := &caaLookup{names: selfAndParents(name)}
	l.answers = make([]*dnsclient.Answer, len(l.names))
	l.errs = make([]error, len(l.names))
	var tasks flight.Tasks
	for i, n := range l.names {
		tasks.Go(func() {
			ans, err := r.Lookup(ctx, n, dns.TypeCAA)
			if err != nil {
				err = fmt.Errorf("CAA of %s: %w", n, err)
			}
			l.answers[i], l.errs[i] = ans, err
		})
	}
	tasks.Wait()
	return l
}

// selfAndParents returns "mx1.example.test", "example.test", "test".
func selfAndParents(name string) []string {
	name = probes.Bare(name)
	var out []string
	for name != "" {
		out = append(out, name)
		i := strings.IndexByte(name, '.')
		if i < 0 {
			break
		}
		name = name[i+1:]
	}
	return out
}

// recordCAA records caa.present: passed at the first name in climbing
// order with CAA records.
func (r *run) recordCAA(l *caaLookup) {
	var evidence []string
	for i, name := range l.names {
		if l.errs[i] != nil {
			r.res.Undecided(checkCAA, l.errs[i])
			return
		}
		if lines := caaEvidence(l.answers[i]); len(lines) > 0 {
			evidence = append(evidence, lines...)
			reason := name + " publishes " + probes.Plural(len(lines), "CAA record", "CAA records")
			if i > 0 {
				reason = fmt.Sprintf("%s publishes no CAA; its parent %s does (%s), which applies to it (RFC 8659 §3)",
					l.names[0], name, probes.Plural(len(lines), "record", "records"))
			}
			r.res.Pass(checkCAA, reason, evidence...)
			return
		}
		evidence = append(evidence, probes.FQDN(name)+" no CAA records")
	}
	target := l.names[0]
	// The CA is the domain's own to name: a record naming another one
	// than those that issue its certificates (its web site's, its
	// MTA-STS policy host's) would stop their next renewal.
	org := registrable(target)
	r.res.Fail(checkCAA,
		"neither "+target+" nor its parents publish CAA, so any certificate authority may issue certificates for it",
		"publish one CAA record for each certificate authority that issues certificates for names under "+org+", e.g. "+
			probes.ZoneLine(org, "CAA", `0 issue "<the CA's domain, such as letsencrypt.org>"`)+
			" (RFC 8659 §4.2); a CA left out can no longer issue for them",
		evidence...)
}

// caaEvidence renders the CAA records of an answer.
func caaEvidence(ans *dnsclient.Answer) []string {
	var lines []string
	for _, rr := range ans.Records {
		if caa, ok := rr.(*dns.CAA); ok {
			lines = append(lines, fmt.Sprintf("%s CAA %d %s %s", ans.Owner(), caa.Flag, caa.Tag, probes.Quote(caa.Value)))
		}
	}
	return lines
}

// registrable returns the registrable domain of name (where a CAA record
// covers the whole organisation), or name itself.
func registrable(name string) string {
	if org := mailhosts.OrganizationalDomain(name); org != "" {
		return org
	}
	return name
}
