package collector

import (
	"context"
	"testing"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// BenchmarkProbeHealthyDomain runs a module with every probe against the
// in-process world (no added DNS latency) and reports the DNS messages one
// probe request sends. Blocklist answers come from the process-wide cache
// after the first run, as they do in a running exporter.
func BenchmarkProbeHealthyDomain(b *testing.B) {
	world := testbed.StartExampleWorld(b)
	cfg, err := ParseConfig([]byte("modules:\n" + testbed.ExampleModule("mail", world.Addr)))
	if err != nil {
		b.Fatal(err)
	}
	m, _ := cfg.Module("mail")
	target, _ := probes.ParseTarget("example.test")
	var queries int64
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		report := m.Run(context.Background(), &probes.Request{Target: target}, nil)
		if !report.Success() {
			b.Fatal("healthy domain failed")
		}
		if _, err := report.Registry(); err != nil {
			b.Fatal(err)
		}
		queries = report.DNS.Queries
	}
	b.ReportMetric(float64(queries), "dns-queries/op")
}
