package dmarc

import (
	"context"
	"fmt"
	"strings"

	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
)

// Applied is the DMARC record a receiver applies to a message, found the
// way the probe finds a domain's (RFC 7489 §6.6.3, without the DMARCbis
// tree walk, which receivers do not all do yet).
type Applied struct {
	Record *Record
	// Domain is the domain whose _dmarc record it is: the From: domain
	// itself or its organizational domain.
	Domain string
	// Policy is the policy that applies to the From: domain: the record's
	// effective p= at the domain itself, its effective sp= (p= when sp=
	// is absent) when the record is the organizational domain's.
	Policy string
}

// Applying finds the DMARC record receivers apply to mail whose From:
// domain is domain: the domain's own, else its organizational domain's.
// Records receivers discard (v=DMARC1 not first) do not count, as at
// discovery (RFC 7489 §6.6.3 step 3). It returns nil and no error when
// neither publishes a record; a *RecordError (its reason naming the
// _dmarc name) when the first that does publishes several or one
// receivers cannot apply, so they apply no DMARC; another error when a
// DNS question that could decide went unanswered. The questions are the
// dmarc probe's, so a request that runs both asks them once.
func Applying(ctx context.Context, r *dnsclient.Resolver, domain string) (*Applied, error) {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	domains := []string{domain}
	if org := OrganizationalDomain(domain); org != "" && org != domain {
		domains = append(domains, org)
	}
	for _, l := range lookupLevels(ctx, r, domains) {
		switch {
		case l.err != nil:
			return nil, l.err
		case len(l.records) == 0:
			continue
		case len(l.records) > 1:
			return nil, &RecordError{Reason: fmt.Sprintf("_dmarc.%s has %d DMARC records: receivers apply no DMARC at all (RFC 7489 §6.6.3)", l.domain, len(l.records))}
		}
		rec, err := Parse(l.records[0])
		if err != nil {
			reason := err.Error()
			if re, ok := err.(*RecordError); ok {
				reason = re.Reason
			}
			return nil, &RecordError{Reason: "_dmarc." + l.domain + ": " + reason}
		}
		a := &Applied{Record: rec, Domain: l.domain, Policy: rec.EffectivePolicy}
		if l.domain != domain {
			a.Policy = rec.EffectiveSubdomainPolicy
		}
		return a, nil
	}
	return nil, nil
}
