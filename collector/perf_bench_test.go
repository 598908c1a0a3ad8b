package collector_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/bench/benchkit"
	"github.com/deliverability-exporter/deliverability_exporter/bench/benchworld"
	"github.com/deliverability-exporter/deliverability_exporter/collector"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// The performance benchmarks of issue 9, on the bench world
// (bench/benchworld: bench.test with 2 MX hosts, IPv4 and IPv6, STARTTLS
// servers, 3 DKIM selectors, 6 blocklists, MTA-STS, DANE). The programs
// under bench/ report the same with tables; see docs/performance.md.

// BenchmarkLatencyFullModule20ms is one probe request of bench.test with
// the full mail module, every DNS answer 20 ms late, fresh process-wide
// caches (blocklists, MTA-STS memory) each time. It reports the chain of
// dependent DNS questions (lockstep rounds of a separate run), the limit
// (chain × 20 ms plus the SMTP/TLS exchange, measured with the answers
// cached) and the ratio of the time per request to it.
func BenchmarkLatencyFullModule20ms(b *testing.B) {
	const delay = 20 * time.Millisecond
	w, err := benchworld.Start(benchworld.Options{Shape: benchworld.Mapped})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	yaml := w.Module("mail", benchworld.ModuleOptions{})
	ctx := context.Background()
	newRunner := func() *benchkit.Runner {
		m, err := benchkit.ParseModule(yaml, "mail")
		if err != nil {
			b.Fatal(err)
		}
		r, err := benchkit.NewRunner(m, w.Dialer, w.CA.Pool)
		if err != nil {
			b.Fatal(err)
		}
		return r
	}
	// The quiet period exceeds the SMTP exchange, so the questions asked
	// after it (spf.helo) join the round they run beside.
	w.DNS.SetLockstep(150 * time.Millisecond)
	if _, err := newRunner().Run(ctx, benchworld.Domain); err != nil {
		b.Fatal(err)
	}
	rounds := w.DNS.Rounds()
	w.DNS.SetLockstep(0)
	r := newRunner()
	smtpTime, err := benchkit.SMTPExchange(ctx, w, r.Module, 10)
	if err != nil {
		b.Fatal(err)
	}
	limit := time.Duration(rounds)*delay + smtpTime.Pct(50)
	w.DNS.SetDelay(delay)
	var queries int64
	var total time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		r := newRunner()
		b.StartTimer()
		rep, err := r.Run(ctx, benchworld.Domain)
		if err != nil {
			b.Fatal(err)
		}
		if p := benchkit.Problems(rep); len(p) > 0 {
			b.Fatalf("bench.test is not healthy: %v", p)
		}
		queries = rep.DNS.Queries
		total += rep.Duration
	}
	b.ReportMetric(float64(rounds), "dns-rounds")
	b.ReportMetric(float64(queries), "dns-queries/op")
	b.ReportMetric(float64(limit)/float64(time.Millisecond), "limit-ms")
	b.ReportMetric(float64(total)/float64(b.N)/float64(limit), "ratio")
}

// BenchmarkDNSOnlyParallel is the throughput of DNS-only probe requests
// (every probe but smtp and mtasts) through collector.Module.Run, eight per
// core at once, over 200 synthetic domains shaped like bench.test, with the
// DNS server (no added latency) in the same process. Blocklist answers
// come from the process-wide cache after a first pass, as in a running
// exporter.
func BenchmarkDNSOnlyParallel(b *testing.B) {
	w, err := benchworld.Start(benchworld.Options{Shape: benchworld.Loopback, Synthetic: 200, NoServers: true})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	m, err := benchkit.ParseModule(w.Module("mail", benchworld.ModuleOptions{Probes: benchworld.DNSOnlyProbes}), "mail")
	if err != nil {
		b.Fatal(err)
	}
	targets := make([]probes.Target, len(w.Synthetic))
	for i, d := range w.Synthetic {
		if targets[i], err = probes.ParseTarget(d); err != nil {
			b.Fatal(err)
		}
		if rep := m.Run(context.Background(), &probes.Request{Target: targets[i]}, collector.RunOptions{}); !rep.Success() {
			b.Fatalf("%s: %v", d, benchkit.Problems(rep))
		}
	}
	w.DNS.ResetQueries()
	b.ReportAllocs()
	b.SetParallelism(8)
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			rep := m.Run(context.Background(), &probes.Request{Target: targets[i%len(targets)]}, collector.RunOptions{})
			if !rep.Success() {
				b.Errorf("%s: %v", rep.Target, benchkit.Problems(rep))
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "probes/s")
	w.DNS.ResetQueries()
}

// BenchmarkFullModuleLoopback is one probe request of bench.test with the
// full mail module through collector.Module.Run (the module's own dialer)
// on the loopback shape of the world: STARTTLS with 3 addresses, the
// MTA-STS fetch, no added DNS latency, warm process-wide caches. Its time
// is CPU: the exporter's and the servers' on the same cores.
func BenchmarkFullModuleLoopback(b *testing.B) {
	w, err := benchworld.Start(benchworld.Options{Shape: benchworld.Loopback})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	m, err := benchkit.ParseModule(w.Module("mail", benchworld.ModuleOptions{}), "mail")
	if err != nil {
		b.Fatal(err)
	}
	target, err := probes.ParseTarget(benchworld.Domain)
	if err != nil {
		b.Fatal(err)
	}
	req := &probes.Request{Target: target}
	var queries int64
	var answer bytes.Buffer
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rep := m.Run(context.Background(), req, collector.RunOptions{})
		if p := benchkit.Problems(rep); len(p) > 0 {
			b.Fatalf("bench.test is not healthy: %v", p)
		}
		answer.Reset()
		if err := rep.WriteExposition(&answer); err != nil { // what /probe answers with
			b.Fatal(err)
		}
		queries = rep.DNS.Queries
		w.DNS.ResetQueries()
	}
	b.ReportMetric(float64(queries), "dns-queries/op")
}
