package mailhosts

import (
	"context"
	"fmt"
	"sync"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/internal/flight"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
)

// TLSAFactName is the fact of the MX hosts' TLSA records (DANE, RFC 7672).
const TLSAFactName = "mailhosts.tlsa"

// MaxTLSA bounds the TLSA records kept per host.
const MaxTLSA = 32

// TLSASet is what the DNS says about one MX host's TLSA records.
type TLSASet struct {
	Name   string // _25._tcp.<mx>.
	Answer *dnsclient.Answer
	Err    error
	// Records are the TLSA records as published (at most MaxTLSA).
	Records []*dns.TLSA
}

// Validated reports whether the records count: RFC 7672 §2.1.1, only
// DNSSEC-validated ("secure") TLSA records are used; the AD bit from the
// resolver is the validation.
func (t *TLSASet) Validated() bool { return t.Answer != nil && t.Answer.Authenticated }

// TLSAName is the TLSA base name for SMTP to an MX host: always port 25,
// since RFC 7672 is about MX delivery, even when the probe connects
// elsewhere (a test redirect, a host:port target).
func TLSAName(mx string) string {
	return "_25._tcp." + dns.Fqdn(mx)
}

// TLSA returns the TLSA records of every MX host with addresses, by host
// name, asked at once and once per request (none for an IP target). The
// error is the mail hosts' (see Discover); a host's own lookup error is in
// its TLSASet.
func TLSA(ctx context.Context, req *probes.Request, env *probes.Env) (map[string]*TLSASet, error) {
	set, err := Discover(ctx, req, env)
	if err != nil {
		return nil, err
	}
	v, err := env.Facts.Do(ctx, TLSAFactName, req.Target.String(), func() (any, error) {
		return lookupAllTLSA(ctx, env.DNS, set), nil
	})
	if err != nil {
		return nil, err
	}
	return v.(map[string]*TLSASet), nil
}

func lookupAllTLSA(ctx context.Context, r *dnsclient.Resolver, set *Set) map[string]*TLSASet {
	out := map[string]*TLSASet{}
	if set.Target.Kind == probes.KindIP {
		return out
	}
	var mu sync.Mutex
	var tasks flight.Tasks
	for _, h := range set.Hosts {
		if h.IPLiteral || len(h.Addrs()) == 0 {
			continue
		}
		tasks.Go(func() {
			ts := lookupTLSA(ctx, r, h.Name)
			mu.Lock()
			out[h.Name] = ts
			mu.Unlock()
		})
	}
	tasks.Wait()
	return out
}

func lookupTLSA(ctx context.Context, r *dnsclient.Resolver, mx string) *TLSASet {
	t := &TLSASet{Name: TLSAName(mx)}
	ans, err := r.Lookup(ctx, t.Name, dns.TypeTLSA)
	if err != nil {
		t.Err = fmt.Errorf("TLSA of %s: %w", mx, err)
		return t
	}
	t.Answer = ans
	for _, rr := range ans.Records {
		if v, ok := rr.(*dns.TLSA); ok && len(t.Records) < MaxTLSA {
			t.Records = append(t.Records, v)
		}
	}
	return t
}
