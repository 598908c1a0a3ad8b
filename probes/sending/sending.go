// Package sending holds one fact about a mail domain: whether it declares
// that it sends no mail. Several probes need the same answer (a domain that
// sends nothing needs no DKIM key, and its DMARC record protects rather
// than reports), so it is decided once per request, in one place.
//
// The rule: a domain sends no mail when it publishes exactly one SPF record
// (RFC 7208), the record is valid (no permerror: it parses, stays within
// the lookup and void lookup limits, has no loop), its evaluation ends in
// -all, and no mechanism before it authorises any client: "v=spf1 -all",
// or a record whose only mechanisms match nothing ("v=spf1 mx -all" under
// a null MX, an a term whose name has no addresses, fail-qualified ip4
// terms). A record with ptr, exists or macros, whose matches depend on the
// client, never declares it. A domain without an SPF record declares
// nothing: it may send.
//
// The spf probe decides it: its block supplies the fact (FactName) to the
// other probes of its module, and it evaluates the same record for its own
// checks, so the two always agree. A probe that reads the fact declares
// FactName in its registration's Needs and calls Of; in a module without
// an spf probe Of returns an error wrapping probes.ErrNotProvided, and the
// probe judges the domain as one that may send.
//
// What a probe does with it: skip the checks that only matter to mail the
// domain sends (a DKIM key, DMARC reports about its mail) with
// Declaration.SkipReason, and check the protective records instead (the
// -all itself, a DMARC p=reject, a null MX when it receives nothing
// either, a revoked wildcard DKIM key).
package sending

import (
	"context"
	"fmt"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// FactName is the fact of whether the target domain sends mail, which the
// spf probe's block supplies.
const FactName = "sending"

// Declaration is what a domain's SPF record says about the mail it sends.
type Declaration struct {
	// Domain is the domain the record belongs to ("" for an IP target).
	Domain string
	// NoMail is true when the domain declares that it sends no mail (the
	// rule is in the package comment).
	NoMail bool
	// Record is the SPF record the decision rests on; "" when the domain
	// publishes none, or several.
	Record string
	// Why says in one line what the decision rests on: "parked.test
	// publishes the SPF record "v=spf1 -all", which authorises no client".
	Why string
}

// SkipReason is the reason a sending-only check gives when it is skipped
// because the domain sends no mail; "" when it may send.
func (d *Declaration) SkipReason() string {
	if d == nil || !d.NoMail {
		return ""
	}
	return fmt.Sprintf("%s sends no mail (%s): this check applies only to mail the domain sends", d.Domain, d.Why)
}

// Of returns the declaration of the request's target. The error wraps
// probes.ErrNotProvided when no probe of the module supplies the fact (no
// spf block), and is set when the SPF record or a part of its tree could
// not be fetched (a timeout, a SERVFAIL): whether the domain sends is then
// unknown.
func Of(ctx context.Context, req *probes.Request, env *probes.Env) (*Declaration, error) {
	v, err := env.Facts.Provide(ctx, req, env, FactName, "")
	if err != nil {
		return nil, err
	}
	d, ok := v.(*Declaration)
	if !ok {
		return nil, fmt.Errorf("internal: the %s fact is a %T", FactName, v)
	}
	return d, nil
}
