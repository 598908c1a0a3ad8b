package spf

import (
	"context"
	"strings"
	"sync"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
)

// memZone answers from records held in memory, without a network: the
// fuzz targets and the benchmarks use it to exercise the evaluator alone.
// It answers like the test server: NXDOMAIN for names it does not hold,
// NODATA for names that exist without the type, SERVFAIL for names marked.
type memZone struct {
	mu       sync.Mutex
	rrs      map[string]map[uint16][]dns.RR
	names    map[string]bool
	servfail map[string]bool
	asked    int
}

func newMemZone() *memZone {
	return &memZone{rrs: map[string]map[uint16][]dns.RR{}, names: map[string]bool{}, servfail: map[string]bool{}}
}

// add parses zone-file lines ("name. TXT \"v=spf1 -all\""); lines that do
// not parse are skipped (the fuzzer writes many).
func (z *memZone) add(lines ...string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	for _, line := range lines {
		rr, err := dns.NewRR("$TTL 300\n" + line)
		if err != nil || rr == nil {
			continue
		}
		z.put(rr)
	}
}

func (z *memZone) put(rr dns.RR) {
	name := dns.CanonicalName(rr.Header().Name)
	if z.rrs[name] == nil {
		z.rrs[name] = map[uint16][]dns.RR{}
	}
	t := rr.Header().Rrtype
	z.rrs[name][t] = append(z.rrs[name][t], rr)
	for n := name; n != "" && n != "."; {
		z.names[n] = true
		i := strings.IndexByte(n, '.')
		if i < 0 {
			break
		}
		n = n[i+1:]
	}
}

// Lookup implements Resolver.
func (z *memZone) Lookup(ctx context.Context, name string, qtype uint16) (*dnsclient.Answer, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.asked++
	fq := dns.CanonicalName(name)
	if err := ctx.Err(); err != nil {
		return nil, &dnsclient.Error{Name: fq, Type: qtype, Rcode: -1, Err: err}
	}
	if z.servfail[fq] {
		return nil, &dnsclient.Error{Name: fq, Type: qtype, Rcode: dns.RcodeServerFailure, Server: "memzone"}
	}
	ans := &dnsclient.Answer{Name: fq, Type: qtype, Rcode: dns.RcodeSuccess, Records: z.rrs[fq][qtype], Server: "memzone"}
	if !z.names[fq] {
		ans.Rcode = dns.RcodeNameError
	}
	return ans, nil
}

func (z *memZone) questions() int {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.asked
}

// countingResolver counts questions and answers NXDOMAIN.
type countingResolver struct {
	mu sync.Mutex
	n  int
}

func (c *countingResolver) Lookup(_ context.Context, name string, qtype uint16) (*dnsclient.Answer, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	return &dnsclient.Answer{Name: name, Type: qtype, Rcode: dns.RcodeNameError}, nil
}
