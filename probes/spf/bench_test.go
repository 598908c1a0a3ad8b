package spf

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// worldZone loads the test world into memory.
func worldZone() *memZone {
	z := newMemZone()
	for _, line := range strings.Split(world, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == ';' || line[0] == '$' {
			continue
		}
		z.add(line)
	}
	return z
}

// BenchmarkCheckHost10Lookups evaluates check_host() of bigsender.test,
// whose tree costs exactly 10 lookups, for a client no term matches (so
// every term is evaluated), from answers held in memory: the evaluator's
// own cost.
func BenchmarkCheckHost10Lookups(b *testing.B) {
	z := worldZone()
	ctx := context.Background()
	ip := netip.MustParseAddr("8.8.8.8")
	b.ReportAllocs()
	for b.Loop() {
		res, err := CheckHost(ctx, z, ip, "bigsender.test", "postmaster@bigsender.test", "bigsender.test")
		if res != SoftFail {
			b.Fatalf("check_host = %s, %v", res, err)
		}
	}
}

// BenchmarkAudit10Lookups audits the same tree: both families, breadth,
// the tree for the report.
func BenchmarkAudit10Lookups(b *testing.B) {
	z := worldZone()
	ctx := context.Background()
	set, _ := fetchRecord(ctx, z, "bigsender.test")
	rec, _ := Parse(set.records[0])
	b.ReportAllocs()
	for b.Loop() {
		a := runAudit(ctx, z, "bigsender.test", rec)
		if a.lookups != 10 {
			b.Fatalf("%d lookups", a.lookups)
		}
		_ = a.treeLines()
	}
}

// BenchmarkProbe10Lookups runs the whole probe on bigsender.test against
// the in-process DNS server on loopback, with a new request cache each
// time: DNS round trips included.
func BenchmarkProbe10Lookups(b *testing.B) {
	srv := testbed.StartDNS(b, world)
	tgt, _ := probes.ParseTarget("bigsender.test")
	cfg := DefaultConfig()
	p := New(cfg)
	b.ReportAllocs()
	for b.Loop() {
		env := &probes.Env{DNS: newResolver(b, srv.Addr), Facts: probes.NewFacts(nil), Now: time.Now, Logger: log.NewNopLogger()}
		res := p.Run(context.Background(), &probes.Request{Target: tgt}, env)
		if c, _ := res.Check("spf.lookup_limit"); c.Status != probes.StatusPass {
			b.Fatalf("spf.lookup_limit = %s (%s)", c.Status, c.Reason)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	const rec = "v=spf1 mx a include:_spf.google.com include:spf.protection.outlook.com ip4:192.0.2.0/24 ip6:2001:db8::/32 exists:%{i}._spf.%{d} -all"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(rec); err != nil {
			b.Fatal(err)
		}
	}
}
