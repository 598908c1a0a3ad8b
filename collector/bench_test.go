package collector

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// BenchmarkProbeHealthyDomain runs a module with every DNS probe against
// the in-process world (no added DNS latency) and reports the DNS messages
// one probe request sends: with every question asked (dns_cache_max_ttl
// 0s), and with the answers kept from the requests before (the default).
// Blocklist answers come from their process-wide cache after the first
// run, as they do in a running exporter.
func BenchmarkProbeHealthyDomain(b *testing.B) {
	world := testbed.StartExampleWorld(b)
	for _, bc := range []struct{ name, option string }{
		{"every question asked", "    dns_cache_max_ttl: 0s\n"},
		{"answers kept", ""},
	} {
		b.Run(bc.name, func(b *testing.B) {
			module := strings.Replace(testbed.ExampleModule("mail", world.Addr), "    dns_attempts: 2\n", "    dns_attempts: 2\n"+bc.option, 1)
			m := compileYAML(b, "modules:\n"+module).byName["mail"]
			target, _ := probes.ParseTarget("example.test")
			var queries int64
			var answer bytes.Buffer
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				report := m.Run(context.Background(), &probes.Request{Target: target}, RunOptions{})
				if !report.Success() {
					b.Fatal("healthy domain failed")
				}
				answer.Reset()
				if err := report.WriteExposition(&answer); err != nil { // what /probe answers with
					b.Fatal(err)
				}
				queries = report.DNS.Queries
			}
			b.ReportMetric(float64(queries), "dns-queries/op")
		})
	}
}
